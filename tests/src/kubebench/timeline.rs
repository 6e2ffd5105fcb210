//! The milestones of one Solver, stamped by in-process watches on both clusters: each new
//! object of a kind (Discovery, Reservation, Contract on either side, Allocation) and the
//! Solver's status turning `Solved`. One channel merges every watch; [`Progress`] is the pure
//! bookkeeping of one run.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use fluidos_hub::k8s::resources::{VERSION, kind_info};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::watch::{RawWatch, WatchEvent};

/// Which cluster a milestone is watched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The buyer's.
    Consumer,
    /// The seller's.
    Provider,
}

/// One thing a run waits for: the first new object of `kind` on `side` (or, for the Solver,
/// its status turning `Solved`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Milestone {
    /// Shown in the report.
    pub(crate) label: &'static str,
    /// FLUIDOS kind.
    pub(crate) kind: &'static str,
    /// Cluster.
    pub(crate) side: Side,
}

/// Index of the Solver in [`MILESTONES`].
pub(crate) const SOLVED: usize = 0;
/// Index of the provider's Contract in [`MILESTONES`].
pub(crate) const PROVIDER_CONTRACT: usize = 3;

/// What a run is timed by, in the order they happen.
pub(crate) const MILESTONES: [Milestone; 6] = [
    Milestone {
        label: "Solver Solved",
        kind: "Solver",
        side: Side::Consumer,
    },
    Milestone {
        label: "Discovery created",
        kind: "Discovery",
        side: Side::Consumer,
    },
    Milestone {
        label: "Reservation created",
        kind: "Reservation",
        side: Side::Consumer,
    },
    Milestone {
        label: "Contract on the provider",
        kind: "Contract",
        side: Side::Provider,
    },
    Milestone {
        label: "Contract on the consumer",
        kind: "Contract",
        side: Side::Consumer,
    },
    Milestone {
        label: "Allocation on the consumer",
        kind: "Allocation",
        side: Side::Consumer,
    },
];

/// `/apis/<group>/v1alpha1/namespaces/<ns>/<plural>` of a FLUIDOS kind.
pub(crate) fn collection(kind: &str, ns: &str) -> anyhow::Result<String> {
    let info = kind_info(kind).ok_or_else(|| anyhow::anyhow!("{kind} is not a FLUIDOS kind"))?;
    Ok(format!(
        "/apis/{}/{VERSION}/namespaces/{ns}/{}",
        info.group, info.plural
    ))
}

/// The watches of every milestone, merged into one channel of `(milestone, event)`.
pub(crate) struct Timeline {
    events: mpsc::UnboundedReceiver<(usize, WatchEvent)>,
    tasks: Vec<JoinHandle<()>>,
    /// Names seen per milestone (so only new objects count).
    seen: Vec<HashSet<String>>,
}

impl Timeline {
    /// Start one watch per milestone in namespace `ns` of the two clusters.
    pub(crate) fn start(
        consumer: &kube::Client,
        provider: &kube::Client,
        ns: &str,
    ) -> anyhow::Result<Timeline> {
        let (tx, events) = mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for (index, milestone) in MILESTONES.iter().enumerate() {
            let client = match milestone.side {
                Side::Consumer => consumer.clone(),
                Side::Provider => provider.clone(),
            };
            let mut watch = RawWatch::new(client, &collection(milestone.kind, ns)?);
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let event = match watch.next().await {
                        Ok(event) => event,
                        Err(error) => {
                            eprintln!("solve: watch failed: {error:#}");
                            return;
                        }
                    };
                    if tx.send((index, event)).is_err() {
                        return;
                    }
                }
            }));
        }
        Ok(Timeline {
            events,
            tasks,
            seen: vec![HashSet::new(); MILESTONES.len()],
        })
    }

    /// Wait until every milestone of Solver `name`, created at `created`, happened (or
    /// `deadline`); a Solver that fails ends the wait with an error.
    pub(crate) async fn run(
        &mut self,
        name: &str,
        created: Instant,
        deadline: tokio::time::Instant,
    ) -> anyhow::Result<Vec<Duration>> {
        let mut progress = Progress::new(name, created);
        while !progress.done() {
            let event = tokio::select! {
                event = self.events.recv() => event,
                () = tokio::time::sleep_until(deadline) => anyhow::bail!(
                    "{name}: still waiting for {:?}", progress.missing()
                ),
            };
            let (index, event) = event.ok_or_else(|| anyhow::anyhow!("every watch ended"))?;
            progress.record(index, &event, &mut self.seen[index])?;
        }
        Ok(progress.times())
    }
}

impl Drop for Timeline {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The milestones reached so far by one Solver.
#[derive(Debug)]
pub(crate) struct Progress {
    solver: String,
    created: Instant,
    times: Vec<Option<Duration>>,
}

impl Progress {
    pub(crate) fn new(solver: &str, created: Instant) -> Progress {
        Progress {
            solver: solver.to_owned(),
            created,
            times: vec![None; MILESTONES.len()],
        }
    }

