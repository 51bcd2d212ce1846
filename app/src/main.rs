//! Entry point: parse the command line and run it.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = forewarn::cli::Cli::parse();
    match forewarn::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
