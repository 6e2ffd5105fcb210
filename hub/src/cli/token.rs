//! `fluidos-hub token create`: mint a bootstrap token. Only the token goes to stdout, so
//! `TOKEN=$(fluidos-hub token create)` works; the expiry goes to stderr.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::Config;
use crate::hub_identity::HubIdentity;
use crate::pki::Pki;
use crate::registry::Registry;
use crate::store::DB_FILE;

/// Run `token create`.
pub(super) async fn create(config: &Config, ttl: Duration, uses: u32) -> anyhow::Result<ExitCode> {
    let dir = config.state_dir.clone();
    let (token, ca_hash) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let identity = HubIdentity::load(&dir)
            .with_context(|| format!("{} is not an initialised hub", dir.display()))?;
        let pki = Pki::load(&dir, &identity.domain)?;
        let registry = Registry::open(&dir.join(DB_FILE))?;
        Ok((registry.create_token(ttl, uses)?, pki.ca_hash()))
    })
    .await??;
    println!("{}", token.bootstrap_token(ca_hash));
    let plural = if uses == 1 { "" } else { "s" };
    eprintln!(
        "token {} expires at {} ({uses} use{plural})",
        token.id,
        super::table::rfc3339(token.expires_at)
    );
    Ok(ExitCode::SUCCESS)
}
