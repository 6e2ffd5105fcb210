use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use super::*;
use crate::pki::IssuedCert;

const HOUR: Duration = Duration::from_secs(3600);

fn open() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(&dir.path().join("hub.db")).unwrap();
    (dir, registry)
}

fn cert(serial: &str) -> IssuedCert {
    IssuedCert {
        pem: String::new(),
        der: Vec::new(),
        serial_hex: serial.to_owned(),
        not_after: OffsetDateTime::from_unix_timestamp(2_000_000_000).unwrap(),
    }
}

#[test]
fn a_single_use_token_works_once() {
    let (_dir, reg) = open();
    let token = reg.create_token(HOUR, 1).unwrap();
    assert_eq!((token.id.len(), token.secret.len()), (ID_LEN, SECRET_LEN));
    assert!(token::parse_credentials(&token.credentials()).is_ok());
    reg.redeem_token(&token.credentials(), now()).unwrap();
    assert!(matches!(
        reg.redeem_token(&token.credentials(), now()),
        Err(RedeemError::Used)
    ));
}

#[test]
fn a_multi_use_token_works_n_times() {
    let (_dir, reg) = open();
    let token = reg.create_token(HOUR, 3).unwrap();
    for _ in 0..3 {
        reg.redeem_token(&token.credentials(), now()).unwrap();
    }
    assert!(matches!(
        reg.redeem_token(&token.credentials(), now()),
        Err(RedeemError::Used)
    ));
    assert_eq!(reg.tokens().unwrap()[0].uses_left, 0);
}

#[test]
fn an_expired_token_is_refused() {
    let (_dir, reg) = open();
    let token = reg.create_token(HOUR, 1).unwrap();
    let later = now() + time::Duration::hours(2);
    assert!(matches!(
        reg.redeem_token(&token.credentials(), later),
        Err(RedeemError::Expired)
    ));
    // Refusal consumed nothing.
    reg.redeem_token(&token.credentials(), now()).unwrap();
}

#[test]
fn wrong_unknown_or_malformed_credentials_are_invalid() {
    let (_dir, reg) = open();
    let token = reg.create_token(HOUR, 1).unwrap();
    let wrong_secret = format!("{}.{}", token.id, "0".repeat(SECRET_LEN));
    let unknown_id = format!("{}.{}", "0".repeat(ID_LEN), token.secret);
    for creds in [
        wrong_secret.as_str(),
        unknown_id.as_str(),
        "garbage",
        "",
        &token.id,
    ] {
        assert!(
            matches!(reg.redeem_token(creds, now()), Err(RedeemError::Invalid)),
            "{creds:?}"
        );
    }
    reg.redeem_token(&token.credentials(), now()).unwrap();
}

#[test]
fn token_listing_never_exposes_secrets_and_tokens_can_be_deleted() {
    let (_dir, reg) = open();
    let token = reg.create_token(HOUR, 2).unwrap();
    assert!(!format!("{token:?}").contains(&token.secret));
    let listed = reg.tokens().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].id.as_str(),
            listed[0].uses_left,
            listed[0].expires_at
        ),
        (token.id.as_str(), 2, token.expires_at)
    );
    let stored: String = reg
        .conn()
        .query_row("SELECT secret_hash FROM tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, token::secret_hash(&token.secret));
    assert!(reg.delete_token(&token.id).unwrap());
    assert!(!reg.delete_token(&token.id).unwrap());
    assert!(matches!(
        reg.redeem_token(&token.credentials(), now()),
        Err(RedeemError::Invalid)
    ));
    assert!(matches!(
        reg.create_token(HOUR, 0),
        Err(RegistryError::Invalid(_))
    ));
    assert!(matches!(
        reg.create_token(Duration::MAX, 1),
        Err(RegistryError::Invalid(_))
    ));
}

#[test]
fn concurrent_redeems_of_a_single_use_token_let_exactly_one_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    // Two connections, as with two hub processes or the CLI: the database does the locking.
    let regs = [
        Arc::new(Registry::open(&path).unwrap()),
        Arc::new(Registry::open(&path).unwrap()),
    ];
    for _ in 0..10 {
        let creds = regs[0].create_token(HOUR, 1).unwrap().credentials();
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = regs
            .iter()
            .map(|reg| {
                let (reg, barrier, creds) = (Arc::clone(reg), Arc::clone(&barrier), creds.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    reg.redeem_token(&creds, now())
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results.iter().any(|r| matches!(r, Err(RedeemError::Used))),
            "{results:?}"
        );
    }
}

#[test]
fn revocation_covers_every_cert_of_the_node_until_it_enrolls_again() {
    let (_dir, reg) = open();
    reg.record_cert("pi-1", &cert("01")).unwrap();
    reg.record_cert("pi-1", &cert("02")).unwrap();
    reg.record_cert("pi-2", &cert("03")).unwrap();
    reg.record_cert("pi-2", &cert("03")).unwrap(); // idempotent
    assert!(reg.revoked_serials().unwrap().is_empty());

    assert_eq!(reg.revoke("pi-1").unwrap(), 2);
    assert_eq!(reg.revoke("pi-1").unwrap(), 0);
    assert_eq!(reg.revoke("nobody").unwrap(), 0);
    let revoked: HashSet<String> = ["01", "02"].map(String::from).into();
    assert_eq!(reg.revoked_serials().unwrap(), revoked);
    let pi1 = reg.agent("pi-1").unwrap().unwrap();
    assert!(pi1.revoked);
    assert_eq!(pi1.serial_hex, "02");

    reg.record_cert("pi-1", &cert("04")).unwrap();
    let pi1 = reg.agent("pi-1").unwrap().unwrap();
    assert!(!pi1.revoked);
    assert_eq!(pi1.serial_hex, "04");
    assert_eq!(reg.revoked_serials().unwrap(), revoked);
    let agents = reg.agents().unwrap();
    assert_eq!(
        agents.iter().map(|a| a.node.as_str()).collect::<Vec<_>>(),
        ["pi-1", "pi-2"]
    );
    assert!(reg.agent("nobody").unwrap().is_none());
}

#[test]
fn ingest_counters_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let reg = Registry::open(&path).unwrap();
    reg.record_cert("pi-1", &cert("01")).unwrap();
    reg.record_cert("pi-2", &cert("02")).unwrap();
    let seen = now();
    let c1 = IngestCounters {
        last_seq: 42,
        accepted_total: 40,
        duplicates_total: 3,
        gaps_total: 2,
    };
    reg.save_ingest(&[("pi-1".into(), c1, seen)]).unwrap();
    let c1 = IngestCounters { last_seq: 50, ..c1 };
    reg.save_ingest(&[
        ("pi-1".into(), c1, seen),
        ("ghost".into(), IngestCounters::default(), seen),
    ])
    .unwrap();
    drop(reg);

    let reg = Registry::open(&path).unwrap();
    let loaded = reg.load_ingest().unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded["pi-1"], (c1, Some(seen)));
    let agents = reg.agents().unwrap();
    assert_eq!((agents[0].ingest, agents[0].last_seen), (c1, Some(seen)));
    assert_eq!(
        (agents[1].ingest, agents[1].last_seen),
        (IngestCounters::default(), None)
    );
    assert_eq!(
        reg.conn()
            .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        1
    );
}
