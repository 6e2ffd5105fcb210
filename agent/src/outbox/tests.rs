use std::time::Duration;

use fluidos_protocol::agent::ResourceSample;
use time::OffsetDateTime;

use super::*;

fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
}

fn sample(host: &str) -> ResourceSample {
    ResourceSample {
        hostname: host.to_owned(),
        ..Default::default()
    }
}

fn payload_len(host: &str) -> u64 {
    serde_json::to_string(&sample(host)).unwrap().len() as u64
}

fn seqs(batch: &PendingBatch) -> Vec<u64> {
    batch.reports.iter().map(|r| r.seq).collect()
}

#[test]
fn reports_come_back_in_order_with_their_sample_and_time() {
    let mut outbox = Outbox::open_in_memory(OutboxLimits::default()).unwrap();
    for (i, host) in ["a", "b", "c"].into_iter().enumerate() {
        let pushed = outbox.push(t(i as i64), &sample(host)).unwrap();
        assert_eq!(
            pushed,
            Pushed {
                seq: i as u64 + 1,
                dropped: 0
            }
        );
    }
    let batch = outbox.next_batch(2).unwrap().unwrap();
    assert_eq!(seqs(&batch), [1, 2]);
    assert_eq!(batch.reports[1].sample.hostname, "b");
    assert_eq!(batch.reports[1].sampled_at, t(1));
    let wire = batch.into_report_batch("pi-1".into());
    assert_eq!(
        (
            wire.node_name.as_str(),
            wire.resume_from,
            wire.dropped_total
        ),
        ("pi-1", 1, 0)
    );
}

#[test]
fn ack_deletes_up_to_the_acked_seq_and_records_success() {
    let mut outbox = Outbox::open_in_memory(OutboxLimits::default()).unwrap();
    for i in 0..5 {
        outbox.push(t(i), &sample("x")).unwrap();
    }
    outbox.record_error("hub unreachable").unwrap();
    assert_eq!(outbox.ack(3, t(10)).unwrap(), 3);
    let batch = outbox.next_batch(256).unwrap().unwrap();
    assert_eq!(seqs(&batch), [4, 5]);
    assert_eq!(batch.resume_from(), 4);
    let stats = outbox.stats().unwrap();
    assert_eq!(stats.last_success_at, Some(t(10)));
    assert_eq!(stats.last_error, None);
    assert_eq!(
        (stats.rows, stats.oldest_seq, stats.newest_seq),
        (2, Some(4), Some(5))
    );
    outbox.ack(5, t(11)).unwrap();
    assert_eq!(outbox.next_batch(256).unwrap(), None);
    let stats = outbox.stats().unwrap();
    assert_eq!((stats.rows, stats.newest_seq, stats.last_seq), (0, None, 5));
}

#[test]
fn an_ack_beyond_our_counter_moves_the_counter_past_it() {
    let mut outbox = Outbox::open_in_memory(OutboxLimits::default()).unwrap();
    outbox.push(t(0), &sample("x")).unwrap();
    outbox.ack(500, t(1)).unwrap();
    assert_eq!(outbox.push(t(2), &sample("x")).unwrap().seq, 501);
}

#[test]
fn rows_older_than_max_age_are_dropped_and_counted() {
    let limits = OutboxLimits {
        max_age: Duration::from_secs(60),
        ..Default::default()
    };
    let mut outbox = Outbox::open_in_memory(limits).unwrap();
    outbox.push(t(0), &sample("old")).unwrap();
    outbox.push(t(30), &sample("mid")).unwrap();
    let pushed = outbox.push(t(90), &sample("new")).unwrap();
    assert_eq!(pushed, Pushed { seq: 3, dropped: 1 });
    assert_eq!(outbox.prune(t(200)).unwrap(), 2);
    assert_eq!(outbox.next_batch(256).unwrap(), None);
    assert_eq!(outbox.dropped_total().unwrap(), 3);
}