    /// Account for `event` of milestone `index`; `seen` holds that milestone's known names.
    pub(crate) fn record(
        &mut self,
        index: usize,
        event: &WatchEvent,
        seen: &mut HashSet<String>,
    ) -> anyhow::Result<()> {
        let reached = if index == SOLVED {
            event.name() == self.solver && solver_done(event)?
        } else {
            event.kind == "ADDED" && seen.insert(event.name().to_owned())
        };
        if let Some(slot) = self.times.get_mut(index).filter(|t| reached && t.is_none()) {
            *slot = Some(event.at.saturating_duration_since(self.created));
        }
        Ok(())
    }

    pub(crate) fn done(&self) -> bool {
        self.times.iter().all(Option::is_some)
    }

    /// Labels of the milestones not reached yet.
    pub(crate) fn missing(&self) -> Vec<&'static str> {
        (self.times.iter().zip(MILESTONES.iter()))
            .filter(|(t, _)| t.is_none())
            .map(|(_, m)| m.label)
            .collect()
    }

    /// Time from create to each milestone (zero for one not reached).
    pub(crate) fn times(&self) -> Vec<Duration> {
        self.times.iter().map(|t| t.unwrap_or_default()).collect()
    }
}

/// Whether a Solver event shows it `Solved`; an error when it ended otherwise.
pub(crate) fn solver_done(event: &WatchEvent) -> anyhow::Result<bool> {
    let phase = &event.object["status"]["solverPhase"];
    match phase["phase"].as_str().unwrap_or_default() {
        "Solved" => Ok(true),
        "Failed" | "TimedOut" => anyhow::bail!("{} ended {phase}", event.name()),
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn event(kind: &str, name: &str, status: Value, at: Instant) -> WatchEvent {
        WatchEvent {
            kind: kind.into(),
            object: json!({"metadata": {"name": name}, "status": status}),
            at,
        }
    }

    #[test]
    fn solver_phases() {
        let now = Instant::now();
        assert!(!solver_done(&event("ADDED", "s", Value::Null, now)).unwrap());
        let running = json!({"solverPhase": {"phase": "Running"}});
        assert!(!solver_done(&event("MODIFIED", "s", running, now)).unwrap());
        let solved = json!({"solverPhase": {"phase": "Solved"}});
        assert!(solver_done(&event("MODIFIED", "s", solved, now)).unwrap());
        let failed = json!({"solverPhase": {"phase": "Failed", "message": "no candidate"}});
        let error = solver_done(&event("MODIFIED", "s", failed, now)).unwrap_err();
        assert!(error.to_string().contains("no candidate"), "{error}");
    }

    #[test]
    fn a_run_needs_every_milestone_with_new_objects_only() {
        let created = Instant::now();
        let at = created + Duration::from_millis(250);
        let mut seen = vec![HashSet::new(); MILESTONES.len()];
        seen[PROVIDER_CONTRACT].insert("old-contract".to_owned());
        let mut progress = Progress::new("solver-b", created);
        let mut record = |p: &mut Progress, index: usize, e: WatchEvent| {
            p.record(index, &e, &mut seen[index]).unwrap();
        };
        let solved = json!({"solverPhase": {"phase": "Solved"}});
        record(
            &mut progress,
            SOLVED,
            event("MODIFIED", "solver-a", solved.clone(), at),
        );
        record(
            &mut progress,
            PROVIDER_CONTRACT,
            event("ADDED", "old-contract", Value::Null, at),
        );
        record(
            &mut progress,
            PROVIDER_CONTRACT,
            event("MODIFIED", "new", Value::Null, at),
        );
        assert_eq!(
            progress.missing().len(),
            MILESTONES.len(),
            "nothing counted yet"
        );
        record(
            &mut progress,
            PROVIDER_CONTRACT,
            event("ADDED", "new", Value::Null, at),
        );
        record(
            &mut progress,
            SOLVED,
            event("MODIFIED", "solver-b", solved, at),
        );
        for index in [1, 2, 4] {
            record(&mut progress, index, event("ADDED", "x", Value::Null, at));
        }
        assert_eq!(progress.missing(), ["Allocation on the consumer"]);
        assert!(!progress.done());
        record(&mut progress, 5, event("ADDED", "x", Value::Null, at));
        assert!(progress.done());
        assert!(
            progress
                .times()
                .iter()
                .all(|t| *t == Duration::from_millis(250))
        );
    }

    #[test]
    fn collections_follow_the_crds() {
        assert_eq!(
            collection("Contract", "fluidos").unwrap(),
            "/apis/reservation.fluidos.eu/v1alpha1/namespaces/fluidos/contracts"
        );
        assert!(collection("Pod", "x").is_err());
        for m in MILESTONES {
            assert!(collection(m.kind, "ns").is_ok(), "{}", m.kind);
        }
    }
}
