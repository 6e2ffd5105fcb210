//! `fluidos-hub solve`: ask the running hub to find (and by default reserve, buy and peer
//! with) a K8Slice of at least the given size, by writing a Solver into its store, then follow
//! the Solver phase by phase until it is Solved, Failed or Timed Out.
//!
//! Progress lines (`  +152ms  Running  Solver has found a candidate  [find Solved, …]`) go to
//! stdout, or to stderr with `--json`. The result is printed by [`super::solve_report`].

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fluidos_protocol::DEFAULT_NAMESPACE;
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::phase::Phase;
use fluidos_protocol::quantity::Quantity;
use fluidos_protocol::selector::{K8SliceFilters, QuantityRule, Selector, StringRule};
use fluidos_protocol::solver::{Solver, SolverSpec, SolverStatus};

use super::solve_report;
use crate::config::{Config, StoreKind};
use crate::store::{Store, create_typed, get_typed};

/// How often the Solver is read back.
const POLL: Duration = Duration::from_millis(100);

/// `solve` options.
#[derive(Debug, Clone, clap::Args)]
pub struct SolveArgs {
    /// Minimum CPU, e.g. `2` or `1500m`.
    #[arg(long, value_name = "QUANTITY", value_parser = parse_quantity)]
    pub cpu: Quantity,
    /// Minimum memory, e.g. `4Gi`.
    #[arg(long, value_name = "QUANTITY", value_parser = parse_quantity)]
    pub memory: Quantity,
    /// Required architecture, e.g. `arm64` or `amd64`.
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Minimum number of pods.
    #[arg(long, value_name = "N", value_parser = parse_quantity)]
    pub pods: Option<Quantity>,
    /// Only find a candidate: do not reserve, buy or peer.
    #[arg(long)]
    pub no_purchase: bool,
    /// Give up waiting after this long (the Solver stays in the store), e.g. `3m`.
    #[arg(long, default_value = "3m", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Print the Contract (or, with --no-purchase, the candidates) as JSON; progress goes to
    /// stderr.
    #[arg(long)]
    pub json: bool,
}

fn parse_quantity(s: &str) -> Result<Quantity, String> {
    Quantity::parse(s).map_err(|e| e.to_string())
}

/// The K8Slice filters the flags ask for.
pub(crate) fn filters(args: &SolveArgs) -> K8SliceFilters {
    K8SliceFilters {
        architecture: args.arch.clone().map(StringRule::equals),
        cpu: Some(QuantityRule::at_least(args.cpu)),
        memory: Some(QuantityRule::at_least(args.memory)),
        pods: args.pods.map(QuantityRule::at_least),
        storage: None,
    }
}

/// The Solver `name` the flags ask for (intentID = name).
pub(crate) fn new_solver(name: &str, args: &SolveArgs) -> anyhow::Result<Solver> {
    let filters = filters(args);
    filters.validate().context("invalid resource request")?;
    let meta = ObjectMeta {
        name: name.to_owned(),
        namespace: DEFAULT_NAMESPACE.to_owned(),
        ..ObjectMeta::default()
    };
    let spec = SolverSpec {
        selector: Some(Selector::k8slice(Some(&filters))?),
        intent_id: name.to_owned(),
        find_candidate: true,
        reserve_and_buy: !args.no_purchase,
        establish_peering: !args.no_purchase,
    };
    Ok(Solver::new(meta, spec))
}

/// `solver-` and 8 random lowercase hex digits.
pub(crate) fn random_name() -> String {
    let bytes: [u8; 4] = rand::random();
    format!("solver-{}", hex::encode(bytes))
}

