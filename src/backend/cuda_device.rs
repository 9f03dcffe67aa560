//! The NVIDIA GPUs of this host, through the CUDA driver API (cudarc, loaded at run time so that
//! vsrqa builds and runs where there is no driver).

use super::GpuError;

/// One CUDA device, as an engine cache key and `vsrqa info` describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuInfo {
    pub ordinal: i32,
    pub name: String,
    /// (major, minor), e.g. (9, 0) for an H100.
    pub compute_capability: (i32, i32),
    pub multiprocessors: i32,
    pub memory_bytes: u64,
}

impl GpuInfo {
    pub fn describe(&self) -> String {
        format!(
            "{}: {} (compute capability {}.{}, {} SMs, {:.1} GiB)",
            self.ordinal,
            self.name,
            self.compute_capability.0,
            self.compute_capability.1,
            self.multiprocessors,
            self.memory_bytes as f64 / f64::from(1u32 << 30)
        )
    }
}

/// The driver's devices, or why there are none to use. Probed once per process (the driver's
/// answer does not change, and `cuInit` is not free).
pub fn devices() -> Result<Vec<GpuInfo>, GpuError> {
    static DEVICES: std::sync::OnceLock<Result<Vec<GpuInfo>, GpuError>> = std::sync::OnceLock::new();
    DEVICES.get_or_init(probe).clone()
}

/// The device with CUDA ordinal `ordinal`, or why there is none.
pub fn find(ordinal: usize) -> Result<GpuInfo, GpuError> {
    let devices = devices()?;
    devices.iter().find(|d| usize::try_from(d.ordinal) == Ok(ordinal)).cloned().ok_or_else(|| {
        GpuError::Unavailable(format!("no CUDA device {ordinal} (the driver reports {})", devices.len()))
    })
}

#[cfg(feature = "cuda")]
fn probe() -> Result<Vec<GpuInfo>, GpuError> {
    use cudarc::driver::{result, sys};

    super::shared_libraries::check_loadable("the NVIDIA driver (libcuda.so.1)").map_err(GpuError::Unavailable)?;
    // SAFETY: only tries to open the driver library.
    if !unsafe { sys::is_culib_present() } {
        return Err(GpuError::Unavailable("no NVIDIA driver (libcuda.so.1 cannot be loaded)".into()));
    }
    // cudarc panics when a symbol is missing from an old driver; a probe must not.
    std::panic::catch_unwind(|| -> Result<Vec<GpuInfo>, GpuError> {
        // A driver that cannot even list its devices leaves the GPU path unusable on this host.
        let driver_error = |what: &str, e: result::DriverError| {
            GpuError::Unavailable(format!("the NVIDIA driver failed to {what}: {e}"))
        };
        result::init().map_err(|e| driver_error("initialize", e))?;
        let count = result::device::get_count().map_err(|e| driver_error("count devices", e))?;
        (0..count)
            .map(|ordinal| {
                let device = result::device::get(ordinal).map_err(|e| driver_error("open a device", e))?;
                // SAFETY: `device` came from `device::get`.
                let attribute = |attribute| unsafe { result::device::get_attribute(device, attribute) };
                let query = || -> Result<GpuInfo, result::DriverError> {
                    use sys::CUdevice_attribute::*;
                    Ok(GpuInfo {
                        ordinal,
                        name: result::device::get_name(device)?,
                        compute_capability: (
                            attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
                            attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?,
                        ),
                        multiprocessors: attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?,
                        // SAFETY: as above.
                        memory_bytes: unsafe { result::device::total_mem(device) }? as u64,
                    })
                };
                query().map_err(|e| driver_error("describe a device", e))
            })
            .collect()
    })
    .unwrap_or_else(|_| {
        Err(GpuError::Unavailable(
            "the NVIDIA driver is too old for this build (a driver API entry point is missing)".into(),
        ))
    })
}

#[cfg(not(feature = "cuda"))]
fn probe() -> Result<Vec<GpuInfo>, GpuError> {
    Err(GpuError::Unavailable("this build of vsrqa has no CUDA support (built without the `cuda` feature)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_a_device_for_humans() {
        let gpu = GpuInfo {
            ordinal: 0,
            name: "NVIDIA H100 80GB HBM3".into(),
            compute_capability: (9, 0),
            multiprocessors: 132,
            memory_bytes: 85_520_809_984,
        };
        assert_eq!(gpu.describe(), "0: NVIDIA H100 80GB HBM3 (compute capability 9.0, 132 SMs, 79.6 GiB)");
    }
}
