//! The three steps of the Solver state machine: find a candidate (S2), reserve and buy it (S3),
//! establish the peering (S4).

use std::time::Duration;

use fluidos_protocol::allocation::AllocationStatus;
use fluidos_protocol::discovery::Discovery;
use fluidos_protocol::phase::Phase;
use fluidos_protocol::reservation::Reservation;

use super::{Action, Flow, Step};
use crate::clock::{after, parse, until};
use crate::consumer::candidate::{configuration, reservation_for};
use crate::consumer::records::{consumer_allocation, discovery_for, is_refused};

impl Step<'_> {
    /// S2: find a candidate (or skip the step when `findCandidate` is false).
    pub(super) fn find(&mut self) -> Flow {
        if self.st.find_candidate == Phase::Solved {
            return Flow::Continue;
        }
        if !self.solver.spec.find_candidate {
            self.st.find_candidate = Phase::Solved;
            self.set(Phase::Running, "No need to find a candidate");
            return Flow::Stop;
        }
        match self.st.find_candidate {
            Phase::Idle => self.find_idle(),
            Phase::Running => self.find_running(),
            Phase::Failed => self.fail("Solver has not found any candidate"),
            Phase::TimedOut => self.time_out("Solver has expired before finding a candidate"),
            _ => {
                self.st.find_candidate = Phase::Idle;
                self.set(Phase::Running, "Solver is running");
            }
        }
        Flow::Stop
    }

    /// Idle: a matching available candidate ends the step; otherwise run a Discovery.
    fn find_idle(&mut self) {
        if let Some(pc) = self.obs.candidate {
            self.actions
                .push(Action::AddInterest(pc.metadata.name.clone()));
            self.st.find_candidate = Phase::Solved;
            self.set(Phase::Running, "Solver has found a candidate");
            return;
        }
        self.run_discovery();
        self.st.find_candidate = Phase::Running;
        self.start_clock();
        self.set(Phase::Running, "Solver is trying a Discovery");
    }

    /// Create the Discovery, or re-run it when an earlier run has finished.
    fn run_discovery(&mut self) {
        match self.obs.discovery {
            None => self
                .actions
                .push(Action::CreateDiscovery(Box::new(discovery_for(
                    self.solver,
                )))),
            Some(d) if discovery_phase(d).is_terminal() => {
                self.actions.push(Action::RestartDiscovery);
            }
            Some(_) => {}
        }
    }

    /// Running: follow the Discovery until it ends or the deadline passes.
    fn find_running(&mut self) {
        if self.expired() {
            self.time_out("Solver has expired before finding a candidate");
            return;
        }
        let Some(discovery) = self.obs.discovery else {
            self.run_discovery();
            return;
        };
        let phase = discovery_phase(discovery);
        self.st.discovery_phase = phase;
        match phase {
            Phase::Solved => {
                self.st.find_candidate = Phase::Solved;
                self.set(Phase::Running, "Solver has completed the Discovery phase");
            }
            Phase::Failed => {
                self.st.find_candidate = Phase::Failed;
                let why = discovery_message(discovery);
                self.fail(&format!("Solver has not found any candidate: {why}"));
            }
            Phase::TimedOut => {
                self.st.find_candidate = Phase::TimedOut;
                self.time_out("Solver has expired before finding a candidate");
            }
            _ => {}
        }
    }

    /// S3: reserve and buy the candidate (or finish when `reserveAndBuy` is false).
    pub(super) fn reserve(&mut self) -> Flow {
        if self.st.reserve_and_buy == Phase::Solved {
            return Flow::Continue;
        }
        if !self.solver.spec.reserve_and_buy {
            self.st.deadline.clear();
            self.set(Phase::Solved, "No need to reserve and buy the resources");
            return Flow::Stop;
        }
        match self.st.reserve_and_buy {
            Phase::Idle => self.reserve_idle(),
            Phase::Running => self.reserve_running(),
            Phase::Allocating => {}
            Phase::Failed => self.fail("Solver has failed to reserve the resources"),
            Phase::TimedOut => self.time_out("Solver has expired before reserving the resources"),
            _ => {
                self.st.reserve_and_buy = Phase::Idle;
                self.start_clock();
            }
        }
        Flow::Stop
    }

    /// Idle: create the Reservation for the best candidate, or wait for one (re-running the
    /// Discovery) until the deadline.
    fn reserve_idle(&mut self) {
        if self.expired() {
            self.time_out("Solver has expired before reserving the resources");
            return;
        }
        if let Some(existing) = self.obs.reservation {
            self.adopt_or_clear(existing);
            return;
        }
        let Some(pc) = self.obs.candidate else {
            self.wait_for_candidate();
            return;
        };
        match configuration(self.solver.spec.selector.as_ref(), &pc.spec.flavor) {
            Err(why) => {
                self.st.reserve_and_buy = Phase::Failed;
                self.fail(&format!(
                    "Solver has failed to reserve the resources: {why}"
                ));
            }
            Ok(config) => {
                let buyer = self.settings.buyer.clone();
                let reservation = reservation_for(self.solver, pc, buyer, config);
                self.actions
                    .push(Action::AddInterest(pc.metadata.name.clone()));
                self.actions
                    .push(Action::CreateReservation(Box::new(reservation)));
                self.st.reserve_and_buy = Phase::Running;
                self.set(Phase::Running, "Reservation created");
            }
        }
    }

    /// An existing Reservation at Idle: a failed leftover is deleted; a live one (created just
    /// before a crash) is followed.
    fn adopt_or_clear(&mut self, existing: &Reservation) {
        if matches!(reservation_phase(existing), Phase::Failed | Phase::TimedOut) {
            self.actions.push(Action::DeleteReservation);
            self.wake_in(Duration::from_millis(200));
            return;
        }
        self.st.reserve_and_buy = Phase::Running;
        self.set(Phase::Running, "Reservation created");
    }

    /// No candidate yet: (re-)run the Discovery, spaced by the retry interval.
    fn wait_for_candidate(&mut self) {
        let retry = self.settings.discovery_retry;
        match self.obs.discovery {
            Some(d) if discovery_phase(d).is_terminal() => {
                let finished = d
                    .status
                    .as_ref()
                    .and_then(|s| parse(&s.phase.last_change_time));
                let due = finished.map_or(self.obs.now, |t| after(t, retry));
                if self.obs.now >= due {
                    self.actions.push(Action::RestartDiscovery);
                } else {
                    self.wake_in(until(self.obs.now, due));
                }
            }
            _ => self.run_discovery(),
        }
        self.wake_in(retry);
        self.set(
            Phase::Running,
            "No matching PeeringCandidate available: retrying Discovery",
        );
    }

    /// Running: follow the Reservation.
    fn reserve_running(&mut self) {
        let Some(reservation) = self.obs.reservation else {
            self.st.reserve_and_buy = Phase::Idle;
            return;
        };
        let phase = reservation_phase(reservation);
        if phase == Phase::Solved {
            self.st.reservation_phase = Phase::Solved;
            self.st.reserve_and_buy = Phase::Solved;
            self.st.contract = reservation.status.as_ref().and_then(|s| s.contract.clone());
            self.set(Phase::Running, "Reservation: Flavor reserved and purchased");
            return;
        }
        if phase.is_terminal() {
            self.reservation_failed(reservation);
            return;
        }
        if self.expired() {
            self.time_out("Solver has expired before reserving the resources");
            return;
        }
        self.reservation_progress(reservation, phase);
    }

    /// The Reservation failed: try the next candidate after a refusal, else fail.
    fn reservation_failed(&mut self, reservation: &Reservation) {
        if is_refused(reservation) {
            if let Some(pc) = &reservation.spec.peering_candidate {
                self.actions.push(Action::MarkUnavailable(pc.name.clone()));
            }
            self.actions.push(Action::DeleteReservation);
            self.st.reservation_phase = Phase::Failed;
            self.st.reserve_and_buy = Phase::Idle;
            self.set(
                Phase::Running,
                "Reservation refused by the provider: trying the next candidate",
            );
            return;
        }
        self.st.reservation_phase = Phase::Failed;
        self.st.reserve_and_buy = Phase::Failed;
        let why = reservation
            .status
            .as_ref()
            .map(|s| s.phase.message.clone())
            .unwrap_or_default();
        self.fail(&format!(
            "Reservation: Flavor reservation and purchase failed: {why}"
        ));
    }

    /// The Reservation is still running: mirror its progress.
    fn reservation_progress(&mut self, reservation: &Reservation, phase: Phase) {
        if phase != Phase::Running {
            self.st.reservation_phase = Phase::Idle;
            return;
        }
        self.st.reservation_phase = Phase::Running;
        let reserved = reservation
            .status
            .as_ref()
            .is_some_and(|s| s.reserve_phase == Phase::Solved);
        let message = if reserved {
            "Reservation: Purchase is running"
        } else {
            "Reservation: Reserve is running"
        };
        self.set(Phase::Running, message);
    }

    /// S4: establish the peering (or skip it when `establishPeering` is false).
    pub(super) fn peer(&mut self) -> Flow {
        if self.st.peering == Phase::Solved {
            return Flow::Continue;
        }
        if !self.solver.spec.establish_peering {
            self.st.peering = Phase::Solved;
            return Flow::Continue;
        }
        match self.st.peering {
            Phase::Idle => self.peer_idle(),
            Phase::Running => self.peer_running(),
            Phase::Failed => self.fail("Solver has failed to establish a peering"),
            Phase::TimedOut => self.time_out("Solver has expired before establishing a peering"),
            _ => {
                self.st.peering = Phase::Idle;
                self.start_clock();
            }
        }
        Flow::Stop
    }

    /// Idle: create the consumer Allocation of the Contract.
    fn peer_idle(&mut self) {
        if self.expired() {
            self.time_out("Solver has expired before establishing a peering");
            return;
        }
        let Some(contract) = self.obs.contract else {
            self.wake_in(Duration::from_secs(2));
            return;
        };
        if self.obs.allocation.is_none() {
            let allocation = consumer_allocation(contract, self.obs.now);
            self.actions
                .push(Action::CreateAllocation(Box::new(allocation)));
        }
        self.st.peering = Phase::Running;
        self.set(Phase::Running, "Allocation created");
    }

    /// Running: follow the Allocation.
    fn peer_running(&mut self) {
        let Some(allocation) = self.obs.allocation else {
            self.st.peering = Phase::Idle;
            return;
        };
        let status = allocation.status.as_ref().and_then(|s| s.status);
        match status.unwrap_or_default() {
            AllocationStatus::Active => {
                self.st.peering = Phase::Solved;
                self.set(Phase::Running, "Allocation: active");
            }
            AllocationStatus::Released => self.st.peering = Phase::Solved,
            AllocationStatus::Error => {
                self.st.peering = Phase::Failed;
                self.fail("Allocation: error");
            }
            _ if self.expired() => {
                self.st.peering = Phase::Failed;
                self.time_out("Solver has expired before establishing a peering");
            }
            _ => self.st.peering = Phase::Running,
        }
    }
}

/// The phase of a Discovery (empty without a status).
fn discovery_phase(d: &Discovery) -> Phase {
    d.status.as_ref().map_or(Phase::Empty, |s| s.phase.phase)
}

/// The message of a Discovery.
fn discovery_message(d: &Discovery) -> String {
    d.status
        .as_ref()
        .map(|s| s.phase.message.clone())
        .unwrap_or_default()
}

/// The phase of a Reservation (empty without a status).
fn reservation_phase(r: &Reservation) -> Phase {
    r.status.as_ref().map_or(Phase::Empty, |s| s.phase.phase)
}
