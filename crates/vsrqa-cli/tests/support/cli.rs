//! What the CLI's test files share: the repository's test data, the built binary, its stderr.

use std::process::{Command, Output};

/// A file of tests/data.
pub use vsrqa_testkit::data;

/// Runs the `vsrqa` binary this crate built.
pub fn vsrqa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vsrqa")).args(args).output().unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
