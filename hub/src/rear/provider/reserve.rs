//! RESERVE: authorize the buyer by its certificate, check the Flavor is for sale, place a
//! hold in the ledger, persist the Transaction, answer it. A retried reserve (same buyer,
//! Flavor and partition, hold still live) extends and returns the same transaction.

use std::collections::BTreeMap;

use fluidos_protocol::configuration::{Configuration, K8SliceConfiguration};
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::node::{NodeIdentity, WireAdditionalInformation, WireNodeIdentity};
use fluidos_protocol::rear::{ReserveRequest, WireTransaction};
use fluidos_protocol::reservation::{Transaction, TransactionSpec, new_transaction_id};

use super::{Provider, ROLE_LABEL, ROLE_PROVIDER, RearError};
use crate::clock::{after, now as unix_now, rfc3339};
use crate::rear::ledger::{Claim, Commitment, Stage};
use crate::rear::trust::NodePeer;
use crate::store::{StoreError, create_typed, get_typed, update_typed};

impl Provider {
    /// Handle `POST /api/v2/reservations`. `caller` is the TLS peer (`None` on the opt-in
    /// plain-HTTP listener, where upstream's unauthenticated behaviour applies).
    pub async fn reserve(
        &self,
        caller: Option<&NodePeer>,
        req: ReserveRequest,
    ) -> Result<WireTransaction, RearError> {
        authorize_buyer(caller, &req.buyer)?;
        if req.buyer.id == self.me.node_id {
            return Err(RearError::BadRequest(
                "a node cannot buy its own flavor".into(),
            ));
        }
        let requested = requested_partition(req.configuration.as_ref())?;
        let (commitment, renewed) = self.hold(&req, requested.as_ref())?;
        let tx = transaction_object(&self.settings.namespace, &req, &commitment);
        if let Err(error) = self.persist_hold(&tx, renewed).await {
            if !renewed {
                self.ledger().remove(&commitment.transaction_id);
            }
            return Err(error.into());
        }
        tracing::info!(
            transaction = %commitment.transaction_id,
            flavor = %req.flavor_id,
            buyer = %req.buyer.id,
            renewed,
            "reserved"
        );
        Ok(wire_transaction(&tx))
    }

    /// Place (or renew) the hold in the ledger; returns it and whether it was renewed.
    fn hold(
        &self,
        req: &ReserveRequest,
        requested: Option<&K8SliceConfiguration>,
    ) -> Result<(Commitment, bool), RearError> {
        let entry = self
            .catalog
            .get(&req.flavor_id)
            .ok_or_else(|| RearError::NotFound(format!("flavor {} not found", req.flavor_id)))?;
        if !entry.flavor.spec.availability {
            return Err(RearError::Conflict(format!(
                "flavor {} is not available",
                req.flavor_id
            )));
        }
        let Some((capacity, policy)) = &entry.k8slice else {
            return Err(RearError::BadRequest(format!(
                "flavor type {} is not supported by this provider",
                entry.flavor.spec.flavor_type.type_identifier
            )));
        };
        let now = unix_now();
        let expires_at = after(now, self.settings.transaction_ttl);
        let mut ledger = self.ledger();
        let wanted = requested.map_or(Claim::Whole, |p| {
            Claim::Part(fluidos_protocol::partition::effective(p, policy))
        });
        if let Some(held) = ledger.find_held(&req.buyer.id, &req.flavor_id, &wanted, now) {
            let mut renewed = held.clone();
            renewed.expires_at = expires_at;
            ledger.insert(renewed.clone());
            return Ok((renewed, true));
        }
        let claim = ledger
            .claim(&req.flavor_id, capacity, policy, requested, now)
            .map_err(|e| RearError::Conflict(format!("flavor {}: {e}", req.flavor_id)))?;
        let commitment = Commitment {
            transaction_id: new_transaction_id(rand::random(), nanos_now()),
            flavor_id: req.flavor_id.clone(),
            buyer_id: req.buyer.id.clone(),
            claim,
            expires_at,
            stage: Stage::Held,
        };
        ledger.insert(commitment.clone());
        Ok((commitment, false))
    }

