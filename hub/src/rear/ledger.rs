//! The provider's ledger of commitments on its Flavors: capacity **held** by a reservation
//! (until the transaction expires) and capacity **sold** by a contract (until it expires or is
//! terminated). Pure: no IO, no clock (callers pass `now` as Unix seconds).
//!
//! What a Flavor still offers is its capacity minus every live commitment on it. A claim on
//! the whole Flavor excludes every other commitment; a partition is first rounded to the
//! Flavor's partitionability policy ([`partition::effective`]) and must fit in what is left.
//! The ledger is rebuilt from the stored Transactions and Contracts at start, so it survives
//! restarts.

use std::collections::{BTreeSet, HashMap};

use fluidos_protocol::configuration::K8SliceConfiguration;
use fluidos_protocol::flavor::{Characteristics, Partitionability};
use fluidos_protocol::partition::{self, PartitionError};

/// What a commitment takes from a Flavor.
#[expect(
    clippy::large_enum_variant,
    reason = "a few per flavor; boxing buys nothing"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// All of it.
    Whole,
    /// A partition (already rounded to the policy).
    Part(K8SliceConfiguration),
}

/// Where a commitment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Reserved, not yet purchased; released at expiry.
    Held,
    /// Purchased under this contract; released when the contract ends.
    Sold {
        /// Contract name.
        contract: String,
    },
}

/// One commitment (one transaction).
#[derive(Debug, Clone, PartialEq)]
pub struct Commitment {
    /// Transaction id.
    pub transaction_id: String,
    /// The Flavor.
    pub flavor_id: String,
    /// Buyer node id.
    pub buyer_id: String,
    /// What it takes.
    pub claim: Claim,
    /// Unix seconds at which it lapses (hold expiry, or contract expiry once sold).
    pub expires_at: i64,
    /// Held or sold.
    pub stage: Stage,
}

impl Commitment {
    /// Whether it still binds capacity at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

/// Why a claim cannot be granted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClaimError {
    /// Someone holds or bought the whole Flavor.
    #[error("the flavor is reserved or sold as a whole")]
    WholeTaken,
    /// A whole-flavor claim while partitions are held or sold.
    #[error("part of the flavor is reserved or sold; only a partition can be bought")]
    PartlyTaken,
    /// The partition does not fit in what is left.
    #[error("not enough capacity left: {0}")]
    DoesNotFit(#[from] PartitionError),
}

/// Commitments by transaction and by Flavor.
#[derive(Debug, Default)]
pub struct Ledger {
    by_tx: HashMap<String, Commitment>,
    by_flavor: HashMap<String, BTreeSet<String>>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of commitments (live or not yet swept).
    pub fn len(&self) -> usize {
        self.by_tx.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_tx.is_empty()
    }

    /// Add or replace a commitment.
    pub fn insert(&mut self, c: Commitment) {
        self.remove(&c.transaction_id);
        self.by_flavor
            .entry(c.flavor_id.clone())
            .or_default()
            .insert(c.transaction_id.clone());
        self.by_tx.insert(c.transaction_id.clone(), c);
    }

    /// Remove a commitment.
    pub fn remove(&mut self, transaction_id: &str) -> Option<Commitment> {
        let c = self.by_tx.remove(transaction_id)?;
        if let Some(txs) = self.by_flavor.get_mut(&c.flavor_id) {
            txs.remove(transaction_id);
            if txs.is_empty() {
                self.by_flavor.remove(&c.flavor_id);
            }
        }
        Some(c)
    }

    /// Take in a commitment observed in the store (written by another replica, or our own
    /// write echoed back). Adopted when it is new, when it turns a hold into a sale, or when it
    /// extends a hold; never when we already know better (a sale is not demoted to a hold).
    /// Returns whether the ledger changed.
    pub fn adopt(&mut self, observed: Commitment) -> bool {
        let newer = match self.by_tx.get(&observed.transaction_id) {
            None => true,
            Some(local) => match (&local.stage, &observed.stage) {
                (Stage::Held, Stage::Sold { .. }) => true,
                (Stage::Held, Stage::Held) => observed.expires_at > local.expires_at,
                (Stage::Sold { .. }, _) => false,
            },
        };
        if newer {
            self.insert(observed);
        }
        newer
    }

