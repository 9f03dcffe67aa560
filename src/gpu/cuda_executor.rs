//! The preprocessing kernels on a GPU through cudarc: NVRTC compiles kernels/preprocess.cu for the
//! device's architecture, the module is loaded into the context of the stream given (the
//! caller's own stream, wrapped without being owned, or one vsrqa creates), and every buffer and
//! launch goes to that stream, so work is ordered with the caller's and nothing touches the
//! legacy default stream.
//!
//! NVRTC is loaded at run time like the driver: `VSRQA_NVRTC_LIBRARY` names the library file
//! (e.g. from `bash scripts/nvrtc-lib.sh`), else `libnvrtc.so.13` (and the other names cudarc
//! tries) is looked up by the loader.

use std::sync::Arc;

use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr, DeviceRepr, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::{CompileOptions, Ptx};

use super::kernels::{self, Kernel, KernelExecutor, BLOCK_THREADS, NVRTC_OPTIONS, PREPROCESS_SOURCE};
use crate::backend::GpuError;

/// The environment variable naming the NVRTC library file.
pub const NVRTC_LIBRARY_VARIABLE: &str = "VSRQA_NVRTC_LIBRARY";

/// A kernel's parameter struct as cudarc passes it: the driver copies as many bytes as the
/// kernel's parameter takes from this buffer's start (8-aligned, as the structs' u64 fields).
#[repr(C, align(8))]
struct ParamBytes([u8; PARAM_BYTES]);

/// Larger than every parameter struct (the largest is 80 bytes).
const PARAM_BYTES: usize = 128;

// SAFETY: plain bytes holding a kernel's `#[repr(C)]` parameter struct (KernelParams' contract);
// the addresses inside are device addresses.
unsafe impl DeviceRepr for ParamBytes {}

/// Loads NVRTC once: from `VSRQA_NVRTC_LIBRARY` when set (with the `libnvrtc-builtins` beside
/// it, which NVRTC opens by name), else by the loader's search. `Err` says why it cannot compile.
fn load_nvrtc() -> Result<(), GpuError> {
    static LOADED: std::sync::OnceLock<Result<(), GpuError>> = std::sync::OnceLock::new();
    LOADED
        .get_or_init(|| {
            crate::backend::shared_libraries::check_loadable("NVRTC").map_err(GpuError::Unavailable)?;
            if let Some(path) = std::env::var_os(NVRTC_LIBRARY_VARIABLE).filter(|p| !p.is_empty()) {
                let path = std::path::PathBuf::from(path);
                let mut files = vec![path.clone()];
                if let Some(dir) = path.parent() {
                    // The builtins first: NVRTC's own dlopen of them by name then finds them loaded.
                    let mut builtins: Vec<_> = std::fs::read_dir(dir)
                        .map_err(|e| {
                            GpuError::Unavailable(format!("{NVRTC_LIBRARY_VARIABLE}={}: {e}", path.display()))
                        })?
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| {
                            let name = p.file_name().unwrap_or_default().to_string_lossy();
                            name.starts_with("libnvrtc-builtins.so") && !name.contains(".alt.")
                        })
                        .collect();
                    builtins.sort();
                    files.splice(0..0, builtins);
                }
                for file in files {
                    // SAFETY: NVIDIA's NVRTC libraries; their initializers only set up NVRTC.
                    let library = unsafe {
                        libloading::os::unix::Library::open(
                            Some(&file),
                            libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL,
                        )
                    }
                    .map_err(|e| {
                        GpuError::Unavailable(format!("{NVRTC_LIBRARY_VARIABLE}: cannot load {}: {e}", file.display()))
                    })?;
                    // Kept for the process's life: cudarc finds it by name from now on.
                    std::mem::forget(library);
                }
            }
            // SAFETY: only tries to open the library.
            if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
                Ok(())
            } else {
                Err(GpuError::Unavailable(format!(
                    "NVRTC (libnvrtc.so.13) was not found: set {NVRTC_LIBRARY_VARIABLE} to its path \
                     (bash scripts/nvrtc-lib.sh fetches it) or install the CUDA toolkit's NVRTC"
                )))
            }
        })
        .clone()
}

/// The preprocessing kernels compiled to PTX for `compute_XY` (`None`: NVRTC's default). Needs
/// NVRTC, not a GPU.
pub fn compile_preprocess_kernels(compute_capability: Option<(i32, i32)>) -> Result<Ptx, GpuError> {
    load_nvrtc()?;
    let mut options: Vec<String> = NVRTC_OPTIONS.iter().map(|o| o.to_string()).collect();
    if let Some((major, minor)) = compute_capability {
        options.push(format!("--gpu-architecture=compute_{major}{minor}"));
    }
    let opts = CompileOptions { options, name: Some("preprocess.cu".into()), ..Default::default() };
    // cudarc panics on some NVRTC failures (e.g. a program log it cannot read); never let that
    // unwind into a host application.
    std::panic::catch_unwind(|| cudarc::nvrtc::compile_ptx_with_opts(PREPROCESS_SOURCE, opts))
        .map_err(|_| GpuError::Cuda("NVRTC failed (panic in cudarc)".into()))?
        .map_err(|e| GpuError::Cuda(format!("NVRTC cannot compile the preprocessing kernels: {e}")))
}

