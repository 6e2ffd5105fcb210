//! The REAR flavor-listing query grammar (§2.3.2, §2.3.3, §2.4 of the reference): parsed by the
//! provider, encoded by the consumer.
//!
//! Parsing percent-decodes first (raw `[`/`]` and `%5B`/`%5D` are both accepted, `+` is a
//! space), uses only the first value of each key and refuses every other key. Unlike upstream
//! it never panics (`filter[cpu][range]` alone is an error) and reports a `match`/`range` mix
//! for one resource with the same error whatever the order. A `min` above `max` is refused too.
//!
//! Encoding percent-encodes brackets and values, drops regex filters (not expressible on the
//! wire: the consumer re-filters locally) and, unlike upstream, keeps the `filter` prefix on
//! the storage filter.

use std::collections::HashSet;

use super::{K8SliceFilters, QuantityRule, ServiceFilters, StringRule};
use crate::quantity::{Quantity, QuantityError};

/// The resources a K8Slice query may filter on quantities, in query order.
const K8SLICE_QUANTITIES: [&str; 4] = ["cpu", "memory", "pods", "storage"];

/// Why a query string is refused (the provider answers 400 with this message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The key is not part of the grammar.
    #[error("unknown query parameter {key:?}: expected {expected}")]
    UnknownKey {
        /// The decoded key.
        key: String,
        /// The key forms this listing accepts.
        expected: &'static str,
    },
    /// The key is well-formed but names a filter this listing does not support.
    #[error("unsupported filter {key:?}: {reason}")]
    Unsupported {
        /// The decoded key.
        key: String,
        /// What is supported instead.
        reason: &'static str,
    },
    /// `filter[<res>][range]` without `[min]` or `[max]`.
    #[error("range filter {key:?} needs [min] or [max]")]
    RangeWithoutBound {
        /// The decoded key.
        key: String,
    },
    /// The value is not a Kubernetes quantity.
    #[error("bad quantity {value:?} for {key:?}")]
    BadQuantity {
        /// The decoded key.
        key: String,
        /// The decoded value.
        value: String,
        /// Why it does not parse.
        #[source]
        source: QuantityError,
    },
    /// Both `match` and `range` for one resource.
    #[error("cannot have range filter for a resource with another filter type ({resource})")]
    MatchAndRange {
        /// The resource (`cpu`, …).
        resource: &'static str,
    },
    /// A range whose `min` is above its `max`.
    #[error("range filter for {resource}: min {min} is greater than max {max}")]
    MinAboveMax {
        /// The resource.
        resource: &'static str,
        /// Lower bound.
        min: Quantity,
        /// Upper bound.
        max: Quantity,
    },
}

/// Key forms of the K8Slice listing, for error messages.
const K8SLICE_EXPECTED: &str = "filter[architecture][match], filter[cpu|memory|pods|storage][match] \
     or filter[cpu|memory|pods|storage][range][min|max]";
/// Key forms of the Service listing, for error messages.
const SERVICE_EXPECTED: &str = "filter[category][match] or filter[tags][match]";

/// A key split as `filter[<field>][<op>]` plus an optional `[<sub>]`.
struct Key<'a> {
    field: &'a str,
    op: &'a str,
    sub: Option<&'a str>,
}

/// Splits `filter[a][b]` / `filter[a][b][c]`; `None` for anything else.
fn split_key(key: &str) -> Option<Key<'_>> {
    let inner = key.strip_prefix("filter[")?.strip_suffix(']')?;
    let mut parts = inner.split("][");
    let field = parts.next()?;
    let op = parts.next()?;
    let sub = parts.next();
    let all = [Some(field), Some(op), sub];
    let clean = all.iter().flatten().all(|p| !p.contains(['[', ']']));
    (parts.next().is_none() && clean).then_some(Key { field, op, sub })
}

