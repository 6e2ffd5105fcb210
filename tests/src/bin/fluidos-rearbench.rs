//! `fluidos-rearbench`: REAR LIST and reserve + purchase latency against a provider hub
//! process over mutual TLS (see `fluidos_tests::rearbench` and docs/BENCHMARKS.md).

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    fluidos_tests::rearbench::main()
}
