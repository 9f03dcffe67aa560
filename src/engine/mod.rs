//! [`Engine`]: one loaded bundle on one backend, shared by every thread and session.
//! [`Session`]: one stream of frames. `score_frame` and `score_clip` are thin wrappers over a
//! session, so the three ways of scoring cannot disagree.

pub mod build_engines;
mod clip;
mod device_frames;
mod frame_plan;
mod pooling;
mod session;
mod stream;
mod worker;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub use crate::timing::{BranchTimes, EngineTimes, StageTime};
pub use pooling::{span_frames, Pooling};
pub use session::{ClipScore, FrameScore, Session};
pub use stream::{Polled, ScoreCallback, Stream, StreamOptions, WorkerStart};
pub use worker::{BackgroundStream, Pushed, Release, StreamRunner, WhenFull};

use crate::backend::{self, BackendKind};
use crate::branch::Branch;
use crate::bundle::{BranchSpec, Bundle, LoadedMember, Precision};
use crate::error::{Error, Result};
use crate::frame::{ColorConversion, Frame};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LogLevel {
    Error = 1,
    Warning = 2,
    Info = 3,
    Debug = 4,
}

/// Receives the engine's log messages. Nothing is printed unless a logger is given.
pub type Logger = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

/// Most CPU threads an engine accepts: far above any real machine, low enough that a garbage value
/// is an error rather than an attempt to spawn that many threads.
pub const MAX_THREADS: usize = 1024;

#[derive(Clone, Default)]
pub struct EngineOptions {
    pub backend: BackendKind,
    /// CPU threads per network run; 0 = all cores.
    pub threads: usize,
    /// Most bytes a clip-level branch (FAST-VQA) keeps per session when the clip length is not
    /// given (docs/bundle.md, "Clip branches"); `None`: 4 GiB.
    pub max_kept_clip_bytes: Option<usize>,
    pub logger: Option<Logger>,
    /// Device, stream and engine cache of the GPU backend (ignored by the CPU backends).
    pub gpu: crate::backend::GpuOptions,
    /// Runs the preprocessing kernels on frames in device memory (`Session::push_device`).
    /// `None`: the backend's (the `tensorrt` backend's stream), else device frames are refused.
    pub device_frames: Option<crate::gpu::kernels::KernelExecutorFactory>,
    /// YUV->RGB conversion of every frame; `None`: the bundle's (its manifest's
    /// `color_conversion`, `reference` when absent).
    pub color_conversion: Option<ColorConversion>,
    /// An ensemble's members to run, by name (docs/bundle.md, "Ensembles"); `None`: all of them.
    /// Each member costs its own networks' runs; the shared branches run once whatever the choice.
    pub members: Option<Vec<String>>,
}

/// Whether `backend` runs a network of `precision`, and if not, why. tract's
/// fp16 support is incomplete (it fails on fp16 Gemm and shape inference), so the CPU backend runs
/// fp32 only; ONNX Runtime's CPU provider has no bf16 arithmetic; TensorRT has no MatMulInteger.
fn precision_support(precision: Precision, backend: BackendKind) -> std::result::Result<(), &'static str> {
    match (precision, backend) {
        (Precision::Fp32, _) => Ok(()),
        (_, BackendKind::Cpu) => Err("the cpu backend runs fp32 networks only"),
        (Precision::Bf16, BackendKind::OnnxRuntime) => Err("ONNX Runtime's CPU provider has no bf16 kernels"),
        (Precision::Int8Dynamic, BackendKind::TensorRt) => Err("TensorRT has no integer matrix products"),
        _ => Ok(()),
    }
}

/// The backends that run networks, in the order [`backends_phrase`] names them.
const NETWORK_BACKENDS: [BackendKind; 3] = [BackendKind::Cpu, BackendKind::OnnxRuntime, BackendKind::TensorRt];

/// The backends that run a network of `precision`, by [`precision_support`].
fn backends_running(precision: Precision) -> Vec<BackendKind> {
    NETWORK_BACKENDS.into_iter().filter(|&backend| precision_support(precision, backend).is_ok()).collect()
}

