//! Leader election on a `coordination.k8s.io` Lease (kube-lease-manager): the controllers of a
//! replicated hub run on the Lease holder only. [`run_while_leader`] starts the work when this
//! replica acquires the Lease and cancels it when the Lease is lost; on shutdown the Lease is
//! released so another replica takes over at once instead of after the Lease expires.

use std::future::Future;
use std::time::Duration;

use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use tokio_util::sync::CancellationToken;

/// Where the Lease is and who we are.
#[derive(Debug, Clone)]
pub struct LeaderSettings {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Lease name.
    pub lease_name: String,
    /// This replica's identity (pod name).
    pub identity: String,
    /// Lease duration: a dead leader is replaced after about this long.
    pub duration: Duration,
}

/// Why leader election could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up leader election on Lease {namespace}/{name}")]
pub struct LeaderError {
    namespace: String,
    name: String,
    #[source]
    source: kube_lease_manager::LeaseManagerError,
}

/// The identity of this replica: `$POD_NAME`, else the host name, else a random one.
pub fn replica_identity() -> String {
    std::env::var("POD_NAME")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
        })
        .map(|host| format!("{host}-{}", std::process::id()))
        .unwrap_or_else(|| format!("fluidos-hub-{}", rand::random::<u32>()))
}

/// Run `work` while this replica holds the Lease, until `shutdown`. `work` gets a token that
/// is cancelled when leadership ends; it is started again when leadership comes back.
pub async fn run_while_leader<F, Fut>(
    client: Client,
    settings: LeaderSettings,
    shutdown: CancellationToken,
    work: F,
) -> Result<(), LeaderError>
where
    F: Fn(CancellationToken) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let seconds = settings.duration.as_secs().max(2);
    let manager = LeaseManagerBuilder::new(client, &settings.lease_name)
        .with_namespace(&settings.namespace)
        .with_identity(&settings.identity)
        .with_duration(seconds)
        .with_grace((seconds / 3).max(1))
        .build()
        .await
        .map_err(|source| LeaderError {
            namespace: settings.namespace.clone(),
            name: settings.lease_name.clone(),
            source,
        })?;
    let (mut leading, lease_task) = manager.watch().await;
    let mut current: Option<(CancellationToken, tokio::task::JoinHandle<()>)> = None;
    loop {
        let is_leader = *leading.borrow_and_update();
        current = transition(current, is_leader, &settings, &shutdown, &work).await;
        tokio::select! {
            () = shutdown.cancelled() => break,
            changed = leading.changed() => if changed.is_err() { break },
        }
    }
    stop(current).await;
    // Closing the channel makes the lease task release the Lease.
    drop(leading);
    if let Ok(Err(error)) = lease_task.await {
        tracing::warn!(error = %error, "releasing the Lease failed; it will expire");
    }
    Ok(())
}

async fn transition<F, Fut>(
    current: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
    is_leader: bool,
    settings: &LeaderSettings,
    shutdown: &CancellationToken,
    work: &F,
) -> Option<(CancellationToken, tokio::task::JoinHandle<()>)>
where
    F: Fn(CancellationToken) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match (current, is_leader) {
        (None, true) => {
            tracing::info!(identity = %settings.identity, lease = %settings.lease_name, "acquired the Lease: starting controllers");
            let token = shutdown.child_token();
            let handle = tokio::spawn(work(token.clone()));
            Some((token, handle))
        }
        (Some(running), false) => {
            tracing::warn!(identity = %settings.identity, lease = %settings.lease_name, "lost the Lease: stopping controllers");
            stop(Some(running)).await;
            None
        }
        (current, _) => current,
    }
}

async fn stop(current: Option<(CancellationToken, tokio::task::JoinHandle<()>)>) {
    if let Some((token, handle)) = current {
        token.cancel();
        if let Err(error) = handle.await {
            tracing::warn!(error = %error, "controller task ended abnormally");
        }
    }
}
