//! The `netclear` binary: parse arguments, run, map errors to exit codes (0 ok, 2 bad input,
//! 1 internal failure). Everything else lives in the library.

use clap::Parser;

fn main() {
    let cli = netclear::cli::Cli::parse();
    match netclear::cli::run(cli) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("error: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            std::process::exit(e.exit_code());
        }
    }
}
