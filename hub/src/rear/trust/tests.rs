use super::*;
use crate::hub_identity::HubIdentity;

fn hub() -> (tempfile::TempDir, Pki) {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::init(dir.path(), &HubIdentity::generate("fluidos.eu"), &[]).unwrap();
    (dir, pki)
}

#[test]
fn fingerprints_parse_in_both_spellings() {
    let fp: [u8; 32] = std::array::from_fn(|i| (i * 7 + 0xa0) as u8);
    let text = format_fingerprint(&fp);
    assert!(
        text.starts_with("sha256:") && text.len() == 7 + 64,
        "{text}"
    );
    assert_eq!(parse_fingerprint(&text).unwrap(), fp);
    assert_eq!(parse_fingerprint(&text.to_uppercase()).unwrap(), fp);
    let colons = fp
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    assert_eq!(parse_fingerprint(&colons).unwrap(), fp);
    assert_eq!(parse_fingerprint(&colons.to_lowercase()).unwrap(), fp);
    assert_eq!(parse_fingerprint(&format!("  {text}\n")).unwrap(), fp);
}

#[test]
fn bad_fingerprints_are_refused() {
    let hex64 = "ab".repeat(32);
    for bad in [
        String::new(),
        hex64.clone(),
        format!("sha1:{hex64}"),
        format!("sha256:{}", &hex64[..62]),
        format!("sha256:{hex64}00"),
        format!("sha256:{}zz", &hex64[..62]),
        ["AB"; 31].join(":"),
        ["AB"; 33].join(":"),
        format!("{}:ABC", ["AB"; 31].join(":")),
        format!("{}:G0", ["AB"; 31].join(":")),
        "sha256:é".to_owned(),
    ] {
        let err = parse_fingerprint(&bad).unwrap_err();
        assert!(matches!(err, TrustError::Fingerprint(_)), "{bad:?}: {err}");
    }
}

#[test]
fn fingerprint_is_sha256_of_der() {
    let fp = fingerprint(b"abc");
    assert_eq!(
        hex::encode(fp),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn only_node_identities_are_rear_peers() {
    let node = Identity::Node {
        domain: "fluidos.eu".into(),
        node_id: "abc123".into(),
    };
    assert_eq!(
        node_of(node).unwrap(),
        NodePeer {
            domain: "fluidos.eu".into(),
            node_id: "abc123".into()
        }
    );
    let agent = Identity::Agent {
        domain: "fluidos.eu".into(),
        node: "pi-1".into(),
    };
    assert!(node_of(agent).is_err());
}

#[test]
fn agent_certificates_are_not_nodes() {
    let (_dir, pki) = hub();
    let (agent, _key) = pki
        .issue_agent_cert("pi-1", std::time::Duration::from_secs(3600))
        .unwrap();
    assert!(node_of_der(&agent.der).is_err());
    assert!(node_of_der(b"not a certificate").is_err());
}

#[test]
fn ca_bundles_with_several_certificates_are_accepted() {
    let (dir, pki) = hub();
    let (_other_dir, other) = hub();
    let bundle = dir.path().join("peers.pem");
    std::fs::write(&bundle, format!("{}{}", other.ca_pem(), pki.ca_pem())).unwrap();
    let trust = PeerTrust {
        ca_files: vec![bundle],
        fingerprints: vec![[1; 32]],
    };
    let tls = RearTls::new(&pki, dir.path(), &trust).unwrap();
    assert_eq!(tls.server.alpn_protocols, vec![b"http/1.1".to_vec()]);
    assert_eq!(tls.client.alpn_protocols, vec![b"http/1.1".to_vec()]);
    assert_eq!(trust_roots(&pki, &trust.ca_files).unwrap().len(), 3);
}

#[test]
fn unusable_ca_files_name_the_path() {
    let (dir, pki) = hub();
    let missing = dir.path().join("missing.pem");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    for path in [missing, empty, garbage] {
        let trust = PeerTrust {
            ca_files: vec![path.clone()],
            fingerprints: vec![],
        };
        let err = RearTls::new(&pki, dir.path(), &trust).unwrap_err();
        assert!(
            matches!(
                err,
                TrustError::CaRead { .. } | TrustError::CaInvalid { .. }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn missing_node_certificate_is_a_pki_error() {
    let (dir, pki) = hub();
    std::fs::remove_file(dir.path().join(crate::pki::SERVER_KEY)).unwrap();
    let err = RearTls::new(&pki, dir.path(), &PeerTrust::default()).unwrap_err();
    assert!(matches!(err, TrustError::Pki(_)), "{err:?}");
}
