//! Finding a TensorRT library at run time: TensorRT-RTX (`libtensorrt_rtx.so.1`) or TensorRT 10/11
//! (`libnvinfer.so.10/.11`). Nothing is linked at build time: the library is opened with the
//! system's loader, its version read from the C entry points every release exports
//! (`getInferLibMajorVersion` and friends), and refused clearly when it is not one vsrqa supports.
//!
//! The header set: the TensorRT release this build's C++ facade is compiled against, and the check
//! that a loaded library is one it can drive. TensorRT's C++ API is virtual calls through vtables whose layout,
//! and enum values whose numbering, change between TensorRT-RTX, TensorRT 10 and TensorRT 11: a
//! facade compiled against one header set must only ever call a library of the same kind and
//! major release. build.rs reads the release from the headers' NvInferVersion.h
//! (`VSRQA_TENSORRT_HEADERS`); without the `tensorrt-rtx` or `tensorrt` feature there is none.

use std::ffi::{c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::backend::GpuError;

/// The environment variable naming the library file to use instead of the default search.
pub const LIBRARY_ENV: &str = "VSRQA_TENSORRT_LIBRARY";

/// Library names tried in order when `VSRQA_TENSORRT_LIBRARY` is not set and this build has no
/// TensorRT facade (which searches only for the library its headers describe); the system's loader
/// searches them (`LD_LIBRARY_PATH`, the loader cache).
pub const DEFAULT_NAMES: [&str; 3] = ["libtensorrt_rtx.so.1", "libnvinfer.so.11", "libnvinfer.so.10"];

/// The names [`probe`] asks the loader for: the library this build's facade can drive, else any.
pub fn search_names() -> Vec<String> {
    match compiled() {
        Some(headers) => headers.library_names(),
        None => DEFAULT_NAMES.map(String::from).to_vec(),
    }
}

/// Which TensorRT: their APIs differ (enum values, removed precision flags; docs/gpu.md).
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
pub fn probe() -> Result<TensorRtLibrary, GpuError> {
    static LOADED: OnceLock<Result<TensorRtLibrary, GpuError>> = OnceLock::new();
    LOADED
        .get_or_init(|| match std::env::var_os(LIBRARY_ENV).filter(|v| !v.is_empty()) {
            Some(path) => open(Path::new(&path)).map_err(|e| GpuError::Unavailable(format!("{LIBRARY_ENV}: {e}"))),
            None => search_default_names(),
        })
        .clone()
}

/// The first of [`search_names`] that opens as a supported TensorRT. A library that is found but
/// refused (an unsupported release) is reported as such, not as "not found".
fn search_default_names() -> Result<TensorRtLibrary, GpuError> {
    let mut refused = Vec::new();
    let names = search_names();
    for name in &names {
        match open(Path::new(name)) {
            Ok(library) => return Ok(library),
            Err(OpenError::CannotOpen(_)) => {}
            Err(OpenError::Refused(reason)) => refused.push(reason),
        }
    }
    Err(GpuError::Unavailable(if refused.is_empty() {
        format!("no TensorRT library found (tried {}; set {LIBRARY_ENV} to the file's path)", names.join(", "))
    } else {
        refused.join("; ")
    }))
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
    crate::backend::shared_libraries::check_loadable(&path.display().to_string()).map_err(OpenError::CannotOpen)?;
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

/// The releases whose API the GPU backend is written against (docs/gpu.md): TensorRT-RTX 1.x,
/// TensorRT 10 and 11.
pub fn check_supported(flavor: Flavor, version: (i32, i32, i32)) -> Result<(), GpuError> {
    let supported = match flavor {
        Flavor::Rtx => version.0 == 1,
        Flavor::TensorRt => version.0 == 10 || version.0 == 11,
    };
    if supported {
        Ok(())
    } else {
        Err(GpuError::Unavailable(format!(
            "{} is not supported (TensorRT-RTX 1.x, TensorRT 10 or 11 are)",
            describe_release(flavor, version)
        )))
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

/// A TensorRT header set: which TensorRT, and its (major, minor, patch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderSet {
    pub flavor: Flavor,
    pub version: (i32, i32, i32),
}

/// The header set this build's facade is compiled against, or `None` when it has no facade.
pub fn compiled() -> Option<HeaderSet> {
    #[cfg(vsrqa_tensorrt)]
    return HeaderSet::parse(env!("VSRQA_TENSORRT_HEADERS"));
    #[cfg(not(vsrqa_tensorrt))]
    return None;
}

/// Whether this build can drive `library`: it has a facade, compiled for the same kind of
/// TensorRT and the same major release. The reason names both sides when not.
pub fn check_library(library: &TensorRtLibrary) -> Result<(), GpuError> {
    match compiled() {
        Some(headers) => headers.accepts(library),
        None => Err(GpuError::Unavailable(format!(
            "{} found, but this build has no TensorRT runner (built without the `tensorrt-rtx` or `tensorrt` feature)",
            library.describe()
        ))),
    }
}

impl HeaderSet {
    /// Reads build.rs's description, e.g. "TensorRT-RTX 1.7.1" or "TensorRT 11.4.0".
    pub fn parse(text: &str) -> Option<HeaderSet> {
        let (name, version) = text.split_once(' ')?;
        let flavor = match name {
            "TensorRT-RTX" => Flavor::Rtx,
            "TensorRT" => Flavor::TensorRt,
            _ => return None,
        };
        let mut parts = version.split('.').map(str::parse::<i32>);
        let version = (parts.next()?.ok()?, parts.next()?.ok()?, parts.next()?.ok()?);
        parts.next().is_none().then_some(HeaderSet { flavor, version })
    }

    pub fn describe(&self) -> String {
        describe_release(self.flavor, self.version)
    }

    /// The releases this header set's facade drives, e.g. "TensorRT 11.x".
    pub fn drives(&self) -> String {
        format!("{} {}.x", self.flavor.name(), self.version.0)
    }

    /// The library file names a facade of this header set can drive, for the loader to search.
    pub fn library_names(&self) -> Vec<String> {
        match self.flavor {
            Flavor::Rtx => vec![format!("libtensorrt_rtx.so.{}", self.version.0)],
            Flavor::TensorRt => vec![format!("libnvinfer.so.{}", self.version.0)],
        }
    }

    /// `Ok` when `library` is the same kind of TensorRT and the same major release. Minor
    /// releases keep the ABI; TensorRT's factories check the header version they are given.
    pub fn accepts(&self, library: &TensorRtLibrary) -> Result<(), GpuError> {
        if library.flavor == self.flavor && library.version.0 == self.version.0 {
            Ok(())
        } else {
            Err(GpuError::Unavailable(format!(
                "{} found, but this build's TensorRT facade is compiled against {} headers, whose API differs \
                 (rebuild vsrqa against that library's headers, or point VSRQA_TENSORRT_LIBRARY at a {} library)",
                library.describe(),
                self.describe(),
                self.drives(),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

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
        let old = check_supported(Flavor::TensorRt, (8, 6, 1)).unwrap_err().to_string();
        assert!(old.contains("TensorRT 8.6.1 is not supported"), "{old}");
        assert!(check_supported(Flavor::Rtx, (2, 0, 0)).is_err());
    }

    fn library(flavor: Flavor, version: (i32, i32, i32)) -> TensorRtLibrary {
        TensorRtLibrary { path: PathBuf::from("/lib/x.so"), flavor, version }
    }

    #[test]
    fn descriptions_round_trip() {
        for text in ["TensorRT-RTX 1.7.1", "TensorRT 11.4.0", "TensorRT 10.16.1"] {
            assert_eq!(HeaderSet::parse(text).unwrap().describe(), text);
        }
        for bad in ["", "TensorRT", "TensorRT 11.4", "TensorRT 11.4.0.1", "TensorRT-LLM 1.0.0", "TensorRT a.b.c"] {
            assert_eq!(HeaderSet::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_facade_drives_only_its_own_kind_and_major_release() {
        let rtx = HeaderSet { flavor: Flavor::Rtx, version: (1, 7, 1) };
        let trt11 = HeaderSet { flavor: Flavor::TensorRt, version: (11, 4, 0) };
        assert!(rtx.accepts(&library(Flavor::Rtx, (1, 8, 0))).is_ok());
        assert!(trt11.accepts(&library(Flavor::TensorRt, (11, 1, 0))).is_ok());
        let refused = trt11.accepts(&library(Flavor::Rtx, (1, 7, 1))).unwrap_err().to_string();
        assert!(
            refused.starts_with("TensorRT-RTX 1.7.1 found, but this build's TensorRT facade is compiled against TensorRT 11.4.0 headers"),
            "{refused}"
        );
        assert!(refused.contains("a TensorRT 11.x library"), "{refused}");
        assert!(trt11.accepts(&library(Flavor::TensorRt, (10, 16, 1))).is_err());
        assert!(rtx.accepts(&library(Flavor::TensorRt, (11, 4, 0))).is_err());
        assert_eq!(trt11.library_names(), ["libnvinfer.so.11"]);
        assert_eq!(rtx.library_names(), ["libtensorrt_rtx.so.1"]);
    }

    /// The release build.rs read from the headers agrees with the feature this was built with.
    #[test]
    fn the_compiled_header_set_matches_the_feature() {
        let compiled = compiled();
        if cfg!(feature = "tensorrt-rtx") {
            assert_eq!(compiled.map(|h| (h.flavor, h.version.0)), Some((Flavor::Rtx, 1)), "{compiled:?}");
        } else if cfg!(feature = "tensorrt") {
            let headers = compiled.expect("the `tensorrt` feature compiles a facade");
            assert_eq!(headers.flavor, Flavor::TensorRt);
            assert!(matches!(headers.version.0, 10 | 11), "{headers:?}");
        } else {
            assert_eq!(compiled, None);
            let refused = check_library(&library(Flavor::Rtx, (1, 7, 1))).unwrap_err().to_string();
            assert!(refused.contains("no TensorRT runner"), "{refused}");
        }
    }
}
