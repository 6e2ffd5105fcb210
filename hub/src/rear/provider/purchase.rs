//! PURCHASE: only the buyer of a transaction may buy it; a live hold becomes a Contract (with
//! credentials from the peering driver) and a provider Allocation. Idempotent: a purchase of
//! a transaction already bought answers the same contract; after a crash the retry finds or
//! finishes what the first attempt wrote (deterministic names, AlreadyExists tolerated).

use std::collections::BTreeMap;

use fluidos_protocol::allocation::{
    Allocation, AllocationObjectStatus, AllocationSpec, AllocationStatus, allocation_name_for,
};
use fluidos_protocol::flavor::Flavor;
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::node::{AdditionalInformation, NodeIdentity, WireNodeIdentity};
use fluidos_protocol::phase::{GenericRef, Phase, PhaseStatus};
use fluidos_protocol::rear::{PurchaseRequest, WireContract, WireFlavor, WireLiqoCredentials};
use fluidos_protocol::reservation::{
    Contract, ContractSpec, ContractStatus, TelemetryServer, Transaction, TransactionStatus,
    contract_name_for,
};

use super::{Provider, RearError};
use crate::clock::{after, new_phase, now as unix_now, rfc3339};
use crate::rear::ledger::{Commitment, Stage};
use crate::rear::trust::NodePeer;
use crate::store::{Resource, StoreError, create_typed, get_typed, update_status_typed};

impl Provider {
    /// Handle `POST /api/v2/transactions/{id}/purchase`.
    pub async fn purchase(
        &self,
        caller: Option<&NodePeer>,
        transaction_id: &str,
        req: PurchaseRequest,
    ) -> Result<WireContract, RearError> {
        let ns = self.settings.namespace.clone();
        let tx = get_typed::<Transaction>(self.store.as_ref(), &ns, transaction_id)
            .await?
            .ok_or_else(|| {
                RearError::NotFound(format!("transaction {transaction_id} not found"))
            })?;
        if let Some(peer) = caller
            && (peer.node_id != tx.spec.buyer.node_id || peer.domain != tx.spec.buyer.domain)
        {
            return Err(RearError::Forbidden(format!(
                "transaction {transaction_id} belongs to another buyer"
            )));
        }
        let now = unix_now();
        let name = contract_name_for(&tx.spec.flavor_id, transaction_id);
        let contract_expires = after(now, self.settings.contract_duration);
        let previous = self.begin_sale(&tx, &name, now, contract_expires)?;
        let Some(previous) = previous else {
            // Bought before: answer the same contract.
            return self.existing_contract(&name).await;
        };
        match self.record_sale(&tx, &name, contract_expires, req).await {
            Ok(contract) => Ok(contract),
            Err(error) => {
                // Back to the hold it was, so the buyer can retry.
                self.ledger().insert(previous);
                Err(error)
            }
        }
    }

    /// Move the hold to `Sold` in the ledger. `Ok(None)`: already sold; `Ok(Some(previous))`:
    /// the hold as it was (to restore on failure).
    fn begin_sale(
        &self,
        tx: &Transaction,
        contract: &str,
        now: i64,
        until: i64,
    ) -> Result<Option<Commitment>, RearError> {
        let id = &tx.metadata.name;
        let mut ledger = self.ledger();
        let Some(current) = ledger.get(id).cloned() else {
            return match tx.status.as_ref().map(|s| s.phase.phase) {
                Some(Phase::Solved) => Ok(None),
                _ => Err(RearError::Expired(format!(
                    "transaction {id} expired at {}",
                    tx.spec.expiration_time
                ))),
            };
        };
        match &current.stage {
            Stage::Sold { .. } => Ok(None),
            Stage::Held if !current.is_live(now) => {
                ledger.remove(id);
                Err(RearError::Expired(format!(
                    "transaction {id} expired at {}",
                    tx.spec.expiration_time
                )))
            }
            Stage::Held => {
                let mut sold = current.clone();
                sold.stage = Stage::Sold {
                    contract: contract.to_owned(),
                };
                sold.expires_at = until;
                ledger.insert(sold);
                Ok(Some(current))
            }
        }
    }

