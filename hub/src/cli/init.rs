//! `fluidos-hub init`: create a state directory and tell the operator what to do next.

use std::process::ExitCode;

use anyhow::Context as _;

use super::InitArgs;
use crate::config::Config;
use crate::hub_identity::HubIdentity;
use crate::server::{self, InitOptions};

/// Run `init`.
pub(super) async fn run(config: &Config, args: &InitArgs) -> anyhow::Result<ExitCode> {
    let dir = config.state_dir.clone();
    if HubIdentity::exists(&dir) {
        if args.if_missing {
            eprintln!("{} is already initialised; nothing to do", dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        anyhow::bail!(
            "{} is already initialised (identity.json exists); use --if-missing to accept that, \
             or choose another --state-dir",
            dir.display()
        );
    }
    let options = InitOptions {
        domain: config.domain.clone(),
        node_id: args.node_id.clone(),
        sans: args.sans.clone(),
    };
    let init_dir = dir.clone();
    let (identity, pki) = tokio::task::spawn_blocking(move || server::init(&init_dir, &options))
        .await?
        .with_context(|| format!("cannot initialise {}", dir.display()))?;
    let state = dir.display();
    println!("initialised hub {} in {state}", identity.uri());
    println!("CA hash: sha256:{}", hex::encode(pki.ca_hash()));
    println!();
    println!("next steps:");
    println!("  fluidos-hub --state-dir {state} run");
    println!("  fluidos-hub --state-dir {state} token create");
    println!("  fluidos-agent enroll --hub https://<this host>:7443 --token <token>");
    Ok(ExitCode::SUCCESS)
}
