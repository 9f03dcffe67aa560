//! The preprocessing kernels (kernels/preprocess.cu, compiled at run time by NVRTC) as Rust sees
//! them: the source, one `#[repr(C)]` parameter struct per kernel (the same layout as the C
//! struct, checked by the emulated tests), and [`KernelExecutor`], what runs them. The CUDA
//! executor (`cuda_executor.rs`) runs them on a GPU; the test suite runs the same source compiled
//! for the CPU (tests/gpu_kernels_emulated.rs) to check it against the CPU path where there is no
//! GPU.

use crate::backend::GpuError;

/// The CUDA C source of every preprocessing kernel.
pub const PREPROCESS_SOURCE: &str = include_str!("kernels/preprocess.cu");

/// NVRTC options the kernels need for the CPU path's results: no fused multiply-adds, IEEE
/// division, no flush to zero.
pub const NVRTC_OPTIONS: [&str; 4] = ["--fmad=false", "--prec-div=true", "--ftz=false", "--std=c++17"];

/// Kernel names, as the source's `extern "C"` functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    ConvertToRgb8,
    ResizeOpencvLinear,
    ResizePilPass,
    RemapRgb8,
    NormalizeChw,
}

impl Kernel {
    pub const ALL: [Kernel; 5] = [
        Kernel::ConvertToRgb8,
        Kernel::ResizeOpencvLinear,
        Kernel::ResizePilPass,
        Kernel::RemapRgb8,
        Kernel::NormalizeChw,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::ConvertToRgb8 => "convert_to_rgb8",
            Kernel::ResizeOpencvLinear => "resize_opencv_linear",
            Kernel::ResizePilPass => "resize_pil_pass",
            Kernel::RemapRgb8 => "remap_rgb8",
            Kernel::NormalizeChw => "normalize_chw",
        }
    }
}

/// A kernel's parameter struct: `#[repr(C)]`, plain data (device addresses as `u64`), passed by
/// value as the kernel's one argument.
///
/// # Safety
/// Implementors must be `#[repr(C)]` with exactly the layout of the struct of the same name in
/// kernels/preprocess.cu, and without implicit padding (every byte is a field), so that
/// [`params_bytes`] reads initialized memory only.
pub unsafe trait KernelParams: Copy + Send + Sync + 'static {
    const KERNEL: Kernel;
}

