//! The `fluidos-hub` binary: everything lives in the library (`fluidos_hub::cli`).

use std::process::ExitCode;

fn main() -> ExitCode {
    // One crypto provider for the whole process: ring. The hub passes ring explicitly to its
    // own TLS configurations too; this covers any rustls default lookup. Installing only fails
    // when a provider is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    fluidos_hub::cli::main()
}
