//! Finding a TensorRT library at run time: TensorRT-RTX (`libtensorrt_rtx.so.1`) or TensorRT 10/11
//! (`libnvinfer.so.10/.11`). Nothing is linked at build time: the library is opened with the
//! system's loader, its version read from the C entry points every release exports
//! (`getInferLibMajorVersion` and friends), and refused clearly when it is not one vsrqa supports.

use std::ffi::{c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The environment variable naming the library file to use instead of the default search.
pub const LIBRARY_ENV: &str = "VSRQA_TENSORRT_LIBRARY";

/// Library names tried in order when `VSRQA_TENSORRT_LIBRARY` is not set and this build has no
/// TensorRT facade (which searches only for the library its headers describe); the system's loader
/// searches them (`LD_LIBRARY_PATH`, the loader cache).
pub const DEFAULT_NAMES: [&str; 3] = ["libtensorrt_rtx.so.1", "libnvinfer.so.11", "libnvinfer.so.10"];

/// The names [`probe`] asks the loader for: the library this build's facade can drive, else any.
pub fn search_names() -> Vec<String> {
    match super::tensorrt_headers::compiled() {
        Some(headers) => headers.library_names(),
        None => DEFAULT_NAMES.map(String::from).to_vec(),
    }
}

/// Which TensorRT: their APIs differ (enum values, removed precision flags; TENSORRT.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// TensorRT-RTX: ahead-of-time builds without a GPU, kernels compiled for the GPU at load.
    Rtx,
    /// TensorRT 10 or 11.
    TensorRt,
}

/// A loaded TensorRT library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorRtLibrary {
    /// The file the loader opened.
    pub path: PathBuf,
    pub flavor: Flavor,
    /// (major, minor, patch).
    pub version: (i32, i32, i32),
}

impl TensorRtLibrary {
    pub fn describe(&self) -> String {
        describe_release(self.flavor, self.version)
    }
}

/// "TensorRT-RTX 1.7.1", "TensorRT 11.4.0".
pub fn describe_release(flavor: Flavor, (major, minor, patch): (i32, i32, i32)) -> String {
    format!("{} {major}.{minor}.{patch}", flavor.name())
}

impl Flavor {
    /// "TensorRT-RTX" or "TensorRT".
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Rtx => "TensorRT-RTX",
            Flavor::TensorRt => "TensorRT",
        }
    }
}

/// The library this process uses (`VSRQA_TENSORRT_LIBRARY`, else [`search_names`]), or why
/// there is none. Probed once per process; the library stays loaded.
pub fn probe() -> Result<TensorRtLibrary, String> {
    static LOADED: OnceLock<Result<TensorRtLibrary, String>> = OnceLock::new();
    LOADED
        .get_or_init(|| match std::env::var_os(LIBRARY_ENV).filter(|v| !v.is_empty()) {
            Some(path) => open(Path::new(&path)).map_err(|e| format!("{LIBRARY_ENV}: {e}")),
            None => search_default_names(),
        })
        .clone()
}

/// The first of [`search_names`] that opens as a supported TensorRT. A library that is found but
/// refused (an unsupported release) is reported as such, not as "not found".
fn search_default_names() -> Result<TensorRtLibrary, String> {
    let mut refused = Vec::new();
    let names = search_names();
    for name in &names {
        match open(Path::new(name)) {
            Ok(library) => return Ok(library),
            Err(OpenError::CannotOpen(_)) => {}
            Err(OpenError::Refused(reason)) => refused.push(reason),
        }
    }
    if refused.is_empty() {
        Err(format!("no TensorRT library found (tried {}; set {LIBRARY_ENV} to the file's path)", names.join(", ")))
    } else {
        Err(refused.join("; "))
    }
}

/// Why [`open`] failed: the file could not be opened at all, or it is not a supported TensorRT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenError {
    CannotOpen(String),
    Refused(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::CannotOpen(reason) | OpenError::Refused(reason) => f.write_str(reason),
        }
    }
}