    async fn existing_contract(&self, name: &str) -> Result<WireContract, RearError> {
        let ns = &self.settings.namespace;
        match get_typed::<Contract>(self.store.as_ref(), ns, name).await? {
            Some(contract) => Ok(wire_contract(&contract)),
            None => Err(RearError::Conflict(format!(
                "contract {name} is being written; retry the purchase"
            ))),
        }
    }

    /// Write the Contract, the Allocation and the Transaction's status.
    async fn record_sale(
        &self,
        tx: &Transaction,
        name: &str,
        until: i64,
        req: PurchaseRequest,
    ) -> Result<WireContract, RearError> {
        let flavor = self.catalog.get(&tx.spec.flavor_id).ok_or_else(|| {
            RearError::NotFound(format!("flavor {} no longer exists", tx.spec.flavor_id))
        })?;
        let mut spec = self.contract_spec(tx, &flavor.flavor, until, req);
        spec.peering_target_credentials = self
            .driver
            .grant(name, &spec)
            .await
            .map_err(|e| RearError::Peering(e.to_string()))?;
        let ns = &self.settings.namespace;
        let meta = ObjectMeta {
            name: name.to_owned(),
            namespace: ns.clone(),
            ..ObjectMeta::default()
        };
        let mut contract = Contract::new(meta, spec);
        contract = create_or_get(self, contract).await?;
        if contract.status.is_none() {
            contract.status = Some(ContractStatus {
                phase: phase(Phase::Active, "Contract active"),
            });
            contract = update_status_typed(self.store.as_ref(), &contract).await?;
        }
        self.allocate(tx, name).await?;
        let mut tx = tx.clone();
        tx.status = Some(TransactionStatus {
            phase: phase(Phase::Solved, &format!("Purchased: contract {name}")),
        });
        update_status_typed(self.store.as_ref(), &tx).await?;
        tracing::info!(contract = %name, transaction = %tx.metadata.name, buyer = %tx.spec.buyer.node_id, "sold");
        Ok(wire_contract(&contract))
    }

    fn contract_spec(
        &self,
        tx: &Transaction,
        flavor: &Flavor,
        until: i64,
        req: PurchaseRequest,
    ) -> ContractSpec {
        let mut buyer = tx.spec.buyer.clone();
        buyer.additional_information = Some(AdditionalInformation {
            liqo_id: Some(tx.spec.cluster_id.clone()),
        });
        let mut seller: NodeIdentity = self.me.clone();
        seller.additional_information = Some(AdditionalInformation {
            liqo_id: Some(self.me.node_id.clone()),
        });
        let configuration = tx.spec.configuration.clone();
        ContractSpec {
            flavor: embedded(flavor),
            transaction_id: tx.metadata.name.clone(),
            configuration,
            buyer,
            seller,
            buyer_cluster_id: tx.spec.cluster_id.clone(),
            peering_target_credentials: Default::default(),
            expiration_time: rfc3339(until),
            extra_information: BTreeMap::new(),
            network_requests: String::new(),
            ingress_telemetry_endpoint: req.ingress_telemetry_endpoint.map(|t| TelemetryServer {
                endpoint: t.endpoint,
                intents: t.intents,
            }),
        }
    }

    async fn allocate(&self, tx: &Transaction, contract: &str) -> Result<(), RearError> {
        let ns = &self.settings.namespace;
        let name = allocation_name_for(&tx.spec.flavor_id, &tx.metadata.name);
        let meta = ObjectMeta {
            name,
            namespace: ns.clone(),
            ..ObjectMeta::default()
        };
        let spec = AllocationSpec {
            forwarding: false,
            contract: Some(GenericRef::to(ns, contract)),
        };
        let mut allocation = create_or_get(self, Allocation::new(meta, spec)).await?;
        if allocation.status.is_none() {
            allocation.status = Some(AllocationObjectStatus {
                status: Some(AllocationStatus::Active),
                message: "Resources reserved for the contract".into(),
                last_update_time: rfc3339(unix_now()),
                resource_ref: None,
            });
            update_status_typed(self.store.as_ref(), &allocation).await?;
        }
        Ok(())
    }
}

