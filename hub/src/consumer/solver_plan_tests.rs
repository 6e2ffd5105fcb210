//! Tests of the Solver state machine: given a status and observations, the next action.

use std::time::Duration;

use fluidos_protocol::allocation::{AllocationObjectStatus, AllocationStatus};
use fluidos_protocol::discovery::{Discovery, DiscoveryStatus};
use fluidos_protocol::phase::{GenericRef, Phase, PhaseStatus};
use fluidos_protocol::reservation::{Reservation, ReservationStatus};
use fluidos_protocol::solver::SolverStatus;

use super::*;
use crate::clock::rfc3339;
use crate::consumer::fixtures::{me, pc, solver};
use crate::consumer::records::{
    REFUSED_MESSAGE, consumer_allocation, contract_record, discovery_for,
};

const T0: i64 = 1_747_562_400;

fn settings() -> Settings {
    Settings {
        step_timeout: Duration::from_secs(120),
        discovery_retry: Duration::from_secs(3),
        buyer: me(),
    }
}

fn obs() -> Observed<'static> {
    Observed {
        now: T0,
        invalid_selector: None,
        discovery: None,
        candidate: None,
        reservation: None,
        contract: None,
        allocation: None,
    }
}

fn with_status(flags: [bool; 3], status: SolverStatus) -> Solver {
    let mut s = solver("s1", None, flags);
    s.status = Some(status);
    s
}

fn running(find: Phase, reserve: Phase, peering: Phase, deadline: i64) -> SolverStatus {
    SolverStatus {
        find_candidate: find,
        reserve_and_buy: reserve,
        peering,
        solver_phase: PhaseStatus {
            phase: Phase::Running,
            message: "x".into(),
            ..PhaseStatus::default()
        },
        deadline: rfc3339(deadline),
        ..SolverStatus::default()
    }
}

fn discovery(phase: Phase, message: &str, changed: i64) -> Discovery {
    let mut d = discovery_for(&solver("s1", None, [true; 3]));
    let mut status = DiscoveryStatus::default();
    status.phase.phase = phase;
    status.phase.message = message.into();
    status.phase.last_change_time = rfc3339(changed);
    d.status = Some(status);
    d
}

fn reservation(phase: Phase, reserve: Phase, message: &str) -> Reservation {
    let pc = pc("f1", "p1", "amd64", "4", true);
    let s = solver("s1", None, [true; 3]);
    let mut r = crate::consumer::candidate::reservation_for(&s, &pc, me(), None);
    let mut status = ReservationStatus {
        reserve_phase: reserve,
        ..ReservationStatus::default()
    };
    status.phase.phase = phase;
    status.phase.message = message.into();
    r.status = Some(status);
    r
}

#[test]
fn a_new_solver_is_initialised_then_starts() {
    let s = solver("s1", None, [true, true, true]);
    let p = plan(&s, &obs(), &settings());
    assert_eq!(p.status.solver_phase.phase, Phase::Idle);
    assert_eq!(p.status.solver_phase.message, "Solver initialized");
    assert!(p.actions.is_empty());
    let s = with_status([true; 3], p.status);
    let p = plan(&s, &obs(), &settings());
    assert_eq!(p.status.find_candidate, Phase::Idle);
    assert_eq!(p.status.solver_phase.message, "Solver is running");
}

#[test]
fn an_existing_candidate_skips_discovery() {
    let s = with_status(
        [true; 3],
        running(Phase::Idle, Phase::Empty, Phase::Empty, T0),
    );
    let candidate = pc("f1", "p1", "amd64", "4", true);
    let o = Observed {
        candidate: Some(&candidate),
        ..obs()
    };
    let p = plan(&s, &o, &settings());
    assert_eq!(p.status.find_candidate, Phase::Solved);
    assert_eq!(
        p.status.solver_phase.message,
        "Solver has found a candidate"
    );
    assert_eq!(
        p.actions,
        [Action::AddInterest("peeringcandidate-f1".into())]
    );
}

#[test]
fn no_candidate_starts_a_discovery_with_a_deadline() {
    let s = with_status(
        [true; 3],
        running(Phase::Idle, Phase::Empty, Phase::Empty, 0),
    );
    let p = plan(&s, &obs(), &settings());
    assert_eq!(p.status.find_candidate, Phase::Running);
    assert_eq!(
        p.status.solver_phase.message,
        "Solver is trying a Discovery"
    );
    assert_eq!(p.status.deadline, rfc3339(T0 + 120));
    assert!(matches!(&p.actions[..], [Action::CreateDiscovery(d)] if d.spec.solver_id == "s1"));
    assert_eq!(p.next, Next::After(Duration::from_secs(121)));
}

