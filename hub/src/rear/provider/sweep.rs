//! Start and housekeeping: [`Provider::load`] rebuilds the catalog and the ledger from the
//! store; [`Provider::run`] follows the store's watch (Flavors into the catalog, contracts
//! terminated by an operator release their capacity) and releases lapsed holds and ended
//! contracts once a second.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fluidos_protocol::allocation::{Allocation, AllocationStatus, allocation_name_for};
use fluidos_protocol::flavor::Flavor;
use fluidos_protocol::node::NodeIdentity;
use fluidos_protocol::phase::Phase;
use fluidos_protocol::reservation::{
    CONTRACT_KIND, Contract, ContractStatus, TRANSACTION_KIND, Transaction, TransactionStatus,
};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::{PeeringDriver, Provider, ProviderSettings, ROLE_LABEL, ROLE_PROVIDER};
use crate::clock::{new_phase, now as unix_now, parse as parse_rfc3339, rfc3339};
use crate::rear::catalog::Catalog;
use crate::rear::ledger::{Claim, Commitment, Ledger, Stage};
use crate::store::{
    Store, StoreError, WatchEvent, decode, get_typed, list_typed, update_status_typed,
};

/// How often lapsed commitments are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl Provider {
    /// Open the provider on `store`: subscribe to changes, then read Flavors, Transactions and
    /// Contracts. Returns the provider and the subscription to hand to [`Provider::run`].
    pub async fn load(
        store: Arc<dyn Store>,
        me: NodeIdentity,
        settings: ProviderSettings,
        driver: Arc<dyn PeeringDriver>,
    ) -> Result<(Arc<Self>, broadcast::Receiver<WatchEvent>), StoreError> {
        let events = store.watch();
        let ns = settings.namespace.clone();
        let catalog = Catalog::new(&ns);
        catalog.reset(list_typed::<Flavor>(store.as_ref(), Some(&ns)).await?);
        let mut ledger = Ledger::new();
        for tx in list_typed::<Transaction>(store.as_ref(), Some(&ns)).await? {
            if let Some(c) = held_commitment(&tx) {
                ledger.insert(c);
            }
        }
        for contract in list_typed::<Contract>(store.as_ref(), Some(&ns)).await? {
            if let Some(c) = sold_commitment(&contract, &me) {
                ledger.insert(c);
            }
        }
        tracing::info!(
            flavors = catalog.len(),
            commitments = ledger.len(),
            "REAR provider loaded"
        );
        let provider = Self {
            store,
            me,
            settings,
            catalog,
            ledger: Mutex::new(ledger),
            driver,
        };
        Ok((Arc::new(provider), events))
    }

    /// Follow the store and sweep until `shutdown`.
    pub async fn run(
        self: Arc<Self>,
        mut events: broadcast::Receiver<WatchEvent>,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    self.sweep().await;
                    self.publish_remainders().await;
                }
                event = events.recv() => match event {
                    Ok(event) => self.on_change(&event).await,
                    Err(RecvError::Lagged(missed)) => self.resync(missed).await,
                    Err(RecvError::Closed) => break,
                },
            }
        }
    }

    async fn resync(&self, missed: u64) {
        tracing::warn!(
            missed,
            "REAR provider fell behind the store; reloading Flavors"
        );
        let ns = &self.settings.namespace;
        match list_typed::<Flavor>(self.store.as_ref(), Some(ns)).await {
            Ok(flavors) => self.catalog.reset(flavors),
            Err(error) => tracing::error!(%error, "cannot reload Flavors"),
        }
    }

    async fn on_change(&self, event: &WatchEvent) {
        self.catalog.apply(event);
        let obj = event.object();
        if obj.namespace != self.settings.namespace {
            return;
        }
        self.follow(event);
        if obj.kind != CONTRACT_KIND {
            return;
        }
        let Ok(contract) = decode::<Contract>(obj) else {
            return;
        };
        let ended = matches!(event, WatchEvent::Deleted(_)) || !is_active(contract.status.as_ref());
        if !ended {
            return;
        }
        let tx = &contract.spec.transaction_id;
        let released = {
            let mut ledger = self.ledger();
            let ours = ledger
                .get(tx)
                .is_some_and(|c| matches!(c.stage, Stage::Sold { .. }));
            if ours { ledger.remove(tx) } else { None }
        };
        if let Some(c) = released {
            tracing::info!(contract = %obj.name, "contract ended; capacity released");
            self.release_sold(&c, &obj.name).await;
        }
    }

    /// Keep the ledger in step with holds and sales written by other replicas of this hub
    /// (they share the store in Kubernetes mode), so every replica's gateway offers the same
    /// remainder. Ended contracts are handled by the caller (credentials, Allocation).
    fn follow(&self, event: &WatchEvent) {
        let obj = event.object();
        let deleted = matches!(event, WatchEvent::Deleted(_));
        if obj.kind == TRANSACTION_KIND {
            let Ok(tx) = decode::<Transaction>(obj) else {
                return;
            };
            match held_commitment(&tx).filter(|_| !deleted) {
                Some(hold) => drop(self.ledger().adopt(hold)),
                None => drop(self.ledger().release_hold(&obj.name)),
            }
        } else if obj.kind == CONTRACT_KIND && !deleted {
            let sold = decode::<Contract>(obj)
                .ok()
                .and_then(|contract| sold_commitment(&contract, &self.me));
            if let Some(sold) = sold {
                self.ledger().adopt(sold);
            }
        }
    }

    /// Release every commitment that lapsed.
    pub async fn sweep(&self) {
        let lapsed: Vec<Commitment> = {
            let mut ledger = self.ledger();
            let ids = ledger.lapsed(unix_now());
            ids.iter().filter_map(|id| ledger.remove(id)).collect()
        };
        for c in lapsed {
            if let Err(error) = self.expire(&c).await {
                tracing::warn!(transaction = %c.transaction_id, %error, "cannot record the expiry");
            }
        }
    }

    async fn expire(&self, c: &Commitment) -> Result<(), StoreError> {
        match &c.stage {
            Stage::Held => {
                tracing::info!(transaction = %c.transaction_id, flavor = %c.flavor_id, "hold expired");
                let ns = &self.settings.namespace;
                let store = self.store.as_ref();
                if let Some(mut tx) = get_typed::<Transaction>(store, ns, &c.transaction_id).await?
                {
                    tx.status = Some(TransactionStatus {
                        phase: status(Phase::TimedOut, "Hold expired before the purchase"),
                    });
                    update_status_typed(store, &tx).await?;
                }
            }
            Stage::Sold { contract } => {
                tracing::info!(contract = %contract, "contract expired; capacity released");
                let store = self.store.as_ref();
                let ns = &self.settings.namespace;
                if let Some(mut k) = get_typed::<Contract>(store, ns, contract).await? {
                    k.status = Some(ContractStatus {
                        phase: status(Phase::Inactive, "Contract expired"),
                    });
                    update_status_typed(store, &k).await?;
                }
                self.release_sold(c, contract).await;
            }
        }
        Ok(())
    }

    /// Revoke the credentials and mark the Allocation released.
    async fn release_sold(&self, c: &Commitment, contract: &str) {
        if let Err(error) = self.driver.revoke(contract).await {
            tracing::warn!(contract = %contract, %error, "cannot revoke peering credentials");
        }
        let name = allocation_name_for(&c.flavor_id, &c.transaction_id);
        let store = self.store.as_ref();
        let ns = &self.settings.namespace;
        let result = async {
            if let Some(mut a) = get_typed::<Allocation>(store, ns, &name).await? {
                let mut s = a.status.clone().unwrap_or_default();
                s.status = Some(AllocationStatus::Released);
                s.message = "Contract ended; resources released".into();
                s.last_update_time = rfc3339(unix_now());
                a.status = Some(s);
                update_status_typed(store, &a).await?;
            }
            Ok::<(), StoreError>(())
        };
        if let Err(error) = result.await {
            tracing::warn!(allocation = %name, %error, "cannot mark the Allocation released");
        }
    }
}