    async fn persist_hold(&self, tx: &Transaction, renewed: bool) -> Result<(), StoreError> {
        let store = self.store.as_ref();
        if !renewed {
            create_typed(store, tx).await?;
            return Ok(());
        }
        let meta = &tx.metadata;
        match get_typed::<Transaction>(store, &meta.namespace, &meta.name).await? {
            Some(mut current) => {
                current
                    .spec
                    .expiration_time
                    .clone_from(&tx.spec.expiration_time);
                update_typed(store, &current).await?;
            }
            None => {
                create_typed(store, tx).await?;
            }
        }
        Ok(())
    }
}

/// With mutual TLS, the buyer must be the caller's certificate identity.
fn authorize_buyer(caller: Option<&NodePeer>, buyer: &WireNodeIdentity) -> Result<(), RearError> {
    match caller {
        Some(peer) if peer.node_id != buyer.id || peer.domain != buyer.domain => {
            Err(RearError::Forbidden(format!(
                "buyerID {}/{} does not match the caller's certificate identity {}/{}",
                buyer.domain, buyer.id, peer.domain, peer.node_id
            )))
        }
        _ => Ok(()),
    }
}

/// The K8Slice partition asked for (`None`: the whole Flavor).
fn requested_partition(
    configuration: Option<&Configuration>,
) -> Result<Option<K8SliceConfiguration>, RearError> {
    let Some(configuration) = configuration else {
        return Ok(None);
    };
    match configuration.k8slice_data() {
        None => Err(RearError::BadRequest(format!(
            "Configuration type {:?} not supported",
            configuration.type_identifier
        ))),
        Some(Err(e)) => Err(RearError::BadRequest(format!(
            "invalid k8slice configuration: {e}"
        ))),
        Some(Ok(part)) => Ok(Some(part)),
    }
}

/// The configuration a claim stands for (CR form); `None` for the whole Flavor.
pub(super) fn claim_configuration(claim: &Claim) -> Option<Configuration> {
    match claim {
        Claim::Whole => None,
        Claim::Part(part) => Configuration::k8slice(part).ok(),
    }
}

fn transaction_object(namespace: &str, req: &ReserveRequest, c: &Commitment) -> Transaction {
    let mut buyer = NodeIdentity::from(&req.buyer);
    // Whatever the buyer sent besides its liqoID (e.g. a kubeconfig) is not kept.
    let cluster_id = req
        .buyer
        .additional_information
        .as_ref()
        .and_then(|a| a.liqo_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| req.buyer.id.clone());
    buyer.additional_information = None;
    let metadata = ObjectMeta {
        name: c.transaction_id.clone(),
        namespace: namespace.to_owned(),
        labels: BTreeMap::from([(ROLE_LABEL.to_owned(), ROLE_PROVIDER.to_owned())]),
        ..ObjectMeta::default()
    };
    Transaction::new(
        metadata,
        TransactionSpec {
            flavor_id: c.flavor_id.clone(),
            buyer,
            cluster_id,
            configuration: claim_configuration(&c.claim),
            expiration_time: rfc3339(c.expires_at),
        },
    )
}

fn wire_transaction(tx: &Transaction) -> WireTransaction {
    let mut buyer = WireNodeIdentity::from(&tx.spec.buyer);
    buyer.additional_information = Some(WireAdditionalInformation {
        liqo_id: Some(tx.spec.cluster_id.clone()),
        kubeconfig: None,
    });
    WireTransaction {
        transaction_id: tx.metadata.name.clone(),
        flavor_id: tx.spec.flavor_id.clone(),
        configuration: tx.spec.configuration.as_ref().map(Configuration::to_wire),
        buyer,
        cluster_id: tx.spec.cluster_id.clone(),
        expiration_time: tx.spec.expiration_time.clone(),
    }
}

fn nanos_now() -> i128 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos()
}
