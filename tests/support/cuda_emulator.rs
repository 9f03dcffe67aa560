//! The GPU preprocessing kernels compiled for the CPU (tests/support/cuda_emulation.cpp) as a
//! `KernelExecutor`: what a CUDA stream does, one thread at a time. Host pointers play the part
//! of device pointers.
// Shared by several test binaries, each of which uses a part.
#![allow(dead_code)]

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vsrqa::backend::GpuError;
use vsrqa::gpu::kernels::{blocks, Kernel, KernelExecutor, KernelExecutorFactory, BLOCK_THREADS};

/// The kernels built for the CPU, once per test binary.
fn emulation_library() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vsrqa-cuda-emulation-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let library = dir.join("libvsrqa_cuda_emulation.so");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/cuda_emulation.cpp");
        let compiler = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
        let output = std::process::Command::new(&compiler)
            .args(["-std=c++17", "-O2", "-ffp-contract=off", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&library)
            .arg(&source)
            .output()
            .unwrap_or_else(|e| panic!("cannot run the C++ compiler {compiler}: {e}"));
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        library
    })
}

/// Runs kernels on host memory: what a CUDA stream does, one thread at a time.
pub struct Emulator {
    library: libloading::Library,
    /// Boxed so that addresses stay put while more buffers are added.
    buffers: Vec<Box<[u8]>>,
}

impl Emulator {
    pub fn new() -> Emulator {
        // SAFETY: the library is ours, built above; it has no initializers with side effects.
        let library = unsafe { libloading::Library::new(emulation_library()) }.unwrap();
        Emulator { library, buffers: Vec::new() }
    }

    pub fn read(&self, address: u64, bytes: usize) -> Vec<u8> {
        let buffer = self
            .buffers
            .iter()
            .find(|b| {
                let start = b.as_ptr() as u64;
                address >= start && address + bytes as u64 <= start + b.len() as u64
            })
            .expect("an address inside a buffer of this executor");
        let offset = (address - buffer.as_ptr() as u64) as usize;
        buffer[offset..offset + bytes].to_vec()
    }

    /// The C compiler's `sizeof` of `kernel`'s parameter struct.
    pub fn c_sizeof(&self, kernel: &str) -> usize {
        // SAFETY: `size_t f(void)` functions defined by EMULATE.
        unsafe {
            let size: libloading::Symbol<unsafe extern "C" fn() -> usize> =
                self.library.get(format!("vsrqa_sizeof_{kernel}").as_bytes()).unwrap();
            size()
        }
    }

    /// The factory an engine takes (`EngineOptions::device_frames`): each call a new emulator.
    pub fn factory() -> KernelExecutorFactory {
        std::sync::Arc::new(|| Ok(Box::new(Emulator::new()) as Box<dyn KernelExecutor>))
    }
}

impl KernelExecutor for Emulator {
    fn alloc(&mut self, bytes: usize) -> Result<u64, GpuError> {
        // Not zeroed: a kernel that leaves an output byte unwritten shows up as 0xA5.
        self.buffers.push(vec![0xA5; bytes.max(1)].into_boxed_slice());
        Ok(self.buffers.last().unwrap().as_ptr() as u64)
    }

    fn upload(&mut self, bytes: &[u8]) -> Result<u64, GpuError> {
        let address = self.alloc(bytes.len())?;
        self.buffers.last_mut().unwrap()[..bytes.len()].copy_from_slice(bytes);
        Ok(address)
    }

    fn download(&mut self, address: u64, bytes: usize) -> Result<Vec<u8>, GpuError> {
        Ok(self.read(address, bytes))
    }

    fn launch_raw(&mut self, kernel: Kernel, threads: u64, params: &[u8]) -> Result<(), GpuError> {
        let name = format!("vsrqa_emulate_{}", kernel.name());
        // The struct's bytes, copied to 8-aligned memory as the C function reads a struct there.
        let mut aligned = vec![0u64; params.len().div_ceil(8)];
        // SAFETY: `aligned` holds at least `params.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(params.as_ptr(), aligned.as_mut_ptr().cast::<u8>(), params.len()) };
        // SAFETY: the symbol has this signature (EMULATE in cuda_emulation.cpp); the bytes are the
        // kernel's struct (sizes checked by `parameter_structs_*`), whose addresses point into
        // live host memory (this executor's buffers or the test's frames).
        unsafe {
            let launch: libloading::Symbol<unsafe extern "C" fn(*const c_void, u32, u32)> =
                self.library.get(name.as_bytes()).map_err(|e| GpuError::Cuda(e.to_string()))?;
            launch(aligned.as_ptr().cast(), blocks(threads)?, BLOCK_THREADS);
        }
        Ok(())
    }
}