#[test]
fn a_stale_finished_discovery_is_restarted() {
    let s = with_status(
        [true; 3],
        running(Phase::Idle, Phase::Empty, Phase::Empty, 0),
    );
    let old = discovery(Phase::Solved, "old", T0 - 500);
    let o = Observed {
        discovery: Some(&old),
        ..obs()
    };
    assert_eq!(
        plan(&s, &o, &settings()).actions,
        [Action::RestartDiscovery]
    );
}

#[test]
fn discovery_outcomes_drive_find_candidate() {
    let s = with_status(
        [true; 3],
        running(Phase::Running, Phase::Empty, Phase::Empty, T0 + 60),
    );
    let solved = discovery(Phase::Solved, "found", T0);
    let p = plan(
        &s,
        &Observed {
            discovery: Some(&solved),
            ..obs()
        },
        &settings(),
    );
    assert_eq!(p.status.find_candidate, Phase::Solved);
    assert_eq!(p.status.discovery_phase, Phase::Solved);
    assert_eq!(
        p.status.solver_phase.message,
        "Solver has completed the Discovery phase"
    );

    let failed = discovery(
        Phase::Failed,
        "No Flavors found (0 of 1 peers answered)",
        T0,
    );
    let p = plan(
        &s,
        &Observed {
            discovery: Some(&failed),
            ..obs()
        },
        &settings(),
    );
    assert_eq!(p.status.solver_phase.phase, Phase::Failed);
    assert!(
        p.status
            .solver_phase
            .message
            .starts_with("Solver has not found any candidate")
    );
    assert!(p.status.solver_phase.message.contains("0 of 1 peers"));

    let busy = discovery(Phase::Running, "", T0);
    let p = plan(
        &s,
        &Observed {
            discovery: Some(&busy),
            ..obs()
        },
        &settings(),
    );
    assert_eq!(p.status.discovery_phase, Phase::Running);
    assert_eq!(p.next, Next::After(Duration::from_secs(61)));
}

#[test]
fn find_times_out_at_the_deadline() {
    let s = with_status(
        [true; 3],
        running(Phase::Running, Phase::Empty, Phase::Empty, T0 - 1),
    );
    let busy = discovery(Phase::Running, "", T0);
    let p = plan(
        &s,
        &Observed {
            discovery: Some(&busy),
            ..obs()
        },
        &settings(),
    );
    assert_eq!(p.status.solver_phase.phase, Phase::TimedOut);
    assert_eq!(
        p.status.solver_phase.message,
        "Solver has expired before finding a candidate"
    );
    assert!(p.status.deadline.is_empty());
}

#[test]
fn find_candidate_false_moves_on_to_reserve_and_peering() {
    let s = with_status(
        [false, true, true],
        running(Phase::Empty, Phase::Empty, Phase::Empty, 0),
    );
    let p = plan(&s, &obs(), &settings());
    assert_eq!(p.status.find_candidate, Phase::Solved);
    assert_eq!(
        p.status.solver_phase.phase,
        Phase::Running,
        "never a transient Solved"
    );
    assert_eq!(p.status.solver_phase.message, "No need to find a candidate");
    let s = with_status([false, true, true], p.status);
    let p = plan(&s, &obs(), &settings());
    assert_eq!(p.status.reserve_and_buy, Phase::Idle);
}

#[test]
fn reserve_creates_the_reservation_for_the_candidate() {
    let s = with_status(
        [true; 3],
        running(Phase::Solved, Phase::Idle, Phase::Empty, T0 + 60),
    );
    let candidate = pc("f1", "p1", "amd64", "4", true);
    let p = plan(
        &s,
        &Observed {
            candidate: Some(&candidate),
            ..obs()
        },
        &settings(),
    );
    assert_eq!(p.status.reserve_and_buy, Phase::Running);
    assert_eq!(p.status.solver_phase.message, "Reservation created");
    let [Action::AddInterest(_), Action::CreateReservation(r)] = &p.actions[..] else {
        panic!("unexpected actions {:?}", p.actions);
    };
    assert_eq!(r.metadata.name, "reservation-s1");
    assert_eq!(r.spec.seller.node_id, "p1");
    assert!(r.spec.reserve && r.spec.purchase);
}

