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
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

use super::{Backend, BackendKind, Network, Tensor};
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
}

impl OnnxRuntimeBackend {
    /// `threads`: intra-op threads per network run; 0 = all cores.
    pub fn new(threads: usize) -> Result<Self> {
        environment()?;
        let threads =
            if threads == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { threads };
        Ok(OnnxRuntimeBackend { threads })
    }
}

impl Backend for OnnxRuntimeBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::OnnxRuntime
    }

    fn load_network(&self, path: &Path, sample_shape: &[usize]) -> Result<Box<dyn Network>> {
        let environment = environment()?;
        // The CPU backend's wording, so that a broken file reads the same whichever backend runs.
        let fail = |e: ort::Error| Error::bundle(path, format!("not a loadable ONNX network (ONNX Runtime: {e})"));
        let session = Session::builder(environment)
            .map_err(fail)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| fail(e.into()))?
            // An 8-bit weight's DequantizeLinear and its MatMul become one MatMulNBits, which by
            // default also quantizes the activations to 8 bits: 0 keeps them fp32, as the graph
            // says (int8_weights in docs/precision.md; 0.5% more output error on the tiny Q-Align).
            .with_config_entry("session.qdq_matmulnbits_accuracy_level", "0")
            .map_err(|e| fail(e.into()))?
            .with_intra_threads(self.threads)
            .map_err(|e| fail(e.into()))?
            .with_inter_threads(1)
            .map_err(|e| fail(e.into()))?
            // Idle runtime threads sleep instead of spinning: vsrqa runs inside other programs,
            // and between network runs the caller's thread preprocesses frames on the same cores.
            .with_intra_op_spinning(false)
            .map_err(|e| fail(e.into()))?
            // The memory pattern plans one block per input shape from the first run; for FAST-VQA
            // it nearly doubled peak memory (9.0 -> 5.3 GB for the lite bundle without it) and
            // made the second run the slowest (docs/performance.md). The arena stays on.
            .with_memory_pattern(false)
            .map_err(|e| fail(e.into()))?
            .commit_from_file(path)
            .map_err(fail)?;
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
        }))
    }
}

struct OnnxRuntimeNetwork {
    /// `Session::run` takes `&mut self`; runs of one network from several threads take turns (each
    /// run already uses the backend's threads).
    session: Mutex<Session>,
    sample_shape: Vec<usize>,
    output_name: String,
    path: PathBuf,
}

impl Network for OnnxRuntimeNetwork {
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
