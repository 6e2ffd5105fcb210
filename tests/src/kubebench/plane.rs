//! `fluidos-kubeplane`: a private etcd + kube-apiserver (the test fixture's
//! [`ControlPlane`](crate::kube::ControlPlane)) with the FLUIDOS CRDs and a namespace, for
//! benchmark scripts and for trying Kubernetes mode by hand. It prints one JSON line (admin
//! kubeconfig, server URL, namespace, files) and runs until SIGTERM, SIGINT or, unless
//! `--ignore-stdin`, the end of its standard input; then both processes are killed.

use std::io::{Read as _, Write as _};
use std::process::ExitCode;

use clap::Parser as _;
use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};

/// Command line of `fluidos-kubeplane`.
#[derive(Debug, clap::Parser)]
#[command(
    name = "fluidos-kubeplane",
    about = "A private kube-apiserver + etcd with the FLUIDOS CRDs, until SIGTERM/SIGINT/stdin EOF"
)]
struct Args {
    /// Namespace to create for the FLUIDOS objects.
    #[arg(long, default_value = "fluidos")]
    namespace: String,
    /// Do not stop at the end of standard input (for `cmd &` in scripts, whose stdin is empty).
    #[arg(long)]
    ignore_stdin: bool,
}

/// Entry point of `fluidos-kubeplane`.
pub fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fluidos-kubeplane: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Handlers first: a SIGTERM during the start must still drop (and kill) the plane.
    let mut stop = runtime.block_on(async { StopSignals::install() })?;
    let plane = super::prepared_plane(&args.namespace)?;
    let line = json!({
        "kubeconfig": plane.admin_kubeconfig(),
        "server": plane.server_url(),
        "namespace": args.namespace,
        "dir": plane.dir(),
        "pids": plane.pids(),
    });
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    let reason = runtime.block_on(stop.wait(!args.ignore_stdin));
    eprintln!("fluidos-kubeplane: {reason}: stopping etcd and kube-apiserver");
    drop(plane);
    Ok(())
}

struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> std::io::Result<StopSignals> {
        Ok(StopSignals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Why it stopped: a signal or (when `stdin`) the end of standard input.
    async fn wait(&mut self, stdin: bool) -> &'static str {
        let (eof_tx, eof_rx) = tokio::sync::oneshot::channel();
        if stdin {
            std::thread::spawn(move || {
                let mut sink = [0_u8; 4096];
                let mut input = std::io::stdin().lock();
                while matches!(input.read(&mut sink), Ok(n) if n > 0) {}
                let _ = eof_tx.send(());
            });
        }
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
            Ok(()) = eof_rx => "end of standard input",
        }
    }
}
