//! LIST: every available Flavor with what it still offers (capacity minus holds and sales);
//! Flavors nobody holds are served from the catalog's ready JSON.

use fluidos_protocol::partition;
use fluidos_protocol::rear::WireFlavor;
use fluidos_protocol::selector::Matcher;
use hyper::body::Bytes;

use super::Provider;
use crate::clock::now as unix_now;
use crate::rear::catalog::Entry;
use crate::rear::ledger::Ledger;

/// Which LIST route.
#[derive(Debug)]
pub enum ListKind {
    /// `GET /api/v2/flavors`: every type with a wire form.
    All,
    /// `GET /api/v2/flavors/k8slice?…`: K8Slice Flavors matching the filters.
    K8Slice(Matcher),
    /// `GET /api/v2/flavors/service?…`: Service Flavors matching the filters.
    Service(Matcher),
}

impl Provider {
    /// The JSON array of what is for sale, and how many Flavors it holds.
    pub fn list(&self, kind: &ListKind) -> (Bytes, usize) {
        let now = unix_now();
        let ledger = self.ledger();
        let mut body = Vec::with_capacity(4096);
        body.push(b'[');
        let mut count = 0usize;
        self.catalog.for_each(|entry| {
            let Some(json) = offer(entry, kind, &ledger, now) else {
                return;
            };
            if count > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&json);
            count += 1;
        });
        body.push(b']');
        (Bytes::from(body), count)
    }
}

/// The wire JSON of `entry` if it is offered on this route.
fn offer(entry: &Entry, kind: &ListKind, ledger: &Ledger, now: i64) -> Option<Bytes> {
    if !entry.flavor.spec.availability {
        return None;
    }
    let wire = entry.wire.as_ref()?;
    let Some((capacity, _)) = &entry.k8slice else {
        return match kind {
            ListKind::K8Slice(_) => None,
            ListKind::Service(m) => m.matches(&entry.flavor).then(|| wire.clone()),
            ListKind::All => Some(wire.clone()),
        };
    };
    if matches!(kind, ListKind::Service(_)) {
        return None;
    }
    let name = &entry.flavor.metadata.name;
    if !ledger.is_committed(name, now) {
        if partition::is_exhausted(capacity) {
            return None;
        }
        let keep = match kind {
            ListKind::K8Slice(m) => m.matches_characteristics(capacity),
            _ => true,
        };
        return keep.then(|| wire.clone());
    }
    let offered = ledger.offered(name, capacity, now)?;
    if let ListKind::K8Slice(m) = kind
        && !m.matches_characteristics(&offered)
    {
        return None;
    }
    let wire = WireFlavor::from_cr_with(&entry.flavor, Some(&offered)).ok()?;
    serde_json::to_vec(&wire).ok().map(Bytes::from)
}
