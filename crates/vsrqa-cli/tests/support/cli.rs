//! What the CLI's test files share: the repository's test data, the built binary, its stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A file of tests/data.
pub fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(path)
}

/// Runs the `vsrqa` binary this crate built.
pub fn vsrqa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vsrqa")).args(args).output().unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
