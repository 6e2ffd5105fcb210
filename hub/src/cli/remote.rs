//! `fluidos-hub flavors --remote`: ask every peer (`[rear].peers` and the KnownClusters)
//! for its Flavors over REAR, concurrently, with this hub's node certificate and trust
//! settings. A peer that fails gets one line on stderr (`peer <addr>: <error>`) and does not
//! stop the others; the command fails only when every peer does.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use fluidos_protocol::configuration::cr_type_identifier;
use fluidos_protocol::flavor::{Characteristics, TYPE_K8SLICE};
use fluidos_protocol::rear::{WireFlavor, WireK8SliceData};
use serde::Serialize;

use super::Output;
use super::state;
use super::table;
use crate::config::Config;
use crate::pki::Pki;
use crate::rear::calls::{CallError, list_flavors};
use crate::rear::client::{ClientSettings, RearClient};
use crate::rear::trust::{PeerTrust, RearTls};

/// Largest LIST_FLAVORS answer read from one peer.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// One remote flavor (`--json` / `-o yaml` element): the peer asked and the wire flavor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RemoteFlavor {
    /// The peer address asked.
    pub peer: String,
    /// The flavor as the peer sent it.
    pub flavor: WireFlavor,
}

/// Run `flavors --remote`.
pub(super) async fn run(config: &Config, output: Output) -> anyhow::Result<ExitCode> {
    let store = state::open_read_only(config).await?;
    let peers = state::distinct_addresses(&state::peers(config, store.as_ref()).await?);
    if peers.is_empty() {
        eprintln!("no REAR peers: set [rear].peers in the config file or add KnownClusters");
    }
    let client = client(config).await?;
    let answers = ask_all(&client, &peers).await;
    let mut flavors = Vec::new();
    let mut failed = 0usize;
    for (peer, answer) in peers.iter().zip(answers) {
        match answer {
            Ok(list) => flavors.extend(list.into_iter().map(|flavor| RemoteFlavor {
                peer: peer.clone(),
                flavor,
            })),
            Err(e) => {
                failed += 1;
                eprintln!("peer {peer}: {e}");
            }
        }
    }
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&flavors)?),
        Output::Yaml => print!("{}", serde_yaml::to_string(&flavors)?),
        Output::Table => print!("{}", render(&flavors)),
    }
    let all_failed = failed > 0 && failed == peers.len();
    Ok(if all_failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A REAR client with our node certificate, the configured trust and `discovery_timeout`.
async fn client(config: &Config) -> anyhow::Result<RearClient> {
    let dir = config.state_dir.clone();
    let trust = PeerTrust {
        ca_files: config.rear.trusted_ca_files.clone(),
        fingerprints: config.rear.trusted_fingerprints.clone(),
    };
    let tls = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let identity = state::identity(&dir)?;
        let pki = Pki::load(&dir, &identity.domain)?;
        RearTls::new(&pki, &dir, &trust).context("cannot set up REAR TLS")
    })
    .await??;
    let settings = ClientSettings {
        timeout: config.rear.discovery_timeout,
        max_body: MAX_BODY,
    };
    Ok(RearClient::new(Some(Arc::clone(&tls.client)), settings)
        .allow_plain(config.rear.allow_plain_peers))
}

/// LIST_FLAVORS at every peer concurrently; the answers in the order of `peers`, errors as
/// one line (`a: b: c`).
async fn ask_all(client: &RearClient, peers: &[String]) -> Vec<Result<Vec<WireFlavor>, String>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, peer) in peers.iter().enumerate() {
        let (client, peer) = (client.clone(), peer.clone());
        tasks.spawn(async move {
            let answer = list_flavors(&client, &peer, None).await;
            (i, answer.map_err(|e: CallError| e.chain()))
        });
    }
    let mut answers: Vec<Result<Vec<WireFlavor>, String>> =
        vec![Err("no answer".to_owned()); peers.len()];
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, answer)) => answers[i] = answer,
            Err(e) => tracing::warn!(error = %e, "a peer query task failed"),
        }
    }
    answers
}

/// PEER, FLAVOR, OWNER, ARCH, CPU, MEMORY, PODS, AVAILABLE.
pub(crate) fn render(flavors: &[RemoteFlavor]) -> String {
    let rows: Vec<Vec<String>> = flavors.iter().map(row).collect();
    let headers = [
        "PEER",
        "FLAVOR",
        "OWNER",
        "ARCH",
        "CPU",
        "MEMORY",
        "PODS",
        "AVAILABLE",
    ];
    table::render(&headers, &rows)
}

fn row(remote: &RemoteFlavor) -> Vec<String> {
    let f = &remote.flavor;
    let dash = || "-".to_owned();
    let chars = characteristics(f);
    vec![
        remote.peer.clone(),
        f.flavor_id.clone(),
        f.owner.id.clone(),
        chars.as_ref().map_or_else(dash, |c| c.architecture.clone()),
        chars.as_ref().map_or_else(dash, |c| c.cpu.to_string()),
        chars.as_ref().map_or_else(dash, |c| c.memory.to_string()),
        chars.as_ref().map_or_else(dash, |c| c.pods.to_string()),
        f.availability.to_string(),
    ]
}

/// The capacity of a K8Slice wire flavor (`None` for other types or undecodable data).
fn characteristics(flavor: &WireFlavor) -> Option<Characteristics> {
    if cr_type_identifier(&flavor.flavor_type.name) != TYPE_K8SLICE {
        return None;
    }
    serde_json::from_value::<WireK8SliceData>(flavor.flavor_type.data.clone())
        .ok()
        .map(|d| d.characteristics)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn wire(id: &str, owner: &str, data: serde_json::Value, name: &str) -> WireFlavor {
        serde_json::from_value(json!({
            "flavorID": id,
            "providerID": owner,
            "type": {"name": name, "data": data},
            "timestamp": "2025-01-01T00:00:00Z",
            "price": {"amount": "", "currency": "", "period": ""},
            "owner": {"ID": owner, "IP": "10.0.0.9:3004", "domain": "fluidos.eu"},
            "availability": true
        }))
        .unwrap()
    }

    #[test]
    fn rows_show_peer_owner_and_size() {
        let k8s = json!({"charateristics": {"architecture": "arm64", "cpu": "4",
            "memory": "8Gi", "pods": "110"}});
        let flavors = [
            RemoteFlavor {
                peer: "10.0.0.9:3004".into(),
                flavor: wire("fluidos.eu-k8slice-0a1b", "seller1", k8s, "k8slice"),
            },
            RemoteFlavor {
                peer: "10.0.0.9:3004".into(),
                flavor: wire("svc-1", "seller1", json!({}), "service"),
            },
        ];
        let out = render(&flavors);
        let lines: Vec<Vec<&str>> = out
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            lines[0],
            [
                "PEER",
                "FLAVOR",
                "OWNER",
                "ARCH",
                "CPU",
                "MEMORY",
                "PODS",
                "AVAILABLE"
            ]
        );
        assert_eq!(
            lines[1],
            [
                "10.0.0.9:3004",
                "fluidos.eu-k8slice-0a1b",
                "seller1",
                "arm64",
                "4",
                "8Gi",
                "110",
                "true"
            ]
        );
        assert_eq!(lines[2][3..7], ["-", "-", "-", "-"]);
        let v = serde_json::to_value(&flavors[0]).unwrap();
        assert_eq!(v["peer"], "10.0.0.9:3004");
        assert_eq!(v["flavor"]["flavorID"], "fluidos.eu-k8slice-0a1b");
    }
}