/// A failed CUDA driver call, in the driver's words.
fn cuda_error(error: cudarc::driver::DriverError) -> GpuError {
    GpuError::Cuda(format!("CUDA: {error}"))
}

/// Runs the preprocessing kernels on one CUDA stream.
pub struct CudaExecutor {
    stream: Arc<CudaStream>,
    _module: Arc<CudaModule>,
    functions: Vec<(Kernel, CudaFunction)>,
    buffers: Vec<CudaSlice<u8>>,
}

impl CudaExecutor {
    /// Compiles and loads the kernels for `stream`'s device. The stream may be the caller's
    /// (`CudaContext::wrap_borrowed_stream`).
    pub fn new(stream: Arc<CudaStream>) -> Result<CudaExecutor, GpuError> {
        let context: &Arc<CudaContext> = stream.context();
        let capability = context.compute_capability().map_err(cuda_error)?;
        let ptx = compile_preprocess_kernels(Some(capability))?;
        let module = context
            .load_module(ptx)
            .map_err(|e| GpuError::Cuda(format!("CUDA cannot load the preprocessing kernels: {e}")))?;
        let functions = Kernel::ALL
            .iter()
            .map(|&kernel| {
                module
                    .load_function(kernel.name())
                    .map(|f| (kernel, f))
                    .map_err(|e| GpuError::Cuda(format!("{}: {e}", kernel.name())))
            })
            .collect::<Result<_, _>>()?;
        Ok(CudaExecutor { stream, _module: module, functions, buffers: Vec::new() })
    }

    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The device address of one of this executor's buffers.
    fn address(&self, buffer: &CudaSlice<u8>) -> u64 {
        let (address, _sync) = buffer.device_ptr(&self.stream);
        address
    }
}

impl KernelExecutor for CudaExecutor {
    fn alloc(&mut self, bytes: usize) -> Result<u64, GpuError> {
        // SAFETY: every buffer is written by a kernel before it is read (the plans' contract).
        let buffer = unsafe { self.stream.alloc::<u8>(bytes.max(1)) }.map_err(cuda_error)?;
        let address = self.address(&buffer);
        self.buffers.push(buffer);
        Ok(address)
    }

    fn upload(&mut self, bytes: &[u8]) -> Result<u64, GpuError> {
        let buffer = self.stream.clone_htod(bytes).map_err(cuda_error)?;
        let address = self.address(&buffer);
        self.buffers.push(buffer);
        Ok(address)
    }

    /// Copies from one of this executor's buffers or from the caller's device memory (a frame):
    /// any device address of this context, after the work queued on the stream.
    fn download(&mut self, address: u64, bytes: usize) -> Result<Vec<u8>, GpuError> {
        let mut host = vec![0u8; bytes];
        // SAFETY: `address` is device memory of this context holding `bytes` bytes (callers pass
        // addresses of their own buffers or of a validated frame); the copy is ordered on the
        // stream and waited for before `host` is used.
        unsafe {
            self.stream.context().bind_to_thread().map_err(cuda_error)?;
            cudarc::driver::result::memcpy_dtoh_async(&mut host, address, self.stream.cu_stream())
                .map_err(cuda_error)?;
        }
        self.stream.synchronize().map_err(cuda_error)?;
        Ok(host)
    }

    fn launch_raw(&mut self, kernel: Kernel, threads: u64, params: &[u8]) -> Result<(), GpuError> {
        let function = &self.functions.iter().find(|(k, _)| *k == kernel).expect("every kernel is loaded").1;
        let config = LaunchConfig {
            grid_dim: (kernels::blocks(threads)?, 1, 1),
            block_dim: (BLOCK_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut param = ParamBytes([0; PARAM_BYTES]);
        param
            .0
            .get_mut(..params.len())
            .ok_or_else(|| GpuError::Unsupported("kernel parameters too large".into()))?
            .copy_from_slice(params);
        let mut launch = self.stream.launch_builder(function);
        launch.arg(&param);
        // SAFETY: the buffer starts with the kernel's parameter struct; its addresses are live
        // device buffers of the sizes the plan computed, and the kernel checks its index.
        unsafe { launch.launch(config) }
            .map(|_| ())
            .map_err(|e| GpuError::Cuda(format!("CUDA launch of {}: {e}", kernel.name())))
    }
}