#[test]
fn reserve_without_candidate_retries_discovery_until_the_deadline() {
    let s = with_status(
        [false, true, true],
        running(Phase::Solved, Phase::Idle, Phase::Empty, T0 + 60),
    );
    let p = plan(&s, &obs(), &settings());
    assert!(matches!(&p.actions[..], [Action::CreateDiscovery(_)]));
    assert_eq!(p.status.solver_phase.phase, Phase::Running);
    assert_eq!(p.next, Next::After(Duration::from_secs(3)));

    let just_failed = discovery(Phase::Failed, "No Flavors found", T0 - 1);
    let p = plan(
        &s,
        &Observed {
            discovery: Some(&just_failed),
            ..obs()
        },
        &settings(),
    );
    assert!(p.actions.is_empty(), "retries are spaced");
    let long_failed = discovery(Phase::Failed, "No Flavors found", T0 - 10);
    let p = plan(
        &s,
        &Observed {
            discovery: Some(&long_failed),
            ..obs()
        },
        &settings(),
    );
    assert_eq!(p.actions, [Action::RestartDiscovery]);

    let late = with_status(
        [false, true, true],
        running(Phase::Solved, Phase::Idle, Phase::Empty, T0),
    );
    let p = plan(&late, &obs(), &settings());
    assert_eq!(p.status.solver_phase.phase, Phase::TimedOut);
    assert_eq!(
        p.status.solver_phase.message,
        "Solver has expired before reserving the resources"
    );
}

#[test]
fn a_refused_candidate_is_set_aside_and_the_next_one_tried() {
    let s = with_status(
        [true; 3],
        running(Phase::Solved, Phase::Running, Phase::Empty, T0 + 60),
    );
    let message = format!("{REFUSED_MESSAGE} (HTTP 409 Conflict): sold");
    let refused = reservation(Phase::Failed, Phase::Failed, &message);
    let p = plan(
        &s,
        &Observed {
            reservation: Some(&refused),
            ..obs()
        },
        &settings(),
    );
    assert_eq!(
        p.actions,
        [
            Action::MarkUnavailable("peeringcandidate-f1".into()),
            Action::DeleteReservation
        ]
    );
    assert_eq!(p.status.reserve_and_buy, Phase::Idle);
    assert_eq!(p.status.solver_phase.phase, Phase::Running);
}

#[test]
fn other_reservation_failures_fail_the_solver() {
    let s = with_status(
        [true; 3],
        running(Phase::Solved, Phase::Running, Phase::Empty, T0 + 60),
    );
    let failed = reservation(
        Phase::Failed,
        Phase::Solved,
        "Reservation failed: seller identity mismatch",
    );
    let p = plan(
        &s,
        &Observed {
            reservation: Some(&failed),
            ..obs()
        },
        &settings(),
    );
    assert!(p.actions.is_empty());
    assert_eq!(p.status.reserve_and_buy, Phase::Failed);
    assert_eq!(p.status.solver_phase.phase, Phase::Failed);
    assert!(
        p.status
            .solver_phase
            .message
            .contains("seller identity mismatch")
    );
}

#[test]
fn reservation_progress_is_mirrored_and_success_records_the_contract() {
    let s = with_status(
        [true; 3],
        running(Phase::Solved, Phase::Running, Phase::Empty, T0 + 60),
    );
    let busy = reservation(Phase::Running, Phase::Solved, "Reservation is running");
    let p = plan(
        &s,
        &Observed {
            reservation: Some(&busy),
            ..obs()
        },
        &settings(),
    );
    assert_eq!(
        p.status.solver_phase.message,
        "Reservation: Purchase is running"
    );
    assert_eq!(p.status.reservation_phase, Phase::Running);

    let mut done = reservation(Phase::Solved, Phase::Solved, "Reservation solved");
    let contract = GenericRef::to("fluidos", "contract-f1-1234");
    if let Some(st) = done.status.as_mut() {
        st.contract = Some(contract.clone());
    }
    let p = plan(
        &s,
        &Observed {
            reservation: Some(&done),
            ..obs()
        },
        &settings(),
    );
    assert_eq!(p.status.reserve_and_buy, Phase::Solved);
    assert_eq!(p.status.contract, Some(contract));
    assert_eq!(
        p.status.solver_phase.message,
        "Reservation: Flavor reserved and purchased"
    );
}

