//! The `fluidos-agent` program, built inside the test crate so end-to-end suites can start it as a
//! separate process (`CARGO_BIN_EXE_agent-e2e`). Same code as `agent/src/main.rs`.

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    fluidos_agent::cli::main()
}
