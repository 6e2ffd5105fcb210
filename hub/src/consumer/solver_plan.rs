//! The Solver state machine (§4.2), pure: given a Solver and what the store holds around it,
//! the next status and the writes to make. One step per call, as upstream (each reconcile
//! returns after the first step that writes); the controller calls again on the next event.
//!
//! Upstream's phase names and messages are kept. Differences (§8 items 15-17): every waiting
//! step has an absolute deadline in `status.deadline` and asks to be requeued at it;
//! `findCandidate=false` marks the step Solved so reserve and peering run; reserving with no
//! matching candidate re-runs the Discovery until the deadline; a refused candidate is set
//! aside and the next one tried; intermediate steps never write the phase `Solved`.

use std::time::Duration;

use fluidos_protocol::allocation::Allocation;
use fluidos_protocol::discovery::{Discovery, PeeringCandidate};
use fluidos_protocol::phase::Phase;
use fluidos_protocol::reservation::{Contract, Reservation};
use fluidos_protocol::solver::{Solver, SolverStatus};

use super::Next;
use crate::clock::{after, parse, rfc3339, set_phase, until};

mod steps;

/// What the store holds around a Solver.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// Now, in Unix seconds.
    pub now: i64,
    /// Why the selector is invalid, if it is.
    pub invalid_selector: Option<&'a str>,
    /// `discovery-<solver>`.
    pub discovery: Option<&'a Discovery>,
    /// The candidate to buy (see [`super::candidate::choose`]).
    pub candidate: Option<&'a PeeringCandidate>,
    /// `reservation-<solver>`.
    pub reservation: Option<&'a Reservation>,
    /// The Contract bought (from the status or the Reservation).
    pub contract: Option<&'a Contract>,
    /// The consumer Allocation of that Contract.
    pub allocation: Option<&'a Allocation>,
}

/// Settings of the state machine.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Deadline of each step.
    pub step_timeout: Duration,
    /// Shortest interval between two runs of the Discovery while waiting for a candidate.
    pub discovery_retry: Duration,
    /// Our identity as a buyer.
    pub buyer: fluidos_protocol::node::NodeIdentity,
}

/// A write the controller makes before storing the new status.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create the Discovery (an existing one is fine).
    CreateDiscovery(Box<Discovery>),
    /// Re-run the finished Discovery (its status is reset).
    RestartDiscovery,
    /// Add the Solver to this PeeringCandidate's interested solvers.
    AddInterest(String),
    /// Set this PeeringCandidate aside (`available=false`): its provider refused it.
    MarkUnavailable(String),
    /// Create the Reservation.
    CreateReservation(Box<Reservation>),
    /// Delete `reservation-<solver>` (a failed attempt).
    DeleteReservation,
    /// Create the consumer Allocation (an existing one is fine).
    CreateAllocation(Box<Allocation>),
}

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The status to store (unchanged: nothing to write).
    pub status: SolverStatus,
    /// Writes to make first, in order.
    pub actions: Vec<Action>,
    /// When to look again regardless of events.
    pub next: Next,
}

/// The next step of `solver`.
pub fn plan(solver: &Solver, obs: &Observed<'_>, settings: &Settings) -> Plan {
    let mut step = Step {
        solver,
        obs,
        settings,
        st: solver.status.clone().unwrap_or_default(),
        actions: Vec::new(),
        next: Next::Done,
    };
    step.run();
    Plan {
        status: step.st,
        actions: step.actions,
        next: step.next,
    }
}

/// Continue with the next step, or stop here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// One planning pass: the status being rewritten and the actions gathered.
struct Step<'a> {
    solver: &'a Solver,
    obs: &'a Observed<'a>,
    settings: &'a Settings,
    st: SolverStatus,
    actions: Vec<Action>,
    next: Next,
}

impl Step<'_> {
    fn run(&mut self) {
        use Phase::{Failed, Idle, Running, Solved, TimedOut};
        let phase = self.st.solver_phase.phase;
        if !matches!(phase, Solved | TimedOut | Failed | Running | Idle) {
            self.set(Idle, "Solver initialized");
            return;
        }
        if matches!(phase, Failed | TimedOut) {
            return;
        }
        if let Some(reason) = self.obs.invalid_selector {
            self.fail(&format!("Solver has an invalid selector: {reason}"));
            return;
        }
        for step in [Self::find, Self::reserve, Self::peer] {
            if step(self) == Flow::Stop {
                return;
            }
        }
        self.complete();
    }

    /// S5: every step Solved → the Solver is Solved.
    fn complete(&mut self) {
        let st = &self.st;
        if [st.find_candidate, st.reserve_and_buy, st.peering] == [Phase::Solved; 3] {
            self.st.deadline.clear();
            self.set(Phase::Solved, "Solver has completed all the phases");
        }
    }

    /// Set the overall phase and message.
    fn set(&mut self, phase: Phase, message: &str) {
        set_phase(&mut self.st.solver_phase, phase, message, self.obs.now);
    }

    /// Terminal failure.
    fn fail(&mut self, message: &str) {
        self.st.deadline.clear();
        self.set(Phase::Failed, message);
    }

    /// Terminal time-out.
    fn time_out(&mut self, message: &str) {
        self.st.deadline.clear();
        self.set(Phase::TimedOut, message);
    }

    /// Start a step's clock: the deadline is now + the step timeout.
    fn start_clock(&mut self) {
        let deadline = after(self.obs.now, self.settings.step_timeout);
        self.st.deadline = rfc3339(deadline);
        self.wake_at(deadline);
    }

    /// The current step's deadline (started now when missing or unreadable).
    fn deadline(&mut self) -> i64 {
        if let Some(d) = parse(&self.st.deadline) {
            return d;
        }
        self.start_clock();
        after(self.obs.now, self.settings.step_timeout)
    }

    /// Whether the current step's deadline has passed; otherwise requeue at it.
    fn expired(&mut self) -> bool {
        let deadline = self.deadline();
        if self.obs.now >= deadline {
            return true;
        }
        self.wake_at(deadline);
        false
    }

    /// Look again at `deadline` (a second late, so it has passed).
    fn wake_at(&mut self, deadline: i64) {
        let wait = until(self.obs.now, deadline) + Duration::from_secs(1);
        self.wake_in(wait);
    }

    /// Look again after `wait`.
    fn wake_in(&mut self, wait: Duration) {
        self.next = self.next.min(Next::After(wait));
    }
}

#[cfg(test)]
#[path = "solver_plan_tests.rs"]
mod tests;
