//! The `vsrqa` command line tool. Exit status: 0 success, 1 the work failed (model, backend,
//! input file), 2 the command line was wrong.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