/// Opens `path` (a file, or a bare name for the loader to search) and reads its version. The
/// library is kept loaded for the life of the process, as the engines built from it will be.
pub fn open(path: &Path) -> Result<TensorRtLibrary, OpenError> {
    // SAFETY: loading runs the library's initializers; TensorRT's only register its logger and
    // plugin registry.
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|e| OpenError::CannotOpen(format!("cannot open {}: {e}", path.display())))?;
    let version = |symbol: &[u8]| -> Result<i32, OpenError> {
        // SAFETY: TensorRT declares these as `int32_t f() noexcept` with C linkage.
        let function = unsafe { library.get::<unsafe extern "C" fn() -> i32>(symbol) }.map_err(|_| {
            OpenError::Refused(format!(
                "{} is not a TensorRT library (no {})",
                path.display(),
                String::from_utf8_lossy(&symbol[..symbol.len() - 1])
            ))
        })?;
        // SAFETY: as above; the call only returns a constant.
        Ok(unsafe { function() })
    };
    let found = (
        version(b"getInferLibMajorVersion\0")?,
        version(b"getInferLibMinorVersion\0")?,
        version(b"getInferLibPatchVersion\0")?,
    );
    let file = loaded_file(&library).unwrap_or_else(|| path.to_path_buf());
    let flavor = flavor_of(&file);
    check_supported(flavor, found).map_err(|e| OpenError::Refused(format!("{}: {e}", file.display())))?;
    // Kept loaded: TensorRT objects must not outlive their library, and reloading is slow.
    std::mem::forget(library);
    Ok(TensorRtLibrary { path: file, flavor, version: found })
}

/// TensorRT-RTX names its library `libtensorrt_rtx`; TensorRT's is `libnvinfer`.
pub fn flavor_of(file: &Path) -> Flavor {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if name.contains("tensorrt_rtx") {
        Flavor::Rtx
    } else {
        Flavor::TensorRt
    }
}

/// The releases whose API the GPU backend is written against (TENSORRT.md): TensorRT-RTX 1.x,
/// TensorRT 10 and 11.
pub fn check_supported(flavor: Flavor, version: (i32, i32, i32)) -> Result<(), String> {
    let supported = match flavor {
        Flavor::Rtx => version.0 == 1,
        Flavor::TensorRt => version.0 == 10 || version.0 == 11,
    };
    if supported {
        Ok(())
    } else {
        Err(format!("{} is not supported (TensorRT-RTX 1.x, TensorRT 10 or 11 are)", describe_release(flavor, version)))
    }
}

/// The file the loader picked for `library` (a bare name is searched), from one of its symbols.
fn loaded_file(library: &libloading::Library) -> Option<PathBuf> {
    // SAFETY: the symbol exists (the version was read through it); dladdr only reads loader data.
    let symbol = unsafe { library.get::<*const c_void>(b"getInferLibMajorVersion\0") }.ok()?;
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    if unsafe { libc::dladdr(*symbol, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr returned a NUL-terminated path owned by the loader.
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    Some(PathBuf::from(name.to_string_lossy().into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavor_comes_from_the_file_name() {
        assert_eq!(flavor_of(Path::new("/x/tensorrt_rtx_libs/libtensorrt_rtx.so.1")), Flavor::Rtx);
        assert_eq!(flavor_of(Path::new("/usr/lib/x86_64-linux-gnu/libnvinfer.so.10")), Flavor::TensorRt);
    }

    #[test]
    fn only_releases_with_a_known_api_are_accepted() {
        assert!(check_supported(Flavor::Rtx, (1, 7, 1)).is_ok());
        assert!(check_supported(Flavor::TensorRt, (10, 13, 0)).is_ok());
        assert!(check_supported(Flavor::TensorRt, (11, 4, 0)).is_ok());
        let old = check_supported(Flavor::TensorRt, (8, 6, 1)).unwrap_err();
        assert!(old.contains("TensorRT 8.6.1 is not supported"), "{old}");
        assert!(check_supported(Flavor::Rtx, (2, 0, 0)).is_err());
    }
}