/// Run `solve`.
pub(super) async fn run(config: &Config, args: &SolveArgs) -> anyhow::Result<ExitCode> {
    // In Kubernetes mode the hub runs wherever the cluster runs it; the API server is enough.
    if config.store != StoreKind::Kubernetes {
        super::state::require_running_hub(&config.state_dir)?;
    }
    let name = random_name();
    let mut solver = new_solver(&name, args)?;
    let namespace = config.namespace();
    solver.metadata.namespace = namespace.to_owned();
    let store = super::state::open_read_write(config).await?;
    create_typed(&*store, &solver)
        .await
        .with_context(|| format!("cannot create Solver {name}"))?;
    let mut progress = Progress::new(args.json);
    progress.say(&format!(
        "solver {namespace}/{name} created: {}",
        describe(args)
    ));
    let last = watch(&*store, (namespace, &name), args.timeout, &mut progress).await?;
    let Some(status) = last
        .status
        .as_ref()
        .filter(|s| s.solver_phase.phase.is_terminal())
    else {
        anyhow::bail!(
            "solver {name} did not finish within {} (last: {}); it is still in the store",
            humantime::format_duration(args.timeout),
            summary(last.status.as_ref()),
        );
    };
    if status.solver_phase.phase != Phase::Solved {
        eprintln!(
            "fluidos-hub: solver {name} {}: {}",
            status.solver_phase.phase, status.solver_phase.message
        );
        return Ok(ExitCode::FAILURE);
    }
    solve_report::solved(&*store, &last, args).await?;
    Ok(ExitCode::SUCCESS)
}

/// What was asked, in words: `cpu >= 2, memory >= 4Gi, arch arm64, find only`.
pub(crate) fn describe(args: &SolveArgs) -> String {
    let mut parts = vec![
        format!("cpu >= {}", args.cpu),
        format!("memory >= {}", args.memory),
    ];
    if let Some(pods) = args.pods {
        parts.push(format!("pods >= {pods}"));
    }
    if let Some(arch) = &args.arch {
        parts.push(format!("arch {arch}"));
    }
    if args.no_purchase {
        parts.push("find only".to_owned());
    }
    parts.join(", ")
}

/// Poll the Solver until it ends or `timeout` passes; the last state read.
async fn watch(
    store: &dyn Store,
    (namespace, name): (&str, &str),
    timeout: Duration,
    progress: &mut Progress,
) -> anyhow::Result<Solver> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let solver = get_typed::<Solver>(store, namespace, name)
            .await
            .with_context(|| format!("cannot read Solver {name}"))?
            .with_context(|| format!("Solver {name} was deleted"))?;
        progress.observe(solver.status.as_ref());
        let done = solver
            .status
            .as_ref()
            .is_some_and(|s| s.solver_phase.phase.is_terminal());
        if done || tokio::time::Instant::now() >= deadline {
            return Ok(solver);
        }
    }
}

/// What a progress line is printed for: the overall phase and message and each step's phase.
type Key = (Phase, String, Phase, Phase, Phase);

fn key(status: &SolverStatus) -> Key {
    (
        status.solver_phase.phase,
        status.solver_phase.message.clone(),
        status.find_candidate,
        status.reserve_and_buy,
        status.peering,
    )
}

/// Prints one line per change of [`Key`], with the time since the start.
struct Progress {
    started: Instant,
    last: Option<Key>,
    to_stderr: bool,
}

impl Progress {
    fn new(to_stderr: bool) -> Self {
        Self {
            started: Instant::now(),
            last: None,
            to_stderr,
        }
    }

    fn say(&self, line: &str) {
        if self.to_stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    fn observe(&mut self, status: Option<&SolverStatus>) {
        let Some(status) = status else { return };
        let key = key(status);
        if self.last.as_ref() == Some(&key) {
            return;
        }
        let elapsed = self.started.elapsed().as_millis();
        self.say(&progress_line(elapsed, status));
        self.last = Some(key);
    }
}

/// `  +152ms  Running  Solver has found a candidate  [find Solved, reserve -, peering -]`.
pub(crate) fn progress_line(elapsed_ms: u128, status: &SolverStatus) -> String {
    let step = |p: Phase| match p {
        Phase::Empty => "-",
        p => p.as_str(),
    };
    format!(
        "  +{elapsed_ms}ms  {}  {}  [find {}, reserve {}, peering {}]",
        step(status.solver_phase.phase),
        status.solver_phase.message,
        step(status.find_candidate),
        step(status.reserve_and_buy),
        step(status.peering),
    )
}

/// `Running: Reservation created`, or `no status yet`.
fn summary(status: Option<&SolverStatus>) -> String {
    status.map_or_else(
        || "no status yet: is the hub's consumer running?".to_owned(),
        |s| format!("{}: {}", s.solver_phase.phase, s.solver_phase.message),
    )
}

#[cfg(test)]
#[path = "solve_tests.rs"]
mod tests;
