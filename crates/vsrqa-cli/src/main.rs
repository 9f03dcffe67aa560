//! The `vsrqa` command line tool. Exit status: 0 success, 1 the work failed (model, backend,
//! input file), 2 the command line was wrong.

fn main() -> std::process::ExitCode {
    vsrqa_cli::run()
}
