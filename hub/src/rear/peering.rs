//! Peering drivers: what a purchase hands the buyer so it can use what it bought. The
//! embedded hub has no cluster to share, so [`EmbeddedDriver`] grants no credentials (empty
//! kubeconfig, clusterID = our node id); a Kubernetes driver that mints per-contract, scoped,
//! expiring credentials plugs in here. Long-lived credentials never go on the wire.

use fluidos_protocol::reservation::{ContractSpec, LiqoCredentials};

use crate::store::BoxFuture;

/// Why credentials cannot be granted or revoked.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PeeringError(pub String);

/// Grants and revokes the credentials of a contract.
pub trait PeeringDriver: Send + Sync + 'static {
    /// Credentials for the buyer of `contract` (named `name`), valid until it ends.
    fn grant<'a>(
        &'a self,
        name: &'a str,
        contract: &'a ContractSpec,
    ) -> BoxFuture<'a, Result<LiqoCredentials, PeeringError>>;

    /// Withdraw whatever [`PeeringDriver::grant`] gave for the contract `name`.
    fn revoke<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), PeeringError>>;
}

/// Embedded mode: no cluster credentials.
#[derive(Debug, Clone)]
pub struct EmbeddedDriver {
    /// Our node id (the clusterID we report).
    pub node_id: String,
}

impl PeeringDriver for EmbeddedDriver {
    fn grant<'a>(
        &'a self,
        _name: &'a str,
        _contract: &'a ContractSpec,
    ) -> BoxFuture<'a, Result<LiqoCredentials, PeeringError>> {
        Box::pin(async move {
            Ok(LiqoCredentials {
                liqo_id: self.node_id.clone(),
                kubeconfig: String::new(),
            })
        })
    }

    fn revoke<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, Result<(), PeeringError>> {
        Box::pin(async { Ok(()) })
    }
}
