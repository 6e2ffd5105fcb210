//! `fluidos-hub peers`: the REAR peers this hub queries when it looks for a candidate (the
//! static `[rear].peers` and the KnownClusters in the store) and what it trusts them with.

use std::process::ExitCode;

use serde::Serialize;

use super::state::{self, PeerEntry};
use super::table;
use crate::config::{Config, RearConfig};
use crate::rear::trust::format_fingerprint;

/// `peers` options.
#[derive(Debug, clap::Args)]
pub struct PeersArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The whole answer of `peers --json` (keys are part of the CLI contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PeersView {
    /// Every peer, configured ones first.
    pub peers: Vec<PeerEntry>,
    /// Trusted peer CA bundles (besides our own CA).
    pub trusted_ca_files: Vec<String>,
    /// Pinned peer certificate fingerprints (`sha256:<hex>`).
    pub trusted_fingerprints: Vec<String>,
    /// Whether plain-HTTP (`http://`) peers may be used.
    pub allow_plain_peers: bool,
}

/// The view of `peers` under the `[rear]` trust settings.
pub(crate) fn view(peers: Vec<PeerEntry>, rear: &RearConfig) -> PeersView {
    PeersView {
        peers,
        trusted_ca_files: rear
            .trusted_ca_files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        trusted_fingerprints: rear
            .trusted_fingerprints
            .iter()
            .map(format_fingerprint)
            .collect(),
        allow_plain_peers: rear.allow_plain_peers,
    }
}

/// Run `peers`.
pub(super) async fn run(config: &Config, args: &PeersArgs) -> anyhow::Result<ExitCode> {
    let store = state::open_read_only(config).await?;
    let peers = state::peers(config, store.as_ref()).await?;
    let view = view(peers, &config.rear);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", render(&view));
    }
    Ok(ExitCode::SUCCESS)
}

/// The table, then one line about trust.
pub(crate) fn render(view: &PeersView) -> String {
    let rows: Vec<Vec<String>> = view
        .peers
        .iter()
        .map(|p| {
            let name = if p.name.is_empty() { "-" } else { &p.name };
            vec![p.address.clone(), p.source.to_owned(), name.to_owned()]
        })
        .collect();
    let mut out = table::render(&["PEER", "SOURCE", "NAME"], &rows);
    out.push_str(&format!(
        "trusted CA files: {}, pinned fingerprints: {}, plain-HTTP peers: {}\n",
        view.trusted_ca_files.len(),
        view.trusted_fingerprints.len(),
        if view.allow_plain_peers {
            "allowed"
        } else {
            "refused"
        }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RearFile;

    #[test]
    fn peers_and_trust_are_shown() {
        let rear = RearConfig::resolve(
            RearFile {
                trusted_ca_files: Some(vec!["/etc/peer-ca.pem".into()]),
                trusted_fingerprints: Some(vec![format!("sha256:{}", "ab".repeat(32))]),
                ..RearFile::default()
            },
            None,
            true,
        )
        .unwrap();
        let peers = vec![
            PeerEntry {
                address: "10.0.0.1:3004".into(),
                source: state::SOURCE_CONFIG,
                name: String::new(),
            },
            PeerEntry {
                address: "10.0.0.2:3004".into(),
                source: state::SOURCE_KNOWN_CLUSTER,
                name: "knowncluster-b".into(),
            },
        ];
        let v = view(peers, &rear);
        let out = render(&v);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["PEER", "SOURCE", "NAME"]
        );
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["10.0.0.1:3004", "config", "-"]
        );
        assert!(lines[2].contains("knowncluster-b"));
        assert_eq!(
            lines[3],
            "trusted CA files: 1, pinned fingerprints: 1, plain-HTTP peers: refused"
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["peers"][0]["source"], "config");
        assert!(json["peers"][0].get("name").is_none());
        assert_eq!(
            json["trustedFingerprints"][0],
            format!("sha256:{}", "ab".repeat(32))
        );
        assert_eq!(json["trustedCaFiles"][0], "/etc/peer-ca.pem");
    }
}
