//! The ONNX Runtime CPU backend: the bundle's ONNX files run by Microsoft's runtime, whose CPU
//! kernels are 2.4x (Swin-B) to 100x (SlowFast's 3-D convolutions) faster than tract's on the
//! branches' networks (docs/performance.md). The library is loaded at run time, from
//! `$ORT_DYLIB_PATH`, the user's cache (where scripts/install-deps.sh puts it) or the system's
//! `libonnxruntime.so` (the `onnxruntime` Python wheel ships one in `onnxruntime/capi/`; see
//! `library_path`), so vsrqa builds and runs without it; asking for this backend where
//! it cannot load is a clear error. Its results agree with the CPU (tract) backend to float
//! rounding (tests/backend_onnxruntime.rs).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::logging::LogLevel;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::session::Session;
use ort::value::TensorRef;

use super::onnxruntime_graph_cache::{GraphCache, GraphEntry};
use super::{Backend, BackendKind, Network, NetworkRequest, Tensor};
use crate::error::{Error, Result};

/// The runtime's C API version vsrqa asks for (ONNX Runtime 1.20 or newer).
const MINIMUM_VERSION: &str = "1.20";

/// Where the library is looked for, in order: `$ORT_DYLIB_PATH` (when set, only there); else the
/// newest ONNX Runtime that scripts/onnxruntime-lib.sh (run by scripts/install-deps.sh) unpacked
/// into the user's cache, `${XDG_CACHE_HOME:-$HOME/.cache}/vsrqa/onnxruntime-VERSION/`; else the
/// system's `libonnxruntime.so`, wherever the dynamic loader finds it.
fn library_path() -> PathBuf {
    match std::env::var_os("ORT_DYLIB_PATH") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => cached_library().unwrap_or_else(|| PathBuf::from(library_file_name())),
    }
}