/// The backends that run a network of `precision`, for a message ("the tensorrt backend"), and
/// whether the phrase is plural ("the onnxruntime and tensorrt backends run it").
fn backends_phrase(precision: Precision) -> (String, bool) {
    let names: Vec<&str> = backends_running(precision).into_iter().map(BackendKind::name).collect();
    match names.as_slice() {
        all if all.len() == NETWORK_BACKENDS.len() => ("every backend".to_string(), false),
        [] => ("no backend".to_string(), false),
        [one] => (format!("the {one} backend"), false),
        [rest @ .., last] => (format!("the {} and {last} backends", rest.join(", ")), true),
    }
}

/// Refuses a bundle with a network in a precision the backend does not run, naming the branch.
fn check_precisions(bundle: &Bundle, backend: BackendKind) -> Result<()> {
    for branch in &bundle.manifest.branches {
        if let Err(reason) = precision_support(branch.precision, backend) {
            let (runners, plural) = backends_phrase(branch.precision);
            let verb = if plural { "run" } else { "runs" };
            return Err(Error::BackendUnavailable(format!(
                "branch '{}' is {}: {reason} ({runners} {verb} it; or take the fp32 bundle)",
                branch.name,
                branch.precision.name(),
            )));
        }
    }
    Ok(())
}

/// What `auto` takes for `bundle` here, and why: [`backend::auto_choice`], unless the bundle's
/// precisions leave one backend (bf16: TensorRT; int8_dynamic: ONNX Runtime).
pub fn auto_choice_for(bundle: &Bundle) -> (BackendKind, String) {
    backend_for_bundle(bundle).unwrap_or_else(backend::auto_choice)
}

/// `auto` for a bundle with a network that only one backend runs (bf16: TensorRT; int8_dynamic:
/// ONNX Runtime). `None`: `auto` picks as usual.
fn backend_for_bundle(bundle: &Bundle) -> Option<(BackendKind, String)> {
    bundle.manifest.branches.iter().find_map(|branch| match backends_running(branch.precision)[..] {
        [only] => Some((
            only,
            format!("auto: branch '{}' is {}, which only {} runs", branch.name, branch.precision.name(), only.name()),
        )),
        _ => None,
    })
}

/// A loaded model bundle ready to score. Cheap to clone (shared); `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

pub(crate) struct EngineInner {
    pub(crate) bundle: Bundle,
    /// The bundle's branches in manifest order, then each ensemble member's own networks.
    pub(crate) branches: Vec<Branch>,
    /// The models the clip score averages: one for a plain bundle, one per ensemble member.
    pub(crate) models: Vec<Model>,
    /// For each branch, the branch whose preprocessed input it takes: itself, or for a member's
    /// own network the bundle's branch it stands in for (same spec, so the same input).
    pub(crate) preprocess_sources: Vec<usize>,
    backend: BackendKind,
    logger: Option<Logger>,
    pub(crate) max_kept_clip_bytes: usize,
    pub(crate) convert_time: crate::timing::Stopwatch,
    pub(crate) device_frames: Option<device_frames::DeviceFrames>,
    pub(crate) color_conversion: ColorConversion,
}

impl EngineInner {
    /// Whether the bundle is an ensemble (its models are members, even when one is chosen).
    pub(crate) fn is_ensemble(&self) -> bool {
        !self.bundle.members.is_empty()
    }
}

/// One model of the engine: a head, and which of the engine's branches give its features.
pub(crate) struct Model {
    pub(crate) name: String,
    pub(crate) head: crate::bundle::Head,
    /// For each branch of the manifest, in order: the index in `EngineInner::branches` of the
    /// branch whose features this model reads.
    pub(crate) branches: Vec<usize>,
}

