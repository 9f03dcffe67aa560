//! Running a TensorRT plan through the C++ facade in tensorrt_runtime_facade.cpp (a `cxx` bridge):
//! deserialize once, then per call set the input shape and every tensor's address and enqueue on
//! a stream. The activation memory is the caller's (`kUSER_MANAGED`), so vsrqa sizes and owns
//! every byte the engine uses on the GPU.

use std::path::Path;

use super::GpuError;

#[cxx::bridge(namespace = "vsrqa::trt")]
mod ffi {
    /// One input or output of an engine.
    struct TensorInfo {
        name: String,
        is_input: bool,
        is_float: bool,
        /// -1 where the dimension is dynamic (the batch).
        dims: Vec<i64>,
    }

    unsafe extern "C++" {
        include!("vsrqa/src/backend/tensorrt/facade/runtime_facade.h");

        type Engine;
        type Context;

        fn deserialize_engine(library: &str, plan: &[u8]) -> Result<UniquePtr<Engine>>;
        fn tensors(self: &Engine) -> Vec<TensorInfo>;
        fn device_memory_size(self: &Engine) -> i64;
        fn create_context(engine: &Engine, runtime_cache: &[u8], cuda_graphs: bool) -> Result<UniquePtr<Context>>;
        fn runtime_cache(self: &Context) -> Result<Vec<u8>>;
        fn set_device_memory(self: Pin<&mut Context>, address: u64, size: i64);
        fn set_input_shape(self: Pin<&mut Context>, name: &str, dims: &[i64]) -> Result<()>;
        fn set_tensor_address(self: Pin<&mut Context>, name: &str, address: u64) -> Result<()>;
        fn enqueue(self: Pin<&mut Context>, stream: u64) -> Result<()>;
    }
}

pub use ffi::TensorInfo;

/// A deserialized engine. TensorRT engines may be shared between threads; contexts may not.
pub struct Engine(cxx::UniquePtr<ffi::Engine>);

/// A C++ exception from the facade: TensorRT's own message.
fn tensorrt_error(exception: cxx::Exception) -> GpuError {
    GpuError::TensorRt(exception.what().to_string())
}

// SAFETY: ICudaEngine's const methods and createExecutionContext are thread-safe (TensorRT's
// threading rules); the logger is only written while the engine is created and by contexts,
// which `Context` keeps to one thread at a time.
unsafe impl Send for Engine {}
unsafe impl Sync for Engine {}

/// An execution context of an [`Engine`], to be used by one thread at a time.
pub struct Context(cxx::UniquePtr<ffi::Context>);

// SAFETY: a context may move between threads; `&mut self` methods keep it to one at a time.
unsafe impl Send for Context {}

impl Engine {
    /// Deserializes `plan` with the TensorRT library at `library`. Needs a GPU and its driver.
    pub fn deserialize(library: &Path, plan: &[u8]) -> Result<Engine, GpuError> {
        let path = library
            .to_str()
            .ok_or_else(|| GpuError::Unavailable(format!("{}: not a UTF-8 path", library.display())))?;
        ffi::deserialize_engine(path, plan).map(Engine).map_err(tensorrt_error)
    }

    pub fn tensors(&self) -> Vec<TensorInfo> {
        self.0.tensors()
    }

    /// Bytes of activation memory a context needs (for the profile's largest shapes).
    pub fn device_memory_size(&self) -> usize {
        usize::try_from(self.0.device_memory_size()).unwrap_or(0)
    }

    /// A context whose activation memory must be set with [`Context::set_device_memory`]. The
    /// context borrows the engine on the C++ side: keep the engine alive (and unmoved in its box)
    /// as long as the context. `runtime_cache`: TensorRT-RTX's compiled kernels from an earlier
    /// [`Context::runtime_cache`] (empty: none); a blob it refuses is as good as none.
    /// `cuda_graphs`: TensorRT-RTX captures and replays CUDA graphs itself (ignored by TensorRT
    /// 10/11, whose callers capture `enqueue`).
    pub fn create_context(&self, runtime_cache: &[u8], cuda_graphs: bool) -> Result<Context, GpuError> {
        ffi::create_context(&self.0, runtime_cache, cuda_graphs).map(Context).map_err(tensorrt_error)
    }
}

impl Context {
    /// TensorRT-RTX's kernels compiled so far, to seed the next context with (empty on TensorRT
    /// 10/11, whose plans hold their kernels).
    pub fn runtime_cache(&self) -> Result<Vec<u8>, GpuError> {
        self.0.runtime_cache().map_err(tensorrt_error)
    }

    /// # Safety
    /// `address` must point to `size` bytes of device memory that outlive every enqueue.
    pub unsafe fn set_device_memory(&mut self, address: u64, size: usize) {
        self.0.pin_mut().set_device_memory(address, i64::try_from(size).unwrap_or(i64::MAX));
    }

    pub fn set_input_shape(&mut self, name: &str, dims: &[usize]) -> Result<(), GpuError> {
        let dims: Vec<i64> = dims.iter().map(|&d| i64::try_from(d).unwrap_or(i64::MAX)).collect();
        self.0.pin_mut().set_input_shape(name, &dims).map_err(tensorrt_error)
    }

    /// # Safety
    /// `address` must point to device memory large enough for the tensor at the shapes set.
    pub unsafe fn set_tensor_address(&mut self, name: &str, address: u64) -> Result<(), GpuError> {
        self.0.pin_mut().set_tensor_address(name, address).map_err(tensorrt_error)
    }

    /// # Safety
    /// `stream` must be a live CUstream of the context the memory above belongs to.
    pub unsafe fn enqueue(&mut self, stream: u64) -> Result<(), GpuError> {
        self.0.pin_mut().enqueue(stream).map_err(tensorrt_error)
    }
}
