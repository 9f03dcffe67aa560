//! The `tensorrt` backend (feature `tensorrt-rtx` or `tensorrt`): each branch's network as a
//! TensorRT-RTX or TensorRT 10/11 engine on one GPU. The engine comes from the engine cache (built and stored on a miss, so
//! `vsrqa build-engines` makes the first engine creation fast), is deserialized once, and runs
//! with activation memory vsrqa allocates (`kUSER_MANAGED`) on one stream: the caller's when
//! given (`GpuOptions::stream`), else a stream vsrqa creates; never the legacy default stream.
//!
//! Inputs and outputs here are host tensors (the `Backend` interface the CPU backends share):
//! each run copies its batch in, enqueues, copies the features out and waits for the stream.

use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaContext, CudaGraph, CudaSlice, CudaStream, DevicePtr};

use super::builder::build_plan;
use super::cache::EngineCache;
use super::cache_key::{build_config, engine_cache_key, runtime_cache_key, BuildOptions};
use super::library::{self, Flavor, TensorRtLibrary};
use super::runtime::{Context, Engine};
use super::GpuOptions;
use crate::backend::cuda_device as device;
use crate::backend::{Backend, BackendKind, Network, NetworkRequest, Tensor};
use crate::error::{Error, GpuError, Result};

pub struct TensorRtBackend {
    library: TensorRtLibrary,
    /// The GPU the engines run on. TensorRT 10/11 plans are built for its model, which their cache
    /// key names; TensorRT-RTX plans run on every GPU it supports, and its runtime cache (the
    /// kernels compiled at load) is what is kept per GPU model.
    gpu: device::GpuInfo,
    /// `GpuOptions::cuda_graphs`.
    cuda_graphs: bool,
    stream: Arc<CudaStream>,
    cache: Option<EngineCache>,
    build: BuildOptions,
    /// Runs the networks TensorRT cannot build (e.g. an op TensorRT-RTX lacks, such as a NonZero
    /// that an export did not fold away).
    fallback: crate::backend::cpu::CpuBackend,
}

/// A GPU error as the engine reports it: its kind kept, "tensorrt: " before its text.
fn tensorrt_error(error: GpuError) -> Error {
    Error::Gpu(error.context("tensorrt"))
}

/// The backend cannot start here: whatever failed while setting it up, the host lacks something.
fn unavailable(reason: impl std::fmt::Display) -> Error {
    tensorrt_error(GpuError::Unavailable(reason.to_string()))
}

fn cuda(error: cudarc::driver::DriverError) -> Error {
    tensorrt_error(GpuError::Cuda(format!("CUDA: {error}")))
}

/// An engine this backend cannot run (its inputs and outputs are not what vsrqa feeds it).
fn unsupported_engine(reason: String) -> Error {
    tensorrt_error(GpuError::Unsupported(reason))
}

impl TensorRtBackend {
    /// The backend on `options.device` (else the device of the calling thread's current CUDA
    /// context, else device 0), with the library `library::probe` finds. Errors say
    /// what is missing.
    pub fn new(options: &GpuOptions, threads: usize) -> Result<TensorRtBackend> {
        let library = library::probe().map_err(unavailable)?;
        library::check_library(&library).map_err(unavailable)?;
        let ordinal = options.device.or_else(current_device).unwrap_or(0);
        let gpu = device::find(ordinal).map_err(unavailable)?;
        let context = CudaContext::new(ordinal).map_err(|e| unavailable(format!("CUDA device {ordinal}: {e}")))?;
        let stream = match options.stream {
            // SAFETY: the caller promises (C API contract) a live CUstream of this device's
            // primary context that outlives the engine.
            Some(stream) => unsafe { context.wrap_borrowed_stream(stream as cudarc::driver::sys::CUstream) },
            None => context.new_stream().map_err(|e| unavailable(format!("CUDA stream: {e}")))?,
        };
        Ok(TensorRtBackend {
            library,
            gpu,
            cuda_graphs: options.cuda_graphs,
            stream,
            cache: options.cache_dir.clone().map(EngineCache::new),
            build: BuildOptions::default(),
            fallback: crate::backend::cpu::CpuBackend::new(threads),
        })
    }

    /// The plan of `request`'s network: from the cache, else built (and stored when there is a
    /// cache; a cache that cannot be written costs a rebuild next time, not this engine).
    /// `rebuild`: skip the cached plan (the library or GPU refused it).
    fn plan(&self, request: &NetworkRequest<'_>, key: &str, rebuild: bool) -> Result<Vec<u8>> {
        if let (Some(cache), false) = (&self.cache, rebuild) {
            // A damaged file is as good as none: it is rebuilt and replaced below.
            if let Ok(Some(plan)) = cache.load(request.name, key) {
                return Ok(plan);
            }
        }
        let config = build_config(request.sample_shape, request.max_batch, &self.build);
        let plan = build_plan(&self.library, request.path, &config).map_err(tensorrt_error)?;
        if let Some(cache) = &self.cache {
            let _ = cache.store(request.name, key, &plan);
        }
        Ok(plan)
    }