/// Decoded `(key, value)` pairs of `query`, keeping only the first value of each key.
fn first_values(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    let mut seen = HashSet::new();
    form_urlencoded::parse(query.as_bytes())
        .filter(move |(k, _)| seen.insert(k.clone()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
}

/// What the query says about one quantity resource.
#[derive(Default)]
struct Pending {
    matched: Option<Quantity>,
    min: Option<Quantity>,
    max: Option<Quantity>,
}

impl Pending {
    /// The rule, checking that `match` and `range` are not mixed and that `min ≤ max`.
    fn finish(self, resource: &'static str) -> Result<Option<QuantityRule>, QueryError> {
        let ranged = self.min.is_some() || self.max.is_some();
        match (self.matched, self.min, self.max) {
            (Some(_), _, _) if ranged => Err(QueryError::MatchAndRange { resource }),
            (Some(q), _, _) => Ok(Some(QuantityRule::Match(q))),
            (None, Some(min), Some(max)) if min > max => {
                Err(QueryError::MinAboveMax { resource, min, max })
            }
            (None, min, max) => Ok(ranged.then_some(QuantityRule::Range { min, max })),
        }
    }
}

/// Parses a quantity value, naming the key in the error.
fn quantity(key: &str, value: &str) -> Result<Quantity, QueryError> {
    Quantity::parse(value).map_err(|source| QueryError::BadQuantity {
        key: key.to_owned(),
        value: value.to_owned(),
        source,
    })
}

/// Parses the query of `GET /api/v2/flavors/k8slice` (the part after `?`).
///
/// # Errors
/// [`QueryError`] naming the first offending key, or a `match`/`range` conflict.
pub fn parse_k8slice_query(query: &str) -> Result<K8SliceFilters, QueryError> {
    let mut parser = K8SliceParser::default();
    for (key, value) in first_values(query) {
        parser.pair(key, value)?;
    }
    parser.finish()
}

/// Accumulates the pairs of a K8Slice query.
#[derive(Default)]
struct K8SliceParser {
    architecture: Option<StringRule>,
    /// Indexed like [`K8SLICE_QUANTITIES`].
    pending: [Pending; 4],
}

impl K8SliceParser {
    /// Takes one decoded pair.
    fn pair(&mut self, key: String, value: String) -> Result<(), QueryError> {
        let unknown = || QueryError::UnknownKey {
            key: key.clone(),
            expected: K8SLICE_EXPECTED,
        };
        let k = split_key(&key).ok_or_else(unknown)?;
        let known_sub = matches!(k.sub, None | Some("min" | "max" | "regex"));
        if !matches!(k.op, "match" | "range") || !known_sub {
            return Err(unknown());
        }
        if k.field == "architecture" {
            if k.op != "match" || k.sub.is_some() {
                let reason = "architecture accepts only filter[architecture][match]";
                return Err(unsupported(&key, reason));
            }
            self.architecture = Some(StringRule::Match(value));
            return Ok(());
        }
        let index = K8SLICE_QUANTITIES
            .iter()
            .position(|r| *r == k.field)
            .ok_or_else(unknown)?;
        let slot = &mut self.pending[index];
        match (k.op, k.sub) {
            ("match", None) => slot.matched = Some(quantity(&key, &value)?),
            ("match", Some(_)) => return Err(unsupported(&key, "[match] takes no sub-key")),
            ("range", None) => return Err(QueryError::RangeWithoutBound { key }),
            ("range", Some("min")) => slot.min = Some(quantity(&key, &value)?),
            ("range", Some("max")) => slot.max = Some(quantity(&key, &value)?),
            _ => return Err(unsupported(&key, "a quantity range takes [min] or [max]")),
        }
        Ok(())
    }

    /// The filters, once every pair is in.
    fn finish(self) -> Result<K8SliceFilters, QueryError> {
        let [cpu, memory, pods, storage] = self.pending;
        Ok(K8SliceFilters {
            architecture: self.architecture,
            cpu: cpu.finish("cpu")?,
            memory: memory.finish("memory")?,
            pods: pods.finish("pods")?,
            storage: storage.finish("storage")?,
        })
    }
}

/// An [`QueryError::Unsupported`] for `key`.
fn unsupported(key: &str, reason: &'static str) -> QueryError {
    QueryError::Unsupported {
        key: key.to_owned(),
        reason,
    }
}

/// Parses the query of `GET /api/v2/flavors/service` (the part after `?`).
///
/// # Errors
/// [`QueryError::UnknownKey`] for any key other than `filter[category|tags][match]`.
pub fn parse_service_query(query: &str) -> Result<ServiceFilters, QueryError> {
    let mut filters = ServiceFilters::default();
    for (key, value) in first_values(query) {
        let slot = match split_key(&key) {
            Some(Key {
                field: "category",
                op: "match",
                sub: None,
            }) => &mut filters.category,
            Some(Key {
                field: "tags",
                op: "match",
                sub: None,
            }) => &mut filters.tags,
            _ => {
                return Err(QueryError::UnknownKey {
                    key,
                    expected: SERVICE_EXPECTED,
                });
            }
        };
        *slot = Some(StringRule::Match(value));
    }
    Ok(filters)
}

/// The query (without `?`) for `GET /api/v2/flavors/k8slice`: brackets and values
/// percent-encoded, regex filters dropped, a range with only `max` sent as `[range][max]`.
/// Empty filters give an empty string.
pub fn encode_k8slice_query(filters: &K8SliceFilters) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    if let Some(StringRule::Match(value)) = &filters.architecture {
        out.append_pair("filter[architecture][match]", value);
    }
    for (resource, rule) in filters.quantity_rules() {
        match rule {
            Some(QuantityRule::Match(q)) => {
                out.append_pair(&format!("filter[{resource}][match]"), &q.to_string());
            }
            Some(QuantityRule::Range { min, max }) => {
                for (bound, q) in [("min", min), ("max", max)] {
                    if let Some(q) = q {
                        let key = format!("filter[{resource}][range][{bound}]");
                        out.append_pair(&key, &q.to_string());
                    }
                }
            }
            None => {}
        }
    }
    out.finish()
}

/// The query (without `?`) for `GET /api/v2/flavors/service`; regex filters are dropped.
pub fn encode_service_query(filters: &ServiceFilters) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (field, rule) in [("category", &filters.category), ("tags", &filters.tags)] {
        if let Some(StringRule::Match(value)) = rule {
            out.append_pair(&format!("filter[{field}][match]"), value);
        }
    }
    out.finish()
}
