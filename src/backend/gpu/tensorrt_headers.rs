//! The TensorRT release this build's C++ facade is compiled against, and the check that a loaded
//! library is one it can drive. TensorRT's C++ API is virtual calls through vtables whose layout,
//! and enum values whose numbering, change between TensorRT-RTX, TensorRT 10 and TensorRT 11: a
//! facade compiled against one header set must only ever call a library of the same kind and
//! major release. build.rs reads the release from the headers' NvInferVersion.h
//! (`VSRQA_TENSORRT_HEADERS`); without the `tensorrt-rtx` or `tensorrt` feature there is none.

use super::tensorrt_library::{describe_release, Flavor, TensorRtLibrary};

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
pub fn check_library(library: &TensorRtLibrary) -> Result<(), String> {
    match compiled() {
        Some(headers) => headers.accepts(library),
        None => Err(format!(
            "{} found, but this build has no TensorRT runner (built without the `tensorrt-rtx` or `tensorrt` feature)",
            library.describe()
        )),
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
    pub fn accepts(&self, library: &TensorRtLibrary) -> Result<(), String> {
        if library.flavor == self.flavor && library.version.0 == self.version.0 {
            Ok(())
        } else {
            Err(format!(
                "{} found, but this build's TensorRT facade is compiled against {} headers, whose API differs \
                 (rebuild vsrqa against that library's headers, or point VSRQA_TENSORRT_LIBRARY at a {} library)",
                library.describe(),
                self.describe(),
                self.drives(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

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
        let refused = trt11.accepts(&library(Flavor::Rtx, (1, 7, 1))).unwrap_err();
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
            let refused = check_library(&library(Flavor::Rtx, (1, 7, 1))).unwrap_err();
            assert!(refused.contains("no TensorRT runner"), "{refused}");
        }
    }
}
