//! The `fluidos-agent` binary: everything lives in the library (`fluidos_agent::cli`).

use std::process::ExitCode;

fn main() -> ExitCode {
    // One crypto provider for the whole process: ring (never aws-lc-rs). The library passes
    // ring explicitly too; this covers any rustls default lookup. It only fails if a provider
    // is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    fluidos_agent::cli::main()
}
