//! REAR from a test: a [`RearClient`] speaking with a hub's own node certificate (so the test
//! acts as that hub, over real mutual TLS), config snippets that make hubs trust each other,
//! and direct reads of a hub's store.

use std::time::Duration;

use fluidos_hub::pki::Pki;
use fluidos_hub::rear::client::{ClientSettings, RearClient};
use fluidos_hub::rear::trust::{PeerTrust, RearTls};
use fluidos_hub::store::{Resource, SqliteStore, list_typed};

use crate::hub::TestHub;

/// Domain every test hub is initialised with.
pub const DOMAIN: &str = "test.fluidos";

/// A client that presents `hub`'s node certificate and trusts `peers`' CAs.
pub fn client_as(hub: &TestHub, peers: &[&TestHub]) -> RearClient {
    let pki = Pki::load(&hub.state, DOMAIN).expect("hub PKI");
    let trust = PeerTrust {
        ca_files: peers.iter().map(|p| p.ca_file()).collect(),
        fingerprints: Vec::new(),
    };
    let tls = RearTls::new(&pki, &hub.state, &trust).expect("REAR TLS");
    RearClient::new(
        Some(tls.client),
        ClientSettings {
            timeout: Duration::from_secs(10),
            max_body: 64 << 20,
        },
    )
}

/// `[rear]` config trusting `peers`' CAs and querying `addresses`, plus `extra` lines.
pub fn rear_config(peers: &[&TestHub], addresses: &[String], extra: &str) -> String {
    let quote = |s: String| format!("{s:?}");
    let cas: Vec<String> = peers
        .iter()
        .map(|p| quote(p.ca_file().to_string_lossy().into_owned()))
        .collect();
    let addrs: Vec<String> = addresses.iter().cloned().map(quote).collect();
    format!(
        "[rear]\ntrusted_ca_files = [{}]\npeers = [{}]\n{extra}\n",
        cas.join(", "),
        addrs.join(", ")
    )
}

/// Every `T` in `hub`'s store (read-only; works while the hub runs).
pub async fn objects<T: Resource>(hub: &TestHub) -> Vec<T> {
    let store = SqliteStore::open_read_only(&hub.state.join("hub.db")).expect("hub.db");
    list_typed::<T>(store.as_ref(), None).await.expect("list")
}
