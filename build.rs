//! Gives the shared library a SONAME on Linux, so that programs record `libvsrqa.so.<major>`
//! (the C API major version, `VSRQA_API_VERSION_MAJOR`) rather than a path or the bare name.

/// Keep in step with `VSRQA_API_VERSION_MAJOR` in src/capi/types.rs.
const API_VERSION_MAJOR: u32 = 0;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libvsrqa.so.{API_VERSION_MAJOR}");
    }
}