    /// The key `request`'s plan is cached under (the one `vsrqa build-engines` uses).
    fn key(&self, request: &NetworkRequest<'_>) -> Result<String> {
        let config = build_config(request.sample_shape, request.max_batch, &self.build);
        let gpu = (self.library.flavor == Flavor::TensorRt).then_some(&self.gpu);
        engine_cache_key(request.sha256, &config, &self.library, gpu).map_err(tensorrt_error)
    }
}

/// The device of the calling thread's current CUDA context, if the host application made one
/// current (the C API's `device = -1`: work goes where the caller's work goes). `None` without
/// a driver: cudarc panics when asked with no libcuda to load.
fn current_device() -> Option<usize> {
    crate::backend::shared_libraries::check_loadable("the NVIDIA driver").ok()?;
    // SAFETY: only tries to open the driver library.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return None;
    }
    cudarc::driver::result::ctx::get_current().ok()??;
    let mut device = 0;
    // SAFETY: a context is current (checked above); cuCtxGetDevice writes one CUdevice.
    let status = unsafe { cudarc::driver::sys::cuCtxGetDevice(&mut device) };
    (status == cudarc::driver::sys::CUresult::CUDA_SUCCESS).then_some(device as usize)
}

impl Backend for TensorRtBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::TensorRt
    }

    fn cuda_stream(&self) -> Option<Arc<CudaStream>> {
        Some(self.stream.clone())
    }

    fn load_network(&self, path: &std::path::Path, sample_shape: &[usize]) -> Result<Box<dyn Network>> {
        let sha256 = crate::hash::sha256_file(path).map_err(|e| Error::bundle_caused(path, format!("cannot read the network: {e}"), e))?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        self.load_branch_network(&NetworkRequest { name: &name, path, sha256: &sha256, sample_shape, max_batch: 1 })
    }

    fn load_branch_network(&self, request: &NetworkRequest<'_>) -> Result<Box<dyn Network>> {
        match self.load_engine(request) {
            Ok(network) => Ok(network),
            Err(error) => {
                let network = self.fallback.load_network(request.path, request.sample_shape)?;
                let reason = format!("branch '{}' runs on the CPU backend: {error}", request.name);
                Ok(Box::new(FallbackNetwork { network, reason }))
            }
        }
    }
}

/// A network the CPU backend runs for a TensorRT engine, and why.
struct FallbackNetwork {
    network: Box<dyn Network>,
    reason: String,
}

impl Network for FallbackNetwork {
    fn run(&self, batch: usize, input: &[f32]) -> Result<Tensor> {
        self.network.run(batch, input)
    }

    fn fallback_reason(&self) -> Option<&str> {
        Some(&self.reason)
    }
}

impl TensorRtBackend {
    fn load_engine(&self, request: &NetworkRequest<'_>) -> Result<Box<dyn Network>> {
        let library = &self.library.path;
        // TensorRT allocates the engine's weights on the thread's current device: make it ours.
        self.stream.context().bind_to_thread().map_err(cuda)?;
        // A cached plan that this library or GPU refuses (e.g. from another release) is rebuilt once.
        let key = self.key(request)?;
        let engine = match Engine::deserialize(library, &self.plan(request, &key, false)?) {
            Ok(engine) => engine,
            Err(_) if self.cache.is_some() => {
                Engine::deserialize(library, &self.plan(request, &key, true)?).map_err(tensorrt_error)?
            }
            Err(error) => return Err(tensorrt_error(error)),
        };
        // TensorRT-RTX compiles kernels for this GPU at load; they are kept beside the plan.
        let runtime_cache = match (&self.cache, self.library.flavor) {
            (Some(cache), Flavor::Rtx) => Some(RuntimeCacheFile {
                cache: cache.clone(),
                branch: request.name.to_string(),
                key: runtime_cache_key(&key, &self.gpu),
            }),
            _ => None,
        };
        let graphs = self.cuda_graphs.then_some(self.library.flavor);
        let runner = Runner::new(engine, self.stream.clone(), request, runtime_cache, graphs)?;
        Ok(Box::new(TensorRtNetwork { runner: Mutex::new(runner) }))
    }
}

/// A captured CUDA graph, movable between threads.
struct CapturedGraph(CudaGraph);

