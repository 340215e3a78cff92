//! The `netclear` binary: parse arguments, run, map errors to exit codes (0 ok, 2 bad input,
//! 1 internal failure). Everything else lives in the library.

fn main() {
    let cli = netclear::cli::parse();
    match netclear::cli::run(cli) {
        Ok(()) => {}
        Err(e) => {
            let msg = e.to_string();
            eprintln!("error: {msg}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                // Causes the message already spells out are not repeated.
                let text = s.to_string();
                if !msg.contains(&text) {
                    eprintln!("  caused by: {text}");
                }
                src = s.source();
            }
            std::process::exit(e.exit_code());
        }
    }
}
