//! Tests of the sequence rule (including a property test) and of the ingestor's state.

use proptest::prelude::*;

use super::*;

fn apply(c: &mut IngestCounters, resume_from: u64, seqs: &[u64]) -> BatchOutcome {
    apply_batch(c, resume_from, seqs.iter().copied())
}

#[test]
fn contiguous_reports_are_accepted_and_acked() {
    let mut c = IngestCounters::default();
    let out = apply(&mut c, 1, &[1, 2, 3]);
    assert_eq!(
        out,
        BatchOutcome {
            accepted: vec![0, 1, 2],
            duplicates: 0,
            stopped: 0,
            ack: 3
        }
    );
    assert_eq!((c.last_seq, c.accepted_total, c.gaps_total), (3, 3, 0));
}

#[test]
fn resent_reports_are_duplicates() {
    let mut c = IngestCounters {
        last_seq: 3,
        accepted_total: 3,
        ..IngestCounters::default()
    };
    let out = apply(&mut c, 2, &[2, 3, 4]);
    assert_eq!((out.accepted, out.duplicates, out.ack), (vec![2], 2, 4));
    assert_eq!((c.duplicates_total, c.accepted_total), (2, 4));
}

#[test]
fn a_gap_is_skipped_only_at_resume_from() {
    let mut c = IngestCounters {
        last_seq: 3,
        ..IngestCounters::default()
    };
    let out = apply(&mut c, 10, &[10, 11]);
    assert_eq!((out.accepted, out.ack), (vec![0, 1], 11));
    assert_eq!(c.gaps_total, 6);

    let mut c = IngestCounters {
        last_seq: 3,
        ..IngestCounters::default()
    };
    let out = apply(&mut c, 4, &[6, 7]);
    assert_eq!((out.accepted.len(), out.stopped, out.ack), (0, 2, 3));
    assert_eq!(
        c,
        IngestCounters {
            last_seq: 3,
            ..IngestCounters::default()
        }
    );
}

#[test]
fn the_batch_stops_at_an_unexpected_gap() {
    let mut c = IngestCounters::default();
    let out = apply(&mut c, 1, &[1, 2, 5, 6, 3]);
    assert_eq!((out.accepted, out.stopped, out.ack), (vec![0, 1], 3, 2));
}

#[test]
fn seq_zero_and_the_top_of_the_range_do_not_panic() {
    let mut c = IngestCounters::default();
    assert_eq!(apply(&mut c, 0, &[0]).duplicates, 1);
    let mut c = IngestCounters {
        last_seq: u64::MAX,
        ..IngestCounters::default()
    };
    assert_eq!(apply(&mut c, u64::MAX, &[u64::MAX, 1]).duplicates, 2);
    let mut c = IngestCounters::default();
    assert_eq!(apply(&mut c, u64::MAX, &[u64::MAX]).ack, u64::MAX);
}

fn batch(seqs: std::ops::RangeInclusive<u64>) -> ReportBatch {
    let reports = seqs
        .map(|seq| fluidos_protocol::agent::NodeReport {
            seq,
            sampled_at: OffsetDateTime::now_utc(),
            sample: ResourceSample {
                hostname: format!("sample-{seq}"),
                architecture: format!("arch-{seq}"),
                ..ResourceSample::default()
            },
        })
        .collect();
    ReportBatch {
        node_name: "pi-1".into(),
        resume_from: 1,
        dropped_total: 0,
        reports,
    }
}

#[tokio::test]
async fn counters_are_flushed_once_and_survive_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Arc::new(Registry::open(&dir.path().join("hub.db")).unwrap());
    let ingestor = Ingestor::load(Arc::clone(&registry)).await.unwrap();
    let (out, revived) = ingestor.ingest("pi-1", batch(1..=3), OffsetDateTime::now_utc());
    assert_eq!((out.ack, revived), (3, true));
    let snapshot = ingestor.snapshot("pi-1").unwrap();
    assert_eq!(
        snapshot.sample.unwrap().architecture,
        "arch-3",
        "the newest accepted sample is kept"
    );
    assert_eq!(ingestor.flush().await.unwrap(), 1);
    assert_eq!(ingestor.flush().await.unwrap(), 0, "nothing changed since");

    let reloaded = Ingestor::load(registry).await.unwrap();
    assert_eq!(reloaded.counters("pi-1"), ingestor.counters("pi-1"));
    assert_eq!(reloaded.liveness_counts(), (1, 0));
    let (out, revived) = reloaded.ingest("pi-1", batch(2..=4), OffsetDateTime::now_utc());
    assert_eq!((out.accepted, out.duplicates, revived), (vec![2], 2, false));
}

#[tokio::test]
async fn silent_nodes_are_swept_once() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Arc::new(Registry::open(&dir.path().join("hub.db")).unwrap());
    let ingestor = Ingestor::load(registry).await.unwrap();
    let now = OffsetDateTime::now_utc();
    ingestor.ingest("pi-1", batch(1..=1), now);
    let h = Duration::from_secs(10);
    assert!(
        ingestor
            .sweep(now + time::Duration::seconds(30), h)
            .newly_lost
            .is_empty()
    );
    assert_eq!(
        ingestor
            .sweep(now + time::Duration::seconds(31), h)
            .newly_lost,
        vec!["pi-1".to_owned()]
    );
    assert!(
        ingestor
            .sweep(now + time::Duration::seconds(60), h)
            .newly_lost
            .is_empty()
    );
    assert_eq!(ingestor.liveness_counts(), (0, 1));
    assert!(!ingestor.snapshot("pi-1").unwrap().live);
}

/// A batch as an agent could send it: a window of its outbox and a `resume_from` claim.
fn batches() -> impl Strategy<Value = Vec<(u64, u64, u64)>> {
    prop::collection::vec((1u64..60, 0u64..20, 0u64..70), 1..40)
}

proptest! {
    #[test]
    fn replays_never_accept_a_seq_twice_and_the_ack_never_goes_back(ops in batches()) {
        let mut c = IngestCounters::default();
        let mut seen = std::collections::HashSet::new();
        let mut ack = 0;
        for (start, len, resume_from) in ops {
            let seqs: Vec<u64> = (start..start + len).collect();
            let out = apply(&mut c, resume_from, &seqs);
            for i in &out.accepted {
                prop_assert!(seen.insert(seqs[*i]), "seq {} accepted twice", seqs[*i]);
                prop_assert!(seqs[*i] <= out.ack);
            }
            prop_assert!(out.ack >= ack);
            ack = out.ack;
            prop_assert_eq!(c.accepted_total, seen.len() as u64);
            prop_assert_eq!(c.accepted_total + c.gaps_total, c.last_seq);
        }
    }
}
