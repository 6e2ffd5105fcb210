//! Ledger rules: holds and sales deduct capacity, whole claims exclude everything else,
//! lapsed commitments free their capacity, partitions follow the policy.

use fluidos_protocol::Quantity;
use fluidos_protocol::flavor::Partitionability;

use super::*;

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap()
}

fn capacity() -> Characteristics {
    Characteristics {
        architecture: "arm64".into(),
        cpu: q("4"),
        memory: q("8Gi"),
        pods: q("110"),
        gpu: None,
        storage: None,
    }
}

fn policy() -> Partitionability {
    Partitionability {
        cpu_step: q("1"),
        memory_step: q("100Mi"),
        ..Partitionability::default()
    }
}

fn part(cpu: &str, memory: &str) -> K8SliceConfiguration {
    K8SliceConfiguration {
        cpu: q(cpu),
        memory: q(memory),
        pods: q("10"),
        gpu: None,
        storage: None,
    }
}

fn held(tx: &str, claim: Claim, expires_at: i64) -> Commitment {
    Commitment {
        transaction_id: tx.into(),
        flavor_id: "f".into(),
        buyer_id: "buyer".into(),
        claim,
        expires_at,
        stage: Stage::Held,
    }
}

#[test]
fn partitions_deduct_until_nothing_fits() {
    let mut l = Ledger::new();
    let c = l
        .claim("f", &capacity(), &policy(), Some(&part("3", "1Gi")), 0)
        .unwrap();
    l.insert(held("t1", c, 100));
    let left = l.offered("f", &capacity(), 10).unwrap();
    assert_eq!(left.cpu, q("1"));
    let err = l.claim("f", &capacity(), &policy(), Some(&part("2", "1Gi")), 10);
    assert!(matches!(err, Err(ClaimError::DoesNotFit(_))), "{err:?}");
    let c = l
        .claim("f", &capacity(), &policy(), Some(&part("1", "1Gi")), 10)
        .unwrap();
    l.insert(held("t2", c, 100));
    assert_eq!(l.offered("f", &capacity(), 10), None, "no cpu left");
}

#[test]
fn partitions_are_rounded_up_to_the_policy() {
    let l = Ledger::new();
    let Claim::Part(p) = l
        .claim("f", &capacity(), &policy(), Some(&part("1500m", "1Gi")), 0)
        .unwrap()
    else {
        panic!("expected a partition");
    };
    assert_eq!(p.cpu, q("2"));
    assert_eq!(p.memory, q("1100Mi"));
}

#[test]
fn whole_claims_exclude_everything_else() {
    let mut l = Ledger::new();
    assert_eq!(
        l.claim("f", &capacity(), &policy(), None, 0),
        Ok(Claim::Whole)
    );
    l.insert(held("t1", Claim::Whole, 100));
    assert_eq!(l.offered("f", &capacity(), 0), None);
    assert_eq!(
        l.claim("f", &capacity(), &policy(), Some(&part("1", "1Gi")), 0),
        Err(ClaimError::WholeTaken)
    );
    l.remove("t1");
    l.insert(held("t2", Claim::Part(part("1", "1Gi")), 100));
    assert_eq!(
        l.claim("f", &capacity(), &policy(), None, 0),
        Err(ClaimError::PartlyTaken)
    );
}

#[test]
fn lapsed_holds_free_their_capacity() {
    let mut l = Ledger::new();
    l.insert(held("t1", Claim::Whole, 100));
    assert_eq!(l.offered("f", &capacity(), 99), None);
    assert_eq!(l.offered("f", &capacity(), 100), Some(capacity()));
    assert_eq!(l.lapsed(100), vec!["t1".to_owned()]);
    assert!(l.lapsed(99).is_empty());
}

#[test]
fn retried_reserves_find_their_hold() {
    let mut l = Ledger::new();
    l.insert(held("t1", Claim::Part(part("1", "1Gi")), 100));
    assert!(
        l.find_held("buyer", "f", &Claim::Part(part("1", "1Gi")), 0)
            .is_some()
    );
    assert!(
        l.find_held("buyer", "f", &Claim::Part(part("2", "1Gi")), 0)
            .is_none()
    );
    assert!(
        l.find_held("other", "f", &Claim::Part(part("1", "1Gi")), 0)
            .is_none()
    );
    let mut sold = l.get("t1").cloned().unwrap();
    sold.stage = Stage::Sold {
        contract: "c".into(),
    };
    l.insert(sold);
    assert!(
        l.find_held("buyer", "f", &Claim::Part(part("1", "1Gi")), 0)
            .is_none()
    );
    assert_eq!(l.len(), 1);
}

#[test]
fn observed_commitments_are_adopted_only_when_they_are_news() {
    let mut ledger = Ledger::new();
    assert!(ledger.adopt(held("t1", Claim::Whole, 100)), "new hold");
    assert!(
        !ledger.adopt(held("t1", Claim::Whole, 100)),
        "echo of the same hold"
    );
    assert!(
        !ledger.adopt(held("t1", Claim::Whole, 50)),
        "an older hold does not shorten it"
    );
    assert!(
        ledger.adopt(held("t1", Claim::Whole, 200)),
        "a renewal extends it"
    );
    assert_eq!(ledger.get("t1").map(|c| c.expires_at), Some(200));
    let sold = Commitment {
        stage: Stage::Sold {
            contract: "k1".into(),
        },
        expires_at: 10_000,
        ..held("t1", Claim::Whole, 0)
    };
    assert!(ledger.adopt(sold.clone()), "a sale replaces the hold");
    assert!(
        !ledger.adopt(held("t1", Claim::Whole, 300)),
        "a sale is never demoted"
    );
    assert_eq!(ledger.release_hold("t1"), None, "a sale is not a hold");
    assert_eq!(ledger.get("t1"), Some(&sold));
    assert!(ledger.adopt(held("t2", Claim::Whole, 100)));
    assert!(ledger.release_hold("t2").is_some());
    assert!(ledger.get("t2").is_none());
}
