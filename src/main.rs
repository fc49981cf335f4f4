//! CLI entry: parse arguments, initialise logging, dispatch, map outcomes to exit codes.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