impl Model {
    /// The model's head input: its branches' features, concatenated in manifest order.
    pub(crate) fn features<'a>(&self, feature_of: impl Fn(usize) -> &'a [f32]) -> Vec<f32> {
        self.branches.iter().flat_map(|&b| feature_of(b).iter().copied()).collect()
    }
}

/// The engine's models: the bundle's head over its branches, or one per ensemble member (all, or
/// the `selected` ones) with the member's own networks, loaded by `load` and appended to
/// `branches`; `sources` gets each new branch's preprocessing source.
fn models(
    bundle: &Bundle,
    selected: Option<&[String]>,
    branches: &mut Vec<Branch>,
    sources: &mut Vec<usize>,
    mut load: impl FnMut(&BranchSpec, &crate::bundle::NetworkFile) -> Result<Branch>,
) -> Result<Vec<Model>> {
    let shared: Vec<usize> = (0..bundle.manifest.branches.len()).collect();
    if bundle.members.is_empty() {
        if selected.is_some() {
            return Err(Error::invalid(format!(
                "members were chosen, but bundle '{}' is not an ensemble (it has no \"members\")",
                bundle.manifest.name
            )));
        }
        return Ok(vec![Model { name: bundle.manifest.name.clone(), head: bundle.head.clone(), branches: shared }]);
    }
    let mut models = Vec::with_capacity(bundle.members.len());
    for member in chosen_members(bundle, selected)? {
        let mut own = shared.clone();
        for (index, file) in &member.networks {
            let mut spec = bundle.manifest.branches[*index].clone();
            spec.name = format!("{}.{}", spec.name, member.name);
            let context = format!("member '{}'", member.name);
            branches.push(load(&spec, file).map_err(|e| e.in_bundle_context(&context))?);
            sources.push(*index);
            own[*index] = branches.len() - 1;
        }
        models.push(Model { name: member.name.clone(), head: member.head.clone(), branches: own });
    }
    Ok(models)
}

/// An ensemble's members as the C API, the GStreamer element and other text front ends take them:
/// names separated by commas (`"m0,m3"`; spaces around a name are ignored). An empty name is
/// refused; whether each name is a member is checked when the engine is made.
pub fn parse_members(list: &str) -> Result<Vec<String>> {
    let names: Vec<String> = list.split(',').map(|name| name.trim().to_owned()).collect();
    if names.iter().any(String::is_empty) {
        return Err(Error::invalid(format!(
            "members \"{list}\": give member names separated by commas, as \"m0,m3\" (`vsrqa info` lists them)"
        )));
    }
    Ok(names)
}

/// The members `selected` names, in the bundle's order (all when `None`); an unknown name or an
/// empty choice is an error naming the bundle's members.
fn chosen_members<'a>(bundle: &'a Bundle, selected: Option<&[String]>) -> Result<Vec<&'a LoadedMember>> {
    let Some(selected) = selected else { return Ok(bundle.members.iter().collect()) };
    let names = || bundle.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ");
    if let Some(unknown) = selected.iter().find(|name| !bundle.members.iter().any(|m| &m.name == *name)) {
        return Err(Error::invalid(format!(
            "bundle '{}' has no member '{unknown}' (its members: {})",
            bundle.manifest.name,
            names()
        )));
    }
    if selected.is_empty() {
        return Err(Error::invalid(format!("choose at least one member (the bundle's: {})", names())));
    }
    Ok(bundle.members.iter().filter(|m| selected.contains(&m.name)).collect())
}

