//! Gives the shared library a SONAME on Linux, so that programs record `libvsrqa.so.<major>`
//! (the C API major version, `VSRQA_API_VERSION_MAJOR`, read from src/types.rs, its one
//! definition) rather than a path or the bare name, and a version script (vsrqa.map) that exports
//! the `vsrqa_*` functions only.

/// `VSRQA_API_VERSION_MAJOR` as src/types.rs defines it.
fn api_version_major() -> u32 {
    let path = "src/types.rs";
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .find_map(|line| line.strip_prefix("pub const VSRQA_API_VERSION_MAJOR: u32 = "))
        .and_then(|rest| rest.trim_end_matches(';').trim().parse().ok())
        .unwrap_or_else(|| panic!("{path} does not define VSRQA_API_VERSION_MAJOR as a number"))
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/types.rs");
    println!("cargo:rerun-if-changed=vsrqa.map");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = api_version_major();
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libvsrqa.so.{major}");
        let map = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("vsrqa.map");
        println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", map.display());
        // rustc's own export list names every `#[no_mangle]`/`#[export_name]` function of every
        // crate linked in (cxx's `cxxbridge1$*` with the TensorRT facade), and a name listed there
        // wins over vsrqa.map's `local: *`. The linker hides what comes from archives (the
        // dependencies' rlibs, the facade's static library) instead.
        println!("cargo:rustc-cdylib-link-arg=-Wl,--exclude-libs,ALL");
    }
}
