//! `fluidos-kubebench`: benchmarks of the hub's Kubernetes mode against real kube-apiservers
//! (see `fluidos_tests::kubebench` and docs/BENCHMARKS.md).

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    fluidos_tests::kubebench::main()
}