fn status(phase: Phase, message: &str) -> fluidos_protocol::phase::PhaseStatus {
    new_phase(phase, message, unix_now())
}

fn is_active(status: Option<&ContractStatus>) -> bool {
    status.is_none_or(|s| matches!(s.phase.phase, Phase::Active | Phase::Empty))
}

fn claim_of(
    configuration: Option<&fluidos_protocol::configuration::Configuration>,
) -> Option<Claim> {
    match configuration {
        None => Some(Claim::Whole),
        Some(c) => c.k8slice_data()?.ok().map(Claim::Part),
    }
}

/// A provider Transaction still on hold.
fn held_commitment(tx: &Transaction) -> Option<Commitment> {
    if tx.metadata.labels.get(ROLE_LABEL).map(String::as_str) != Some(ROLE_PROVIDER) {
        return None;
    }
    let phase = tx.status.as_ref().map_or(Phase::Empty, |s| s.phase.phase);
    if !matches!(phase, Phase::Empty | Phase::Running) {
        return None;
    }
    Some(Commitment {
        transaction_id: tx.metadata.name.clone(),
        flavor_id: tx.spec.flavor_id.clone(),
        buyer_id: tx.spec.buyer.node_id.clone(),
        claim: claim_of(tx.spec.configuration.as_ref())?,
        expires_at: parse_rfc3339(&tx.spec.expiration_time).unwrap_or(0),
        stage: Stage::Held,
    })
}

/// An active Contract we sold.
fn sold_commitment(contract: &Contract, me: &NodeIdentity) -> Option<Commitment> {
    let spec = &contract.spec;
    if spec.seller.node_id != me.node_id || !is_active(contract.status.as_ref()) {
        return None;
    }
    Some(Commitment {
        transaction_id: spec.transaction_id.clone(),
        flavor_id: spec.flavor.metadata.name.clone(),
        buyer_id: spec.buyer.node_id.clone(),
        claim: claim_of(spec.configuration.as_ref())?,
        expires_at: parse_rfc3339(&spec.expiration_time).unwrap_or(i64::MAX),
        stage: Stage::Sold {
            contract: contract.metadata.name.clone(),
        },
    })
}
