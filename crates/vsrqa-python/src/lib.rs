//! The native module of the `vsrqa` Python package (`vsrqa._native`): engines, sessions, video
//! files and numpy frames over the vsrqa library. The package's Python code (python/vsrqa)
//! re-exports it and adds the exceptions, `python -m vsrqa` and batch scoring on Ray.

mod engine;
mod errors;
mod frames;
mod session;

use pyo3::prelude::*;

/// vsrqa's version (the library's).
#[pyfunction]
fn version() -> &'static str {
    vsrqa::VERSION
}

/// Which backends can run here, and why not for those that cannot: {name: None or reason}.
#[pyfunction]
fn backends() -> Vec<(&'static str, Option<String>)> {
    let availability = vsrqa::backend::availability().into_iter();
    availability.map(|(kind, available)| (kind.name(), available.err().map(|e| e.detail()))).collect()
}

#[pymodule(gil_used = false)]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<engine::Engine>()?;
    module.add_class::<session::Session>()?;
    module.add_function(wrap_pyfunction!(version, module)?)?;
    module.add_function(wrap_pyfunction!(backends, module)?)?;
    Ok(())
}