#[test]
fn peering_creates_an_active_allocation_and_completes() {
    let wire = crate::consumer::fixtures::wire_contract();
    let contract = contract_record("fluidos", &wire).unwrap();
    let s = with_status(
        [false, true, true],
        running(Phase::Solved, Phase::Solved, Phase::Idle, T0 + 60),
    );
    let p = plan(
        &s,
        &Observed {
            contract: Some(&contract),
            ..obs()
        },
        &settings(),
    );
    assert!(matches!(&p.actions[..], [Action::CreateAllocation(_)]));
    assert_eq!(p.status.peering, Phase::Running);

    let mut allocation = consumer_allocation(&contract, T0);
    let s = with_status([false, true, true], p.status);
    let o = Observed {
        contract: Some(&contract),
        allocation: Some(&allocation),
        ..obs()
    };
    let p = plan(&s, &o, &settings());
    assert_eq!(p.status.peering, Phase::Solved);
    let s = with_status([false, true, true], p.status);
    let p = plan(&s, &o, &settings());
    assert_eq!(p.status.solver_phase.phase, Phase::Solved);
    assert_eq!(
        p.status.solver_phase.message,
        "Solver has completed all the phases"
    );
    assert!(p.status.deadline.is_empty());

    allocation.status = Some(AllocationObjectStatus {
        status: Some(AllocationStatus::Error),
        ..AllocationObjectStatus::default()
    });
    let s = with_status(
        [false, true, true],
        running(Phase::Solved, Phase::Solved, Phase::Running, T0 + 60),
    );
    let o = Observed {
        contract: Some(&contract),
        allocation: Some(&allocation),
        ..obs()
    };
    let p = plan(&s, &o, &settings());
    assert_eq!(p.status.solver_phase.phase, Phase::Failed);
    assert_eq!(p.status.solver_phase.message, "Allocation: error");
}

#[test]
fn reserve_only_solvers_finish_without_peering() {
    let s = with_status(
        [true, false, false],
        running(Phase::Solved, Phase::Empty, Phase::Empty, T0),
    );
    let p = plan(&s, &obs(), &settings());
    assert_eq!(p.status.solver_phase.phase, Phase::Solved);
    assert_eq!(
        p.status.solver_phase.message,
        "No need to reserve and buy the resources"
    );
    let no_peering = with_status(
        [true, true, false],
        running(Phase::Solved, Phase::Solved, Phase::Empty, T0),
    );
    let p = plan(&no_peering, &obs(), &settings());
    assert_eq!(p.status.peering, Phase::Solved);
    assert_eq!(p.status.solver_phase.phase, Phase::Solved);
}

#[test]
fn terminal_solvers_and_invalid_selectors() {
    let mut failed = running(Phase::Failed, Phase::Empty, Phase::Empty, T0);
    failed.solver_phase.phase = Phase::Failed;
    let s = with_status([true; 3], failed.clone());
    let p = plan(&s, &obs(), &settings());
    assert_eq!(p.status, failed, "Failed is terminal");
    let s = with_status(
        [true; 3],
        running(Phase::Idle, Phase::Empty, Phase::Empty, T0),
    );
    let o = Observed {
        invalid_selector: Some("bad regex"),
        ..obs()
    };
    let p = plan(&s, &o, &settings());
    assert_eq!(p.status.solver_phase.phase, Phase::Failed);
    assert!(p.status.solver_phase.message.contains("bad regex"));
}

#[test]
fn an_unchanged_wait_writes_nothing() {
    let s = with_status(
        [true; 3],
        running(Phase::Solved, Phase::Running, Phase::Empty, T0 + 60),
    );
    let mut busy = reservation(Phase::Running, Phase::Running, "Reservation is running");
    busy.status.as_mut().unwrap().reserve_phase = Phase::Running;
    let first = plan(
        &s,
        &Observed {
            reservation: Some(&busy),
            ..obs()
        },
        &settings(),
    );
    let s = with_status([true; 3], first.status.clone());
    let second = plan(
        &s,
        &Observed {
            reservation: Some(&busy),
            now: T0 + 5,
            ..obs()
        },
        &settings(),
    );
    assert_eq!(second.status, first.status);
    assert!(second.actions.is_empty());
}
