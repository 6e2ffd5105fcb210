//! `fluidos-loadgen`: simulated agents over mutual TLS against a running hub (see
//! `fluidos_tests::load` and docs/BENCHMARKS.md).

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    fluidos_tests::load::main()
}
