//! Whether this process can load shared libraries (ONNX Runtime, TensorRT, the CUDA driver,
//! NVRTC). A fully static program (`cc -static`) cannot: it has no dynamic loader, and glibc's
//! dlopen there brings a second C library beside the static one, which crashes in ONNX Runtime's
//! initializers. Such a program scores on the `cpu` backend; every loader asks here first and
//! reports the backend unavailable instead of crashing.

/// `Err` with why, naming `what` (the library about to be loaded), when the program is static.
pub(crate) fn check_loadable(what: &str) -> Result<(), String> {
    if is_static_program() {
        return Err(format!(
            "cannot load {what}: this program is statically linked (cc -static), and a static program cannot \
             load shared libraries; the cpu backend needs none"
        ));
    }
    Ok(())
}

/// Whether the main program has no interpreter (PT_INTERP): a static executable, PIE or not. A
/// dynamic one has it, also when started through the loader by hand (`ld.so ./program`), where
/// the kernel's AT_BASE would say otherwise.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn is_static_program() -> bool {
    // SAFETY: getauxval only reads the auxiliary vector; the kernel's AT_PHDR and AT_PHNUM
    // describe the main program's program headers, mapped for the life of the process.
    unsafe {
        let headers = libc::getauxval(libc::AT_PHDR) as *const libc::Elf64_Phdr;
        let count = libc::getauxval(libc::AT_PHNUM) as usize;
        if headers.is_null() || count == 0 {
            return false;
        }
        !std::slice::from_raw_parts(headers, count).iter().any(|header| header.p_type == libc::PT_INTERP)
    }
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn is_static_program() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test binary is a dynamic program: loading is allowed. (A static one is refused:
    /// tests/capi_package.rs runs a `cc -static` C program with ONNX Runtime in reach.)
    #[test]
    fn a_dynamic_program_may_load_libraries() {
        assert!(!is_static_program());
        assert!(check_loadable("ONNX Runtime").is_ok());
    }
}