/// Create `value`, or read it when a previous attempt already did.
async fn create_or_get<T: Resource>(p: &Provider, value: T) -> Result<T, StoreError> {
    let store = p.store.as_ref();
    match create_typed(store, &value).await {
        Err(StoreError::AlreadyExists { .. }) => {
            let meta = value.meta();
            get_typed::<T>(store, &meta.namespace, &meta.name)
                .await?
                .ok_or_else(|| StoreError::Invalid(format!("{} vanished", meta.name)))
        }
        other => other,
    }
}

/// A Flavor as embedded in a Contract: metadata keeps only name, namespace and labels.
fn embedded(flavor: &Flavor) -> Flavor {
    let meta = ObjectMeta {
        name: flavor.metadata.name.clone(),
        namespace: flavor.metadata.namespace.clone(),
        labels: flavor.metadata.labels.clone(),
        ..ObjectMeta::default()
    };
    Flavor::new(meta, flavor.spec.clone())
}

fn phase(phase: Phase, message: &str) -> PhaseStatus {
    new_phase(phase, message, unix_now())
}

/// The wire form of a stored Contract.
pub fn wire_contract(contract: &Contract) -> WireContract {
    let spec = &contract.spec;
    let mut flavor_cr = spec.flavor.clone();
    if flavor_cr.metadata.creation_timestamp.is_empty() {
        flavor_cr
            .metadata
            .creation_timestamp
            .clone_from(&contract.metadata.creation_timestamp);
    }
    let flavor = WireFlavor::from_cr(&flavor_cr).unwrap_or_else(|_| fallback_flavor(&flavor_cr));
    WireContract {
        contract_id: contract.metadata.name.clone(),
        transaction_id: spec.transaction_id.clone(),
        flavor,
        buyer: WireNodeIdentity::from(&spec.buyer),
        buyer_cluster_id: spec.buyer_cluster_id.clone(),
        seller: WireNodeIdentity::from(&spec.seller),
        peering_target_credentials: WireLiqoCredentials {
            cluster_id: spec.peering_target_credentials.liqo_id.clone(),
            kubeconfig: spec.peering_target_credentials.kubeconfig.clone(),
        },
        expiration_time: (!spec.expiration_time.is_empty()).then(|| spec.expiration_time.clone()),
        extra_information: (!spec.extra_information.is_empty())
            .then(|| spec.extra_information.clone()),
        configuration: spec.configuration.as_ref().map(|c| c.to_wire()),
        network_authorizations: (!spec.network_requests.is_empty())
            .then(|| spec.network_requests.clone()),
        ingress_telemetry_endpoint: spec.ingress_telemetry_endpoint.as_ref().map(|t| {
            fluidos_protocol::rear::TelemetryEndpoint {
                endpoint: t.endpoint.clone(),
                intents: t.intents.clone(),
            }
        }),
    }
}

/// A wire flavor for a type without a wire form (never sold by us; keeps the reply valid).
fn fallback_flavor(flavor: &Flavor) -> WireFlavor {
    WireFlavor {
        flavor_id: flavor.metadata.name.clone(),
        provider_id: flavor.spec.provider_id.clone(),
        flavor_type: fluidos_protocol::rear::WireFlavorType {
            name: flavor.spec.flavor_type.type_identifier.to_ascii_lowercase(),
            data: flavor.spec.flavor_type.type_data.clone(),
        },
        network_property_type: flavor.spec.network_property_type.clone(),
        timestamp: flavor.metadata.creation_timestamp.clone(),
        location: None,
        price: flavor.spec.price.clone(),
        owner: WireNodeIdentity::from(&flavor.spec.owner),
        availability: flavor.spec.availability,
    }
}