// SAFETY: a CUDA graph and its executable are driver objects, not tied to the thread that made
// them; launching binds the graph's context first. The runner holding it is used by one thread at
// a time (behind a mutex).
unsafe impl Send for CapturedGraph {}

/// Where a runner keeps TensorRT-RTX's runtime cache of its engine.
struct RuntimeCacheFile {
    cache: EngineCache,
    branch: String,
    key: String,
}

/// One engine with its context and buffers; used by one thread at a time.
struct Runner {
    /// TensorRT 10/11 with `cuda_graphs`: the network's launches for the current batch size,
    /// captured from `enqueueV3` (dropped first: it replays kernels of the context below).
    graph: Option<CapturedGraph>,
    capture_graphs: bool,
    /// The batch size of the last successful enqueue: a graph is only captured, and replayed,
    /// while the shape stays the same (TensorRT reconfigures a context when its shape changes,
    /// and asks for one plain enqueue after that before a capture).
    last_batch: Option<usize>,
    // Dropped in this order: the context before the engine it belongs to.
    context: Context,
    _engine: Engine,
    stream: Arc<CudaStream>,
    _activations: CudaSlice<u8>,
    input: CudaSlice<f32>,
    output: CudaSlice<f32>,
    input_name: String,
    output_name: String,
    sample_shape: Vec<usize>,
    sample_len: usize,
    output_len: usize,
    max_batch: usize,
    runtime_cache: Option<RuntimeCacheFile>,
    /// Batch sizes run so far: the first run of each may compile kernels (TensorRT-RTX), after
    /// which the runtime cache is stored again.
    batches_run: std::collections::HashSet<usize>,
}

impl Runner {
    fn new(
        engine: Engine,
        stream: Arc<CudaStream>,
        request: &NetworkRequest<'_>,
        runtime_cache: Option<RuntimeCacheFile>,
        graphs: Option<Flavor>,
    ) -> Result<Runner> {
        let tensors = engine.tensors();
        let (inputs, outputs): (Vec<_>, Vec<_>) = tensors.iter().partition(|t| t.is_input);
        let ([input], [output]) = (inputs.as_slice(), outputs.as_slice()) else {
            return Err(unsupported_engine(format!(
                "{}: {} inputs and {} outputs; one of each is supported",
                request.name,
                inputs.len(),
                outputs.len()
            )));
        };
        if !input.is_float || !output.is_float {
            return Err(unsupported_engine(format!("{}: inputs and outputs must be float32", request.name)));
        }
        let output_len = output.dims.iter().skip(1).map(|&d| usize::try_from(d).unwrap_or(0)).product::<usize>();
        if output_len == 0 {
            // A dynamic (-1) or empty dimension past the batch: the buffer cannot be sized.
            return Err(unsupported_engine(format!(
                "{}: output {} has shape {:?}; only the batch dimension may be dynamic",
                request.name, output.name, output.dims
            )));
        }
        let sample_len = request.sample_shape.iter().product::<usize>();
        let max_batch = request.max_batch.max(1);
        let activations = stream.alloc_zeros::<u8>(engine.device_memory_size().max(1)).map_err(cuda)?;
        let input_buffer = stream.alloc_zeros::<f32>(max_batch * sample_len).map_err(cuda)?;
        let output_buffer = stream.alloc_zeros::<f32>(max_batch * output_len).map_err(cuda)?;
        // A missing or damaged runtime cache only means compiling the kernels again.
        let seed =
            runtime_cache.as_ref().and_then(|file| file.cache.load_runtime(&file.branch, &file.key).ok().flatten());
        let rtx_graphs = graphs == Some(Flavor::Rtx);
        let mut context =
            engine.create_context(seed.as_deref().unwrap_or_default(), rtx_graphs).map_err(tensorrt_error)?;
        let (address, size) = (activations.device_ptr(&stream).0, engine.device_memory_size());
        // SAFETY: `activations` holds `size` bytes and lives as long as the context (same struct).
        unsafe { context.set_device_memory(address, size) };
        Ok(Runner {
            graph: None,
            capture_graphs: graphs == Some(Flavor::TensorRt),
            last_batch: None,
            input_name: input.name.clone(),
            output_name: output.name.clone(),
            context,
            _engine: engine,
            stream,
            _activations: activations,
            input: input_buffer,
            output: output_buffer,
            sample_shape: request.sample_shape.to_vec(),
            sample_len,
            output_len,
            max_batch,
            runtime_cache,
            batches_run: std::collections::HashSet::new(),
        })
    }

