//! The `fluidos-hub` program, built inside the test crate so end-to-end suites can start it as a
//! separate process (`CARGO_BIN_EXE_hub-e2e`). Same code as `hub/src/main.rs`.

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    fluidos_hub::cli::main()
}
