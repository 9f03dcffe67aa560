//! The `vsrqa` command line tool as a library: the binary's entry point ([`run`]), and
//! `vsrqa score`'s per-file scoring ([`score_file_json`]) for other front ends (the Python
//! package), so that every front end reports a file with the same fields and the same numbers.

mod cli;

pub use cli::extract::{extract, Extracted};
pub use cli::report::{clip_json, frame_row};
pub use cli::run;
pub use cli::score::{check_file_options, score_file_json, FileOptions, FileReportJson};
pub use vsrqa_train::Decoding;