    /// Drop the hold of `transaction_id` (released elsewhere: expired, refused, deleted); a
    /// sale is kept. Returns the dropped hold.
    pub fn release_hold(&mut self, transaction_id: &str) -> Option<Commitment> {
        let held = self
            .by_tx
            .get(transaction_id)
            .is_some_and(|c| c.stage == Stage::Held);
        if held {
            self.remove(transaction_id)
        } else {
            None
        }
    }

    /// A commitment by transaction id.
    pub fn get(&self, transaction_id: &str) -> Option<&Commitment> {
        self.by_tx.get(transaction_id)
    }

    /// The live commitments on a Flavor.
    pub fn on_flavor<'a>(
        &'a self,
        flavor_id: &str,
        now: i64,
    ) -> impl Iterator<Item = &'a Commitment> + 'a {
        self.by_flavor
            .get(flavor_id)
            .into_iter()
            .flatten()
            .filter_map(|tx| self.by_tx.get(tx))
            .filter(move |c| c.is_live(now))
    }

    /// Whether any live commitment binds the Flavor.
    pub fn is_committed(&self, flavor_id: &str, now: i64) -> bool {
        self.on_flavor(flavor_id, now).next().is_some()
    }

    /// A live held commitment of `buyer_id` on `flavor_id` with exactly this claim (a retried
    /// reserve whose reply was lost).
    pub fn find_held(
        &self,
        buyer_id: &str,
        flavor_id: &str,
        claim: &Claim,
        now: i64,
    ) -> Option<&Commitment> {
        self.on_flavor(flavor_id, now)
            .find(|c| c.buyer_id == buyer_id && c.stage == Stage::Held && &c.claim == claim)
    }

    /// What the Flavor still offers: `None` when it is taken as a whole or nothing sellable
    /// is left. `capacity` is the Flavor's own characteristics.
    pub fn offered(
        &self,
        flavor_id: &str,
        capacity: &Characteristics,
        now: i64,
    ) -> Option<Characteristics> {
        let mut left = capacity.clone();
        for c in self.on_flavor(flavor_id, now) {
            match &c.claim {
                Claim::Whole => return None,
                Claim::Part(part) => left = partition::subtract(&left, part).ok()?,
            }
        }
        (!partition::is_exhausted(&left)).then_some(left)
    }

    /// The claim a reserve of `requested` (`None`: the whole Flavor) would make, if it can be
    /// granted now.
    pub fn claim(
        &self,
        flavor_id: &str,
        capacity: &Characteristics,
        policy: &Partitionability,
        requested: Option<&K8SliceConfiguration>,
        now: i64,
    ) -> Result<Claim, ClaimError> {
        let live: Vec<&Commitment> = self.on_flavor(flavor_id, now).collect();
        if live.iter().any(|c| c.claim == Claim::Whole) {
            return Err(ClaimError::WholeTaken);
        }
        let Some(requested) = requested else {
            return match live.is_empty() {
                false => Err(ClaimError::PartlyTaken),
                true => Ok(Claim::Whole),
            };
        };
        let part = partition::effective(requested, policy);
        let mut left = capacity.clone();
        for c in live {
            if let Claim::Part(p) = &c.claim {
                left = partition::subtract(&left, p)?;
            }
        }
        partition::fits(&part, &left)?;
        Ok(Claim::Part(part))
    }

    /// Transactions whose commitment lapsed at `now` (holds past expiry, contracts past end).
    pub fn lapsed(&self, now: i64) -> Vec<String> {
        self.by_tx
            .values()
            .filter(|c| !c.is_live(now))
            .map(|c| c.transaction_id.clone())
            .collect()
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