#[test]
fn oldest_rows_beyond_max_bytes_are_dropped_and_reported_in_the_batch() {
    let one = payload_len("x");
    let limits = OutboxLimits {
        max_bytes: 3 * one,
        ..Default::default()
    };
    let mut outbox = Outbox::open_in_memory(limits).unwrap();
    for i in 0..3 {
        assert_eq!(outbox.push(t(i), &sample("x")).unwrap().dropped, 0);
    }
    assert_eq!(outbox.push(t(3), &sample("x")).unwrap().dropped, 1);
    assert_eq!(outbox.push(t(4), &sample("x")).unwrap().dropped, 1);
    let batch = outbox.next_batch(256).unwrap().unwrap();
    assert_eq!(seqs(&batch), [3, 4, 5]);
    assert_eq!((batch.resume_from(), batch.dropped_total), (3, 2));
    assert_eq!(outbox.stats().unwrap().bytes, 3 * one);
}

#[test]
fn unreadable_rows_are_dropped_instead_of_blocking_the_queue() {
    let mut outbox = Outbox::open_in_memory(OutboxLimits::default()).unwrap();
    outbox.push(t(0), &sample("a")).unwrap();
    outbox.push(t(1), &sample("b")).unwrap();
    outbox
        .conn
        .execute("UPDATE reports SET payload = X'FF00' WHERE seq = 1", [])
        .unwrap();
    let batch = outbox.next_batch(256).unwrap().unwrap();
    assert_eq!(seqs(&batch), [2]);
    assert_eq!(batch.dropped_total, 1);
    assert_eq!(outbox.drop_reports(&[2]).unwrap(), 1);
    assert_eq!(outbox.dropped_total().unwrap(), 2);
}

#[test]
fn seq_and_counters_survive_a_reopen_and_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    {
        let mut outbox = Outbox::open(&path, OutboxLimits::default()).unwrap();
        outbox.push(t(0), &sample("a")).unwrap();
        outbox.push(t(1), &sample("b")).unwrap();
        outbox.ack(2, t(2)).unwrap();
        outbox.drop_reports(&[]).unwrap();
        // Dropped without closing cleanly would be the same: every push is a committed transaction.
    }
    let mut outbox = Outbox::open(&path, OutboxLimits::default()).unwrap();
    assert_eq!(outbox.push(t(3), &sample("c")).unwrap().seq, 3);
    let stats = outbox.stats().unwrap();
    assert_eq!(stats.last_sample.unwrap().hostname, "c");
    assert_eq!(stats.last_sample_at, Some(t(3)));
    assert_eq!(stats.last_success_at, Some(t(2)));
    drop(outbox);
    let read_only = Outbox::open_read_only(&path).unwrap();
    assert_eq!(read_only.stats().unwrap().rows, 1);
}

#[test]
fn a_database_from_a_newer_agent_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert!(matches!(
        Outbox::open(&path, OutboxLimits::default()),
        Err(OutboxError::TooNew { found: 99, .. })
    ));
    assert!(matches!(
        Outbox::open_read_only(&path),
        Err(OutboxError::TooNew { .. })
    ));
}

#[test]
fn batches_are_bounded_by_count_and_payload_size() {
    let mut outbox = Outbox::open_in_memory(OutboxLimits::default()).unwrap();
    for i in 0..300 {
        outbox.push(t(i), &sample("x")).unwrap();
    }
    assert_eq!(
        outbox.next_batch(10_000).unwrap().unwrap().reports.len(),
        MAX_BATCH_REPORTS
    );
    let big = "h".repeat(200 * 1024);
    let mut outbox = Outbox::open_in_memory(OutboxLimits::default()).unwrap();
    for i in 0..4 {
        outbox.push(t(i), &sample(&big)).unwrap();
    }
    assert_eq!(outbox.next_batch(256).unwrap().unwrap().reports.len(), 2);
}