    /// Queues the network for `batch` samples (shape and addresses set): a plain `enqueueV3`, or,
    /// with graphs on TensorRT 10/11 and the same batch size as the last run, the captured graph
    /// (captured now if there is none yet).
    fn enqueue(&mut self, batch: usize) -> Result<()> {
        let stream = self.stream.cu_stream() as u64;
        let same_shape = self.last_batch.replace(batch) == Some(batch);
        if !self.capture_graphs || !same_shape {
            self.graph = None;
            // SAFETY: the shape and both tensor addresses are set (run_chunk); the stream is live.
            return unsafe { self.context.enqueue(stream) }.map_err(tensorrt_error);
        }
        if let Some(CapturedGraph(graph)) = &self.graph {
            return graph.launch().map_err(cuda);
        }
        use cudarc::driver::sys::{CUgraphInstantiate_flags, CUstreamCaptureMode};
        // Thread-local: other threads' CUDA calls are not caught up in this capture.
        self.stream.begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL).map_err(cuda)?;
        // SAFETY: as above; while capturing, the work is recorded, not run.
        let queued = unsafe { self.context.enqueue(stream) };
        // The capture must end whatever happened, or the stream stays unusable.
        let captured = self.stream.end_capture(CUgraphInstantiate_flags(0));
        queued.map_err(tensorrt_error)?;
        let graph = captured.map_err(cuda)?.ok_or_else(|| tensorrt_error(GpuError::Cuda("CUDA captured an empty graph".into())))?;
        graph.launch().map_err(cuda)?;
        self.graph = Some(CapturedGraph(graph));
        Ok(())
    }

    /// Stores TensorRT-RTX's runtime cache after the first run of a batch size (which may have
    /// compiled kernels). A cache that cannot be written costs a compile next time, not this run.
    fn keep_compiled_kernels(&mut self, batch: usize) {
        if !self.batches_run.insert(batch) {
            return;
        }
        if let Some(file) = &self.runtime_cache {
            if let Ok(blob) = self.context.runtime_cache() {
                if !blob.is_empty() {
                    let _ = file.cache.store_runtime(&file.branch, &file.key, &blob);
                }
            }
        }
    }

    /// Runs `batch <= max_batch` samples; returns their outputs.
    fn run_chunk(&mut self, batch: usize, input: &[f32]) -> Result<Vec<f32>> {
        // Any thread may run a network; TensorRT works in the thread's current context.
        self.stream.context().bind_to_thread().map_err(cuda)?;
        let mut destination = self.input.slice_mut(0..input.len());
        self.stream.memcpy_htod(input, &mut destination).map_err(cuda)?;
        let shape: Vec<usize> = std::iter::once(batch).chain(self.sample_shape.iter().copied()).collect();
        self.context.set_input_shape(&self.input_name, &shape).map_err(tensorrt_error)?;
        let input_address = self.input.device_ptr(&self.stream).0;
        let output_address = self.output.device_ptr(&self.stream).0;
        // SAFETY: both buffers hold `max_batch` samples (>= batch) and live as long as `self`;
        // the stream is the one the buffers were allocated on, alive through `self.stream`.
        unsafe {
            self.context.set_tensor_address(&self.input_name, input_address).map_err(tensorrt_error)?;
            self.context.set_tensor_address(&self.output_name, output_address).map_err(tensorrt_error)?;
        }
        let queued = self.enqueue(batch);
        if queued.is_err() {
            // The context's state is unknown: the next run starts over with a plain enqueue.
            (self.graph, self.last_batch) = (None, None);
        }
        queued?;
        let output = self.stream.clone_dtoh(&self.output.slice(0..batch * self.output_len)).map_err(cuda)?;
        self.stream.synchronize().map_err(cuda)?;
        self.keep_compiled_kernels(batch);
        Ok(output)
    }
}

struct TensorRtNetwork {
    runner: Mutex<Runner>,
}

impl Network for TensorRtNetwork {
    fn run(&self, batch: usize, input: &[f32]) -> Result<Tensor> {
        let mut runner = self.runner.lock().map_err(|_| Error::Backend("tensorrt: a previous run panicked".into()))?;
        if input.len() != batch * runner.sample_len {
            return Err(Error::invalid(format!(
                "{} floats for a batch of {batch} samples of {}",
                input.len(),
                runner.sample_len
            )));
        }
        let mut data = Vec::with_capacity(batch * runner.output_len);
        let chunk = runner.max_batch;
        for (i, samples) in input.chunks(chunk * runner.sample_len).enumerate() {
            let count = (batch - i * chunk).min(chunk);
            data.extend(runner.run_chunk(count, samples)?);
        }
        let output_len = runner.output_len;
        Ok(Tensor { shape: vec![batch, output_len], data })
    }
}
