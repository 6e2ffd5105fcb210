//! Unit tests of `solve`: flags to Solver, names, progress lines.

use clap::Parser as _;
use fluidos_protocol::phase::PhaseStatus;
use serde_json::json;

use super::*;
use crate::cli::{Args, Command};

fn solve_args(extra: &[&str]) -> SolveArgs {
    let mut argv = vec!["fluidos-hub", "solve", "--cpu", "2", "--memory", "4Gi"];
    argv.extend_from_slice(extra);
    match Args::try_parse_from(argv).unwrap().command {
        Command::Solve(a) => a,
        other => panic!("not solve: {other:?}"),
    }
}

#[test]
fn flags_build_the_upstream_selector() {
    let args = solve_args(&["--arch", "arm64", "--pods", "10", "--no-purchase"]);
    let solver = new_solver("solver-0123abcd", &args).unwrap();
    let v = serde_json::to_value(&solver).unwrap();
    assert_eq!(v["metadata"]["namespace"], DEFAULT_NAMESPACE);
    assert_eq!(v["spec"]["intentID"], "solver-0123abcd");
    assert_eq!(v["spec"]["findCandidate"], true);
    assert!(v["spec"].get("reserveAndBuy").is_none());
    assert!(v["spec"].get("establishPeering").is_none());
    let filters = &v["spec"]["selector"]["filters"];
    assert_eq!(v["spec"]["selector"]["flavorType"], "K8Slice");
    assert_eq!(
        filters["cpuFilter"],
        json!({"name": "Range", "data": {"min": "2"}})
    );
    assert_eq!(filters["memoryFilter"]["data"]["min"], "4Gi");
    assert_eq!(filters["podsFilter"]["data"]["min"], "10");
    assert_eq!(
        filters["architectureFilter"],
        json!({"name": "Match", "data": {"value": "arm64"}})
    );
    assert!(solver.spec.selector.unwrap().validate().is_ok());
}

#[test]
fn purchase_is_the_default_and_optional_filters_stay_absent() {
    let args = solve_args(&[]);
    assert_eq!(args.timeout, Duration::from_secs(180));
    let solver = new_solver("s", &args).unwrap();
    assert!(solver.spec.reserve_and_buy && solver.spec.establish_peering);
    let f = filters(&args);
    assert!(f.architecture.is_none() && f.pods.is_none() && f.storage.is_none());
    assert_eq!(describe(&args), "cpu >= 2, memory >= 4Gi");
}

#[test]
fn bad_quantities_and_missing_sizes_are_usage_errors() {
    let parse = |argv: &[&str]| Args::try_parse_from(argv).map(|_| ());
    assert!(parse(&["fluidos-hub", "solve", "--cpu", "x", "--memory", "1Gi"]).is_err());
    assert!(parse(&["fluidos-hub", "solve", "--cpu", "1"]).is_err());
}

#[test]
fn names_are_solver_and_eight_hex_digits() {
    let name = random_name();
    let suffix = name.strip_prefix("solver-").unwrap();
    assert_eq!(suffix.len(), 8);
    assert!(
        suffix
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn progress_lines_show_phase_message_and_steps() {
    let status = SolverStatus {
        find_candidate: Phase::Solved,
        solver_phase: PhaseStatus {
            phase: Phase::Running,
            message: "Solver has found a candidate".into(),
            ..PhaseStatus::default()
        },
        ..SolverStatus::default()
    };
    assert_eq!(
        progress_line(152, &status),
        "  +152ms  Running  Solver has found a candidate  [find Solved, reserve -, peering -]"
    );
    assert!(summary(None).contains("no status"));
}
