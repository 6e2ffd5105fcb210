//! Benchmarks of the hub's Kubernetes mode against real kube-apiservers (see
//! docs/BENCHMARKS.md, "Kubernetes mode"):
//!
//! * `fluidos-kubebench writes` ([`writes`]): the API-server writes of a hub under
//!   `fluidos-loadgen` load, idle / warm-up / steady state (`tests/bench/kube-writes.sh`).
//! * `fluidos-kubebench solve` ([`solve`]): Solver → Contract between two hubs on two control
//!   planes (`tests/bench/kube-solve.sh`).
//! * [`plane`]: `fluidos-kubeplane`, a control plane for scripts and for trying the mode by hand.
//!
//! [`metrics`], [`stats`], the run bookkeeping of [`timeline`] and the line splitter of
//! [`watch`] are pure and unit-tested.

mod metrics;
pub mod plane;
mod solve;
mod stats;
mod timeline;
mod watch;
mod writes;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser as _;

use crate::kube::ControlPlane;
use crate::process::Binaries;

/// Command line of `fluidos-kubebench`.
#[derive(Debug, clap::Parser)]
#[command(
    name = "fluidos-kubebench",
    about = "Benchmarks of the hub's Kubernetes mode"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// API-server writes of a running hub under load (see tests/bench/kube-writes.sh).
    Writes(writes::WritesArgs),
    /// Solver → Contract latency between two hubs on two control planes.
    Solve(solve::SolveArgs),
}

/// Entry point of `fluidos-kubebench`.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("fluidos-kubebench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match args.command {
            Command::Writes(args) => writes::run(args).await,
            Command::Solve(args) => solve::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fluidos-kubebench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A private control plane with the FLUIDOS CRDs installed and namespace `namespace` created
/// (blocking: it runs kubectl).
pub fn prepared_plane(namespace: &str) -> anyhow::Result<ControlPlane> {
    let plane = ControlPlane::start()?;
    plane.install_crds()?;
    plane.create_namespace(namespace)?;
    Ok(plane)
}

/// `hub-e2e` and `agent-e2e` in `dir`, or next to the running binary.
fn binaries(dir: Option<&Path>) -> anyhow::Result<Binaries> {
    let dir = match dir {
        Some(dir) => dir.to_owned(),
        None => std::env::current_exe()?
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    let bins = Binaries {
        hub: dir.join("hub-e2e"),
        agent: dir.join("agent-e2e"),
    };
    for bin in [&bins.hub, &bins.agent] {
        anyhow::ensure!(
            bin.is_file(),
            "{} is missing (cargo build --bins)",
            bin.display()
        );
    }
    Ok(bins)
}