impl Engine {
    pub fn new(bundle_dir: impl AsRef<Path>, options: EngineOptions) -> Result<Engine> {
        let log = |level, message: &str| {
            if let Some(logger) = &options.logger {
                logger(level, message);
            }
        };
        if options.threads > MAX_THREADS {
            return Err(Error::invalid(format!("threads = {} is above the limit of {MAX_THREADS}", options.threads)));
        }
        let bundle = Bundle::load(bundle_dir)?;
        // On every engine, so that a host sees it in its log on every run, not only at install.
        if let Some(warning) = bundle.provenance_warning() {
            log(LogLevel::Warning, &warning);
        }
        let narrowed = if options.backend == BackendKind::Auto { backend_for_bundle(&bundle) } else { None };
        let (backend, why) = match narrowed {
            Some((kind, why)) => (backend::create(kind, options.threads, &options.gpu)?.0, why),
            None => backend::create(options.backend, options.threads, &options.gpu)?,
        };
        log(LogLevel::Info, &format!("backend {} ({why})", backend.kind().name()));
        check_precisions(&bundle, backend.kind())?;
        let load = |spec: &BranchSpec, file: &crate::bundle::NetworkFile| -> Result<Branch> {
            let started = Instant::now();
            let branch = Branch::load(spec, file, backend.as_ref())?;
            if let Some(reason) = branch.fallback_reason() {
                log(LogLevel::Warning, reason);
            }
            let ms = started.elapsed().as_secs_f64() * 1e3;
            log(LogLevel::Debug, &format!("branch '{}' loaded from {} in {ms:.0} ms", spec.name, file.path.display()));
            if let Some(note) = branch.load_note() {
                log(LogLevel::Debug, &format!("branch '{}': {note}", spec.name));
            }
            Ok(branch)
        };
        let mut branches = Vec::with_capacity(bundle.manifest.branches.len());
        for (spec, file) in bundle.manifest.branches.iter().zip(&bundle.networks) {
            branches.push(load(spec, file)?);
        }
        let mut preprocess_sources: Vec<usize> = (0..branches.len()).collect();
        let models = models(&bundle, options.members.as_deref(), &mut branches, &mut preprocess_sources, load)?;
        if models.len() > 1 {
            let names: Vec<&str> = models.iter().map(|model| model.name.as_str()).collect();
            log(
                LogLevel::Info,
                &format!("ensemble of {} members ({}): scores are their mean", names.len(), names.join(", ")),
            );
        }
        let color_conversion =
            options.color_conversion.or(bundle.manifest.color_conversion).unwrap_or(ColorConversion::Reference);
        log(LogLevel::Info, &format!("YUV->RGB conversion: {}", color_conversion.name()));
        Ok(Engine {
            inner: Arc::new(EngineInner {
                color_conversion,
                bundle,
                branches,
                models,
                preprocess_sources,
                backend: backend.kind(),
                logger: options.logger,
                max_kept_clip_bytes: options.max_kept_clip_bytes.unwrap_or(clip::MAX_KEPT_BYTES),
                convert_time: crate::timing::Stopwatch::default(),
                device_frames: options
                    .device_frames
                    .or_else(|| backend_kernel_executor(backend.as_ref()))
                    .map(|factory| device_frames::DeviceFrames::new(factory, color_conversion)),
            }),
        })
    }

    pub fn bundle(&self) -> &Bundle {
        &self.inner.bundle
    }

    /// The ensemble members this engine runs, in the bundle's order (all of them, or those
    /// [`EngineOptions::members`] chose); empty when the bundle is not an ensemble.
    pub fn members(&self) -> Vec<&str> {
        if !self.inner.is_ensemble() {
            return Vec::new();
        }
        self.inner.models.iter().map(|model| model.name.as_str()).collect()
    }

    /// The YUV->RGB conversion every frame gets (the options', else the bundle's).
    pub fn color_conversion(&self) -> ColorConversion {
        self.inner.color_conversion
    }

    /// The backend the engine runs on (never `Auto`: the one `Auto` chose).
    pub fn backend(&self) -> BackendKind {
        self.inner.backend
    }