/// `libonnxruntime.so` on Linux.
fn library_file_name() -> String {
    format!("{}onnxruntime{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

/// The user's cache directory of vsrqa's fetched libraries (the scripts' `~/.cache/vsrqa`).
fn cache_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = non_empty("XDG_CACHE_HOME").or_else(|| non_empty("HOME").map(|home| home.join(".cache")))?;
    Some(base.join("vsrqa"))
}

/// The newest `onnxruntime-VERSION/onnxruntime/capi/libonnxruntime.so.*` of the cache (the
/// layout of the `onnxruntime` wheel that scripts/wheel-lib.sh unpacks).
fn cached_library() -> Option<PathBuf> {
    let library_prefix = format!("{}.", library_file_name());
    let mut found: Vec<(Vec<u64>, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(cache_dir()?).ok()?.flatten() {
        let name = entry.file_name();
        let Some(version) = name.to_str().and_then(|n| n.strip_prefix("onnxruntime-")).and_then(parse_version) else {
            continue;
        };
        let Ok(files) = std::fs::read_dir(entry.path().join("onnxruntime/capi")) else { continue };
        for file in files.flatten() {
            let is_library = file.file_name().to_str().is_some_and(|n| n.starts_with(&library_prefix));
            if is_library && file.path().is_file() {
                found.push((version.clone(), file.path()));
            }
        }
    }
    found.into_iter().max().map(|(_, path)| path)
}

/// "1.32.0" -> [1, 32, 0]; None for anything that is not dot-separated numbers.
fn parse_version(text: &str) -> Option<Vec<u64>> {
    text.split('.').map(|part| part.parse().ok()).collect()
}

/// The process-wide environment: the library is loaded once (ONNX Runtime allows one per process).
/// `Err` is [`Error::BackendUnavailable`] saying why, every time it is asked.
fn environment() -> Result<&'static Environment> {
    static ENVIRONMENT: OnceLock<Result<Environment>> = OnceLock::new();
    ENVIRONMENT.get_or_init(load_environment).as_ref().map_err(Clone::clone)
}

fn load_environment() -> Result<Environment> {
    let path = loaded_library();
    super::shared_libraries::check_loadable(&format!("ONNX Runtime ({})", path.display()))
        .map_err(Error::BackendUnavailable)?;
    // The two steps fail with different error types; the message is all that is kept of either.
    let load = || match ort::init_from(&path) {
        Ok(builder) => builder.with_name("vsrqa").build().map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    // ort panics when the library is older than the API version it asks for.
    let why = match std::panic::catch_unwind(load) {
        Ok(Ok(environment)) => return Ok(environment),
        Ok(Err(error)) => error,
        Err(_) => "the library is too old".to_string(),
    };
    Err(Error::BackendUnavailable(format!(
        "cannot load ONNX Runtime from {} ({why}); set ORT_DYLIB_PATH to libonnxruntime.so of ONNX Runtime {MINIMUM_VERSION} or newer (pip install onnxruntime ships one in onnxruntime/capi/; scripts/onnxruntime-lib.sh puts one in ~/.cache/vsrqa/, where vsrqa also looks)",
        path.display()
    )))
}

/// Whether the backend can run here, and if not why (for `vsrqa info` and `auto`).
pub fn availability() -> Result<()> {
    environment().map(|_| ())
}

/// The library loaded (or to load), for `vsrqa info`.
pub fn loaded_library() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(library_path).clone()
}

pub struct OnnxRuntimeBackend {
    threads: usize,
    /// Where optimized graphs are kept (the engine cache's `onnxruntime/`); `None`: not kept.
    graph_cache: Option<GraphCache>,
}

/// The session options that shape the optimized graph, as part of its cache key.
const GRAPH_OPTIONS: &str = "level3; session.qdq_matmulnbits_accuracy_level=0";

impl OnnxRuntimeBackend {
    /// `threads`: intra-op threads per network run; 0 = all cores. `cache_dir`: the engine cache,
    /// where each network's optimized graph is kept for the next load (`None`: optimized at every
    /// load).
    pub fn new(threads: usize, cache_dir: Option<&Path>) -> Result<Self> {
        environment()?;
        let threads =
            if threads == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { threads };
        Ok(OnnxRuntimeBackend { threads, graph_cache: cache_dir.map(GraphCache::new) })
    }

    /// A session builder with vsrqa's options; `optimize`: ONNX Runtime's full graph
    /// optimization (off for a graph it already optimized).
    fn builder(&self, optimize: bool) -> ort::Result<SessionBuilder> {
        let level = if optimize { GraphOptimizationLevel::Level3 } else { GraphOptimizationLevel::Disable };
        Ok(Session::builder(environment().map_err(|e| ort::Error::new(e.to_string()))?)?
            .with_optimization_level(level)?
            // An 8-bit weight's DequantizeLinear and its MatMul become one MatMulNBits, which by
            // default also quantizes the activations to 8 bits: 0 keeps them fp32, as the graph
            // says (int8_weights in docs/precision.md; 0.5% more output error on the tiny Q-Align).
            .with_config_entry("session.qdq_matmulnbits_accuracy_level", "0")?
            .with_intra_threads(self.threads)?
            .with_inter_threads(1)?
            // Idle runtime threads sleep instead of spinning: vsrqa runs inside other programs,
            // and between network runs the caller's thread preprocesses frames on the same cores
            // (spinning did not make the networks faster: docs/performance.md).
            .with_intra_op_spinning(false)?
            // The memory pattern plans one block per input shape from the first run; for FAST-VQA
            // it nearly doubled peak memory (9.0 -> 5.3 GB for the lite bundle without it) and
            // made the second run the slowest (docs/performance.md). The arena stays on.
            .with_memory_pattern(false)?)
    }

    /// Loads `path`, through the graph cache when `entry` is given: its graph when valid, else
    /// the network optimized and its graph written there for the next load. Also says what the
    /// cache did, for the engine's log.
    fn session(&self, path: &Path, entry: Option<&GraphEntry>) -> Result<(Session, Option<String>)> {
        // The CPU backend's wording, so that a broken file reads the same whichever backend runs.
        let fail = |e: ort::Error| Error::bundle(path, format!("not a loadable ONNX network (ONNX Runtime: {e})"));
        // The network optimized now, its graph not written anywhere.
        let uncached = || self.builder(true).and_then(|mut b| b.commit_from_file(path)).map_err(fail);
        let Some(entry) = entry.filter(|_| !has_external_data(path)) else {
            return Ok((uncached()?, None));
        };
        let cached = entry.valid_graph().map(|graph| self.builder(false).and_then(|mut b| b.commit_from_file(graph)));
        let why_not_cached = match cached {
            Some(Ok(session)) => {
                return Ok((session, Some(format!("optimized graph from {}", entry.graph_path().display()))))
            }
            // A graph this runtime cannot load (a damaged file with a matching digest is beyond
            // the cache's checks): optimized again and replaced.
            Some(Err(error)) => format!("the cached graph did not load ({error})"),
            None => "no cached graph".to_string(),
        };
        let staged = match entry.staging_path() {
            Ok(staged) => staged,
            Err(error) => {
                return Ok((uncached()?, Some(format!("optimized graph not cached: {error}"))));
            }
        };
        // Writing an optimized graph makes ONNX Runtime warn that it is specific to this CPU,
        // which the cache key covers: only errors are logged for this session.
        let session = self
            .builder(true)
            .and_then(|b| b.with_optimized_model_path(&staged).map_err(ort::Error::from))
            .and_then(|b| b.with_log_level(LogLevel::Error).map_err(ort::Error::from))
            .and_then(|mut b| b.commit_from_file(path));
        let session = match session {
            Ok(session) => session,
            // Writing the graph can fail where loading would not (a full disk): the network is
            // loaded without the cache, and a network that does not load says so from there.
            Err(error) => {
                let _ = std::fs::remove_file(&staged);
                return Ok((uncached()?, Some(format!("{why_not_cached}; optimized graph not cached: {error}"))));
            }
        };
        let note = match entry.commit(&staged) {
            Ok(()) => format!("{why_not_cached}: optimized graph written to {}", entry.graph_path().display()),
            Err(error) => format!("{why_not_cached}; optimized graph not cached: {error}"),
        };
        Ok((session, Some(note)))
    }

    fn load(&self, path: &Path, sample_shape: &[usize], entry: Option<&GraphEntry>) -> Result<Box<dyn Network>> {
        let (session, load_note) = self.session(path, entry)?;
        if session.inputs().len() != 1 || session.outputs().len() != 1 {
            return Err(Error::bundle(
                path,
                format!(
                    "the network has {} inputs and {} outputs; exactly one of each is supported",
                    session.inputs().len(),
                    session.outputs().len()
                ),
            ));
        }
        // ONNX Runtime reports an open dimension as -1.
        let declared: Vec<Option<i64>> = match session.inputs()[0].dtype().tensor_shape() {
            Some(shape) => shape.iter().map(|&d| (d >= 0).then_some(d)).collect(),
            None => return Err(Error::bundle(path, "the network's input is not a tensor")),
        };
        super::check_declared_input(path, &declared, sample_shape)?;
        let output_name = session.outputs()[0].name().to_string();
        Ok(Box::new(OnnxRuntimeNetwork {
            session: Mutex::new(session),
            sample_shape: sample_shape.to_vec(),
            output_name,
            path: path.to_path_buf(),
            load_note,
        }))
    }
}

/// Whether the network keeps its weights in a file beside it (`<network>.data`, over 2 GB): its
/// optimized graph would be over protobuf's 2 GB as one file, so it is not cached.
fn has_external_data(path: &Path) -> bool {
    let mut data = path.as_os_str().to_owned();
    data.push(".data");
    Path::new(&data).exists()
}

impl Backend for OnnxRuntimeBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::OnnxRuntime
    }

    fn load_network(&self, path: &Path, sample_shape: &[usize]) -> Result<Box<dyn Network>> {
        self.load(path, sample_shape, None)
    }

    fn load_branch_network(&self, request: &NetworkRequest<'_>) -> Result<Box<dyn Network>> {
        let entry =
            self.graph_cache.as_ref().map(|cache| cache.entry(request.name, request.sha256, ort::info(), GRAPH_OPTIONS));
        self.load(request.path, request.sample_shape, entry.as_ref())
    }
}

