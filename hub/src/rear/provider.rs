//! The provider side of REAR: what the gateway's handlers call. [`Provider`] owns the
//! [`Catalog`] of our Flavors and the [`Ledger`] of holds and sales; reserve and purchase
//! persist a Transaction, then a Contract and an Allocation, in the store, so a restart
//! between any two steps loses nothing ([`Provider::load`] rebuilds the ledger).
//!
//! * [`list`](Provider::list): what is still for sale (capacity minus holds and sales);
//! * `reserve`: checks availability, places a hold, persists the Transaction;
//! * `purchase`: idempotent per transaction; makes the Contract and the Allocation;
//! * `sweep`: releases lapsed holds and ended contracts.

mod list;
mod purchase;
mod remainder;
mod reserve;
mod sweep;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use fluidos_protocol::node::NodeIdentity;
use http::StatusCode;

use super::catalog::Catalog;
use super::ledger::Ledger;
pub use super::peering::PeeringDriver;
use crate::store::{Store, StoreError};

pub use list::ListKind;
pub use purchase::wire_contract;

/// Label that tells provider-side Transactions from the consumer's own records.
pub const ROLE_LABEL: &str = "fluidos.eu/rear-role";
/// [`ROLE_LABEL`] value of the Transactions a provider keeps.
pub const ROLE_PROVIDER: &str = "provider";
/// [`ROLE_LABEL`] value of the Transactions a consumer keeps.
pub const ROLE_CONSUMER: &str = "consumer";

/// Provider settings.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Namespace of every object.
    pub namespace: String,
    /// How long a reservation holds capacity.
    pub transaction_ttl: Duration,
    /// How long a contract lasts.
    pub contract_duration: Duration,
}

/// Why a REAR request failed; each maps to the status code upstream clients branch on.
#[derive(Debug, thiserror::Error)]
pub enum RearError {
    /// Malformed request (400).
    #[error("{0}")]
    BadRequest(String),
    /// The caller's certificate does not allow it (403).
    #[error("{0}")]
    Forbidden(String),
    /// Unknown flavor or transaction (404).
    #[error("{0}")]
    NotFound(String),
    /// The transaction expired (408, as upstream).
    #[error("{0}")]
    Expired(String),
    /// Not available, or not enough capacity left (409).
    #[error("{0}")]
    Conflict(String),
    /// The store failed (500).
    #[error("store error")]
    Store(#[from] StoreError),
    /// The peering driver failed (500).
    #[error("peering credentials: {0}")]
    Peering(String),
}

impl RearError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Expired(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Store(_) | Self::Peering(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Machine-readable code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Expired(_) => "transaction_expired",
            Self::Conflict(_) => "unavailable",
            Self::Store(_) => "store_error",
            Self::Peering(_) => "peering_error",
        }
    }
}

/// The provider: see the module documentation.
pub struct Provider {
    store: Arc<dyn Store>,
    me: NodeIdentity,
    settings: ProviderSettings,
    catalog: Catalog,
    ledger: Mutex<Ledger>,
    driver: Arc<dyn PeeringDriver>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("me", &self.me)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// Our identity (the `seller` of contracts).
    pub fn me(&self) -> &NodeIdentity {
        &self.me
    }

    /// The catalog (for tests and metrics).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Number of commitments in the ledger.
    pub fn commitments(&self) -> usize {
        self.ledger().len()
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[path = "provider/tests.rs"]
mod tests;
