//! vsrqa's errors as Python exceptions: one class per C status (defined in vsrqa/_errors.py,
//! where they can also derive from ValueError, RuntimeError or MemoryError), with the message.

use pyo3::prelude::*;

/// The exception of class `class` (a name in vsrqa._errors) carrying `message`.
pub fn exception(py: Python<'_>, class: &str, message: impl Into<String>) -> PyErr {
    let message = message.into();
    match py.import("vsrqa._errors").and_then(|module| module.getattr(class)).and_then(|c| c.call1((message,))) {
        Ok(instance) => PyErr::from_value(instance),
        // The package is broken (the module is missing): say so rather than lose the message.
        Err(e) => e,
    }
}

/// The class for each vsrqa error, as the C API maps it to a status.
pub fn from_vsrqa(py: Python<'_>, error: vsrqa::Error) -> PyErr {
    use vsrqa::ErrorKind as K;
    let class = match error.kind() {
        K::InvalidArgument => "InvalidArgumentError",
        K::UnsupportedFrame => "UnsupportedFrameError",
        K::Bundle => "BundleError",
        K::Backend => "BackendError",
        K::BackendUnavailable => "BackendUnavailableError",
        K::SessionFinished => "SessionFinishedError",
        K::Input => "InputError",
        K::DiskFull => "DiskFullError",
        K::OutOfMemory => "OutOfMemoryError",
        // A kind added to the library later: the base class (VSRQA_ERROR_INTERNAL), as the C API.
        _ => "VsrqaError",
    };
    exception(py, class, error.to_string())
}

pub fn invalid(py: Python<'_>, message: impl Into<String>) -> PyErr {
    exception(py, "InvalidArgumentError", message)
}

pub fn unsupported(py: Python<'_>, message: impl Into<String>) -> PyErr {
    exception(py, "UnsupportedFrameError", message)
}

/// `Result<T, vsrqa::Error>` to a Python result.
pub trait IntoPy<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for vsrqa::Result<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| from_vsrqa(py, e))
    }
}
