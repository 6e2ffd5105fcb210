//! Publishing what each Flavor still offers: after holds and sales change, the provider writes
//! the remainder into the Flavor's `status.remaining`, so `kubectl get flavors -o yaml` (and
//! anyone reading the store) sees the Flavor partitioned without a second Flavor object. The
//! spec stays the LRM's (the board's capacity); the ledger stays the authority for REAR.
//! Writes happen only when the remainder changes, at most once per sweep tick per Flavor.

use fluidos_protocol::flavor::{Flavor, Remaining};

use super::Provider;
use crate::clock::{now as unix_now, rfc3339};
use crate::store::{StoreError, get_typed, update_status_typed};

/// Attempts per Flavor when its status races another writer.
const ATTEMPTS: usize = 3;

impl Provider {
    /// Write `status.remaining` of every Flavor whose remainder differs from what its status
    /// says: absent when nothing is committed, what is left otherwise (all zero when nothing).
    pub async fn publish_remainders(&self) {
        let now = unix_now();
        let mut changes: Vec<(String, Option<Remaining>)> = Vec::new();
        {
            let ledger = self.ledger();
            self.catalog.for_each(|entry| {
                let Some((capacity, _)) = &entry.k8slice else {
                    return;
                };
                let name = &entry.flavor.metadata.name;
                let desired = ledger
                    .is_committed(name, now)
                    .then(|| Remaining::of(ledger.offered(name, capacity, now).as_ref(), capacity));
                let current = entry
                    .flavor
                    .status
                    .as_ref()
                    .and_then(|s| s.remaining.clone());
                if desired != current {
                    changes.push((name.clone(), desired));
                }
            });
        }
        for (name, desired) in changes {
            if let Err(error) = self.write_remaining(&name, desired, now).await {
                tracing::warn!(flavor = %name, %error, "cannot publish the Flavor's remainder");
            }
        }
    }

    async fn write_remaining(
        &self,
        name: &str,
        desired: Option<Remaining>,
        now: i64,
    ) -> Result<(), StoreError> {
        let store = self.store.as_ref();
        let ns = &self.settings.namespace;
        for _ in 0..ATTEMPTS {
            let Some(mut flavor) = get_typed::<Flavor>(store, ns, name).await? else {
                return Ok(());
            };
            let mut status = flavor.status.clone().unwrap_or_default();
            if status.remaining == desired {
                return Ok(());
            }
            status.remaining.clone_from(&desired);
            status.last_update_time = rfc3339(now);
            if status.creation_time.is_empty() {
                status
                    .creation_time
                    .clone_from(&flavor.metadata.creation_timestamp);
            }
            flavor.status = Some(status);
            match update_status_typed(store, &flavor).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}