struct OnnxRuntimeNetwork {
    /// `Session::run` takes `&mut self`; runs of one network from several threads take turns (each
    /// run already uses the backend's threads).
    session: Mutex<Session>,
    sample_shape: Vec<usize>,
    output_name: String,
    path: PathBuf,
    /// What the graph cache did at load (for the engine's log).
    load_note: Option<String>,
}

impl Network for OnnxRuntimeNetwork {
    fn load_note(&self) -> Option<&str> {
        self.load_note.as_deref()
    }

    fn run(&self, batch: usize, input: &[f32]) -> Result<Tensor> {
        let shape: Vec<usize> = std::iter::once(batch).chain(self.sample_shape.iter().copied()).collect();
        if input.len() != shape.iter().product::<usize>() {
            return Err(Error::Backend(format!("{} values for an input of shape {shape:?}", input.len())));
        }
        let fail = |e: ort::Error| Error::Backend(format!("{}: ONNX Runtime: {e}", self.path.display()));
        let tensor = TensorRef::from_array_view((shape, input)).map_err(fail)?;
        let mut session = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let outputs = session.run(ort::inputs![tensor]).map_err(fail)?;
        let (out_shape, data) = outputs[self.output_name.as_str()].try_extract_tensor::<f32>().map_err(fail)?;
        let shape = out_shape.iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
        Ok(Tensor { shape, data: data.to_vec() })
    }
}