/// The bytes of a kernel's parameter struct, as the kernel receives them.
pub fn params_bytes<P: KernelParams>(params: &P) -> &[u8] {
    // SAFETY: `P` is plain data without padding (KernelParams' contract); the slice borrows it.
    unsafe { std::slice::from_raw_parts((params as *const P).cast::<u8>(), size_of::<P>()) }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ConvertParams {
    pub planes: [u64; 3],
    pub pitches: [u64; 3],
    pub tables: u64,
    pub out: u64,
    pub format: u32,
    pub width: u32,
    pub height: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OpencvLinearParams {
    pub input: u64,
    pub out: u64,
    pub columns: u64,
    pub rows: u64,
    pub in_width: u32,
    pub width: u32,
    pub height: u32,
    pub half_by_area: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PilPassParams {
    pub input: u64,
    pub out: u64,
    pub first: u64,
    pub count: u64,
    pub weights: u64,
    pub in_width: u32,
    pub width: u32,
    pub height: u32,
    pub ksize: u32,
    pub vertical: u32,
    pub row_offset: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RemapParams {
    pub input: u64,
    pub out: u64,
    pub rows: u64,
    pub columns: u64,
    pub in_width: u32,
    pub width: u32,
    pub height: u32,
    pub fill: [u8; 3],
    pub pad: u8,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NormalizeParams {
    pub input: u64,
    pub out: u64,
    pub width: u32,
    pub height: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub range: f32,
    pub pad: u32,
}

// SAFETY: each struct above mirrors its C struct field for field (sizes 80, 48, 64, 48, 56 bytes,
// checked by tests/gpu_kernels_emulated.rs against the C compiler's sizeof).
unsafe impl KernelParams for ConvertParams {
    const KERNEL: Kernel = Kernel::ConvertToRgb8;
}
unsafe impl KernelParams for OpencvLinearParams {
    const KERNEL: Kernel = Kernel::ResizeOpencvLinear;
}
unsafe impl KernelParams for PilPassParams {
    const KERNEL: Kernel = Kernel::ResizePilPass;
}
unsafe impl KernelParams for RemapParams {
    const KERNEL: Kernel = Kernel::RemapRgb8;
}
unsafe impl KernelParams for NormalizeParams {
    const KERNEL: Kernel = Kernel::NormalizeChw;
}

/// Threads per block of every launch (the kernels are one thread per output element).
pub const BLOCK_THREADS: u32 = 256;

/// Runs kernels on buffers it owns: a GPU stream (cuda_executor.rs) or the CPU emulation of the
/// tests. Addresses are device addresses (`CUdeviceptr`) for a GPU. Work is ordered: a download
/// sees every launch before it.
pub trait KernelExecutor: Send {
    /// A new buffer of `bytes` (contents unspecified); its address stays valid while the
    /// executor lives.
    fn alloc(&mut self, bytes: usize) -> Result<u64, GpuError>;
    /// A new buffer holding `bytes`.
    fn upload(&mut self, bytes: &[u8]) -> Result<u64, GpuError>;
    /// `bytes` bytes at `address` (memory of this executor's device), after the work queued.
    fn download(&mut self, address: u64, bytes: usize) -> Result<Vec<u8>, GpuError>;
    /// Runs `kernel` over `threads` threads (in blocks of [`BLOCK_THREADS`]) with its parameter
    /// struct's bytes ([`params_bytes`]).
    fn launch_raw(&mut self, kernel: Kernel, threads: u64, params: &[u8]) -> Result<(), GpuError>;
}

/// Runs `P::KERNEL` on `executor` over `threads` threads with `params`.
pub fn launch<P: KernelParams>(executor: &mut dyn KernelExecutor, threads: u64, params: &P) -> Result<(), GpuError> {
    executor.launch_raw(P::KERNEL, threads, params_bytes(params))
}

/// Makes the executor for an engine's frames in device memory (`EngineOptions::device_frames`).
pub type KernelExecutorFactory = std::sync::Arc<dyn Fn() -> Result<Box<dyn KernelExecutor>, GpuError> + Send + Sync>;

/// Blocks for `threads` threads.
pub fn blocks(threads: u64) -> Result<u32, GpuError> {
    u32::try_from(threads.div_ceil(u64::from(BLOCK_THREADS)))
        .map_err(|_| GpuError::Unsupported(format!("{threads} threads are more than one kernel launch takes")))
}

/// The tables' bytes for [`KernelExecutor::upload`] (little-endian, as CUDA devices are).
pub fn i32_bytes(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::PREPROCESS_SOURCE;
    use crate::frame::format::DESCRIPTORS;

    /// The conversion kernel's `FORMAT_*` defines are the pixel-format table's codes: one define
    /// per format, with its code, and no other.
    #[test]
    fn the_kernels_format_defines_are_the_format_tables_codes() {
        let defines: Vec<(&str, u32)> = PREPROCESS_SOURCE
            .lines()
            .filter_map(|line| line.strip_prefix("#define FORMAT_"))
            .map(|rest| {
                let (name, value) = rest.split_once(' ').expect("#define FORMAT_<NAME> <code>");
                (name, value.trim().parse().expect("a decimal code"))
            })
            .collect();
        let table: Vec<(&str, u32)> = DESCRIPTORS.iter().map(|d| (d.abi_name, d.code)).collect();
        assert_eq!(defines, table, "kernels/preprocess.cu's FORMAT_* defines against src/frame/format.rs");
    }
}