    pub fn backend_name(&self) -> &'static str {
        self.inner.backend.name()
    }

    /// Sends `message` to the engine's logger, if it has one (the C API's log callback).
    pub fn log(&self, level: LogLevel, message: &str) {
        if let Some(logger) = &self.inner.logger {
            logger(level, message);
        }
    }

    /// Starts a stream of frames at `fps` frames per second.
    pub fn session(&self, fps: f64) -> Result<Session> {
        Session::new(self.clone(), fps)
    }

    /// Starts a stream: a session with windows, callbacks and a lenient clip length
    /// ([`Stream`]); what the C API's sessions run on.
    pub fn stream(&self, options: StreamOptions) -> Result<Stream> {
        Stream::new(self.clone(), options)
    }

    /// Scores one frame on its own: a one-frame clip (a window branch sees the frame repeated).
    /// The frame is a [`FrameView`](crate::frame::FrameView) or a [`DeviceFrame`](crate::frame::DeviceFrame).
    pub fn score_frame<'f>(&self, frame: impl Into<Frame<'f>>) -> Result<FrameScore> {
        let mut session = self.session(1.0)?;
        session.push(frame)?;
        session.finish()?;
        session.poll().ok_or_else(|| Error::Backend("a one-frame clip produced no frame score".into()))
    }

    /// Scores a whole clip. Identical to pushing the frames through a session (told the clip
    /// length, so that clip branches keep only the frames they sample).
    pub fn score_clip<'f, F: Copy + Into<Frame<'f>>>(&self, frames: &[F], fps: f64) -> Result<ClipScore> {
        let mut session = self.session(fps)?;
        if !frames.is_empty() {
            session.set_expected_frames(frames.len() as u64)?;
        }
        for frame in frames {
            session.push(*frame)?;
        }
        session.finish()
    }

    /// Time spent so far in each stage, over every session of this engine.
    pub fn timings(&self) -> EngineTimes {
        EngineTimes {
            convert: self.inner.convert_time.total(),
            branches: self.inner.branches.iter().map(Branch::times).collect(),
        }
    }

    /// Starts [`Engine::timings`] from zero.
    pub fn reset_timings(&self) {
        self.inner.convert_time.reset();
        self.inner.branches.iter().for_each(Branch::reset_times);
    }

    pub(crate) fn inner(&self) -> &EngineInner {
        &self.inner
    }
}

/// The executor that preprocesses frames in device memory on the backend's CUDA stream, next to
/// its network runs; `None` for the CPU backends.
#[cfg(feature = "cuda")]
fn backend_kernel_executor(backend: &dyn backend::Backend) -> Option<crate::gpu::kernels::KernelExecutorFactory> {
    let stream = backend.cuda_stream()?;
    Some(Arc::new(move || {
        crate::gpu::cuda_executor::CudaExecutor::new(stream.clone())
            .map(|executor| Box::new(executor) as Box<dyn crate::gpu::kernels::KernelExecutor>)
    }))
}

#[cfg(not(feature = "cuda"))]
fn backend_kernel_executor(_: &dyn backend::Backend) -> Option<crate::gpu::kernels::KernelExecutorFactory> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_runs_the_precisions_its_kernels_have() {
        use BackendKind::{Cpu, OnnxRuntime, TensorRt};
        let runs = |precision, backend| precision_support(precision, backend).is_ok();
        for backend in [Cpu, OnnxRuntime, TensorRt] {
            assert!(runs(Precision::Fp32, backend));
        }
        for precision in [Precision::Fp16, Precision::Bf16, Precision::Int8Weights, Precision::Int8Dynamic] {
            assert!(!runs(precision, Cpu), "{precision:?}");
        }
        assert!(runs(Precision::Fp16, OnnxRuntime) && runs(Precision::Fp16, TensorRt));
        assert!(runs(Precision::Int8Weights, OnnxRuntime) && runs(Precision::Int8Weights, TensorRt));
        assert!(!runs(Precision::Bf16, OnnxRuntime) && runs(Precision::Bf16, TensorRt));
        assert!(runs(Precision::Int8Dynamic, OnnxRuntime) && !runs(Precision::Int8Dynamic, TensorRt));
        // The message names the backends that run it, consistently with the matrix above.
        assert_eq!(backends_phrase(Precision::Bf16).0, "the tensorrt backend");
        assert_eq!(backends_phrase(Precision::Int8Dynamic).0, "the onnxruntime backend");
    }
}
