//! `fluidos-kubeplane`: a private etcd + kube-apiserver with the FLUIDOS CRDs and a namespace,
//! running until SIGTERM/SIGINT/stdin EOF (see `fluidos_tests::kubebench::plane`).

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    fluidos_tests::kubebench::plane::main()
}
