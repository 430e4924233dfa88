//! `ember`: a Prometheus-compatible time-series database.
//!
//! This file wires the parts together: it parses the command line (every Prometheus flag,
//! [`cli`]), sets up logging ([`logging`]), checks the flags ([`cli::Options`]), and hands
//! over to [`server::run`], which owns the server's life from binding the listeners to the
//! last log line. Exit codes are Prometheus's: 0 after a clean shutdown, 2 for a bad
//! command line or configuration, 3 for server flags in agent mode (and the reverse),
//! 1 for everything else.

mod api;
mod build_info;
mod check;
mod civil;
mod cli;
mod config;
mod discovery;
mod go_errors;
mod host;
mod http_client;
mod logging;
mod metrics;
mod scrape;
mod server;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use cli::{Command, LogOptions, Options};

/// Stack size of the runtime's threads, which parse and evaluate queries.
const QUERY_THREAD_STACK: usize = 16 << 20;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let program = program_name();
    // Ember's own subcommands (promtool's `check`); Prometheus's command line has none, so
    // a first argument that is not a flag cannot be a server invocation.
    if args.first().map(String::as_str) == Some("check") {
        return ExitCode::from(check::run(&args[1..]));
    }
    let flags = match cli::parse(&args) {
        Ok(Command::Run(flags)) => flags,
        Ok(Command::Help) => return print_stdout(&cli::help::usage(&program)),
        Ok(Command::Version) => {
            return print_stdout(&format!("{}\n", build_info::BUILD.version_text()))
        }
        Ok(Command::WriteDocumentation) => return print_stdout(&cli::help::markdown()),
        Err(e) => {
            // As Prometheus: the error on stderr, then the usage on stdout.
            eprintln!("Error parsing command line arguments: {e}");
            print_stdout(&cli::help::usage(&program));
            return ExitCode::from(2);
        }
    };

    logging::init(LogOptions::from_parsed(&flags));
    let options = match Options::resolve(flags, &host::hostname()) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(e.exit_code());
        }
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("ember")
        // Query parsing and evaluation recurse once per nesting level (at most
        // api::v1::params::MAX_NESTING); the default 2 MiB is too tight for the deepest.
        .thread_stack_size(QUERY_THREAD_STACK)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(err = %e, "Unable to start the async runtime");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(server::run(options));
    runtime.shutdown_timeout(Duration::from_secs(1));
    ExitCode::from(code)
}

/// The program's name as invoked (`ember`, or `prometheus` through the Docker image's
/// symlink), for the usage line, as kingpin does.
fn program_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|arg0| {
            std::path::Path::new(&arg0)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "ember".to_string())
}

/// Writes to stdout, ignoring a closed pipe (`ember --help | head`).
fn print_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    ExitCode::SUCCESS
}
