//! Evaluation of selectors against Flavors (§3.4 "Evaluation semantics", `common.FilterFlavor`).
//!
//! A [`Matcher`] is built once per filter set (regexes compiled once) and then tested against
//! any number of Flavors. Testing reads only the `typeData` fields a present filter needs,
//! straight from the Flavor's JSON, without cloning or decoding the rest.
//!
//! Undecodable input never panics: an invalid filter set is refused by [`Matcher::new`] (and
//! makes the convenience [`matches`] return `false`); a Flavor whose `typeData` lacks a field a
//! filter needs, or holds a malformed quantity there, fails that filter.

use serde::Deserialize;
use serde_json::Value;

use super::{FilterSet, K8SliceFilters, QuantityRule, Selector, SelectorError, ServiceFilters};
use super::{StringMatcher, StringRule, in_field};
use crate::flavor::{Characteristics, Flavor, TYPE_K8SLICE};
use crate::quantity::Quantity;
use crate::service::TYPE_SERVICE;

/// Whether `flavor` satisfies `selector`. Compiles the selector on every call: to test many
/// Flavors, build a [`Matcher`] once. An invalid selector matches nothing.
pub fn matches(selector: &Selector, flavor: &Flavor) -> bool {
    Matcher::from_selector(selector).is_ok_and(|m| m.matches(flavor))
}

/// Compiled filters, ready to test many Flavors.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// What is tested.
    kind: Kind,
}

/// The compiled filters of one flavor type.
#[derive(Debug, Clone)]
enum Kind {
    /// K8Slice filters.
    K8Slice(CompiledK8Slice),
    /// Service filters.
    Service(CompiledService),
    /// VM, Sensor, unknown: nothing matches.
    Never,
}

/// Compiled K8Slice filters.
#[derive(Debug, Clone)]
struct CompiledK8Slice {
    architecture: Option<StringMatcher>,
    /// `(typeData key, rule)` of each present quantity filter.
    quantities: Vec<(&'static str, QuantityRule)>,
}

/// Compiled Service filters.
#[derive(Debug, Clone)]
struct CompiledService {
    category: Option<StringMatcher>,
    tags: Option<StringMatcher>,
}

/// Compiles an optional string rule, naming the filter in the error.
fn compile(
    field: &'static str,
    rule: Option<&StringRule>,
) -> Result<Option<StringMatcher>, SelectorError> {
    rule.map(|r| in_field(field, r.compile())).transpose()
}

impl Matcher {
    /// Validates and compiles `set`.
    ///
    /// # Errors
    /// [`SelectorError::Rule`] naming the first invalid filter.
    pub fn new(set: &FilterSet) -> Result<Self, SelectorError> {
        match set {
            FilterSet::K8Slice(f) => Self::k8slice(f),
            FilterSet::Service(f) => Self::service(f),
            FilterSet::Unsupported(_) => Ok(Self { kind: Kind::Never }),
        }
    }

    /// Decodes, validates and compiles `selector`.
    ///
    /// # Errors
    /// [`SelectorError`] when the selector is invalid.
    pub fn from_selector(selector: &Selector) -> Result<Self, SelectorError> {
        Self::new(&selector.filter_set()?)
    }

    /// Validates and compiles K8Slice filters.
    ///
    /// # Errors
    /// [`SelectorError::Rule`] naming the first invalid filter.
    pub fn k8slice(filters: &K8SliceFilters) -> Result<Self, SelectorError> {
        filters.validate()?;
        let quantities = filters
            .quantity_rules()
            .into_iter()
            .filter_map(|(key, rule)| rule.map(|r| (key, r.clone())))
            .collect();
        Ok(Self {
            kind: Kind::K8Slice(CompiledK8Slice {
                architecture: compile("architectureFilter", filters.architecture.as_ref())?,
                quantities,
            }),
        })
    }

    /// Validates and compiles Service filters.
    ///
    /// # Errors
    /// [`SelectorError::Rule`] naming the first invalid filter.
    pub fn service(filters: &ServiceFilters) -> Result<Self, SelectorError> {
        filters.validate()?;
        Ok(Self {
            kind: Kind::Service(CompiledService {
                category: compile("categoryFilter", filters.category.as_ref())?,
                tags: compile("tagsFilter", filters.tags.as_ref())?,
            }),
        })
    }

    /// Whether `flavor` has the selector's type and passes every present filter.
    pub fn matches(&self, flavor: &Flavor) -> bool {
        let flavor_type = &flavor.spec.flavor_type;
        match &self.kind {
            Kind::K8Slice(f) => {
                flavor_type.type_identifier == TYPE_K8SLICE
                    && f.matches_type_data(&flavor_type.type_data)
            }
            Kind::Service(f) => {
                flavor_type.type_identifier == TYPE_SERVICE
                    && f.matches_type_data(&flavor_type.type_data)
            }
            Kind::Never => false,
        }
    }

    /// Whether typed K8Slice characteristics pass (always `false` for other flavor types).
    pub fn matches_characteristics(&self, chars: &Characteristics) -> bool {
        let Kind::K8Slice(f) = &self.kind else {
            return false;
        };
        f.passes(Some(chars.architecture.as_str()), |key| match key {
            "cpu" => Some(chars.cpu),
            "memory" => Some(chars.memory),
            "pods" => Some(chars.pods),
            "storage" => chars.storage,
            _ => None,
        })
    }
}

impl CompiledK8Slice {
    /// Tests K8Slice `typeData` JSON: `characteristics` must be an object.
    fn matches_type_data(&self, type_data: &Value) -> bool {
        let Some(chars) = type_data.get("characteristics").filter(|c| c.is_object()) else {
            return false;
        };
        let architecture = chars.get("architecture").and_then(Value::as_str);
        self.passes(architecture, |key| {
            chars.get(key).and_then(|v| Quantity::deserialize(v).ok())
        })
    }

    /// Every present filter passes; a missing value fails its filter.
    fn passes(
        &self,
        architecture: Option<&str>,
        quantity: impl Fn(&str) -> Option<Quantity>,
    ) -> bool {
        if let Some(rule) = &self.architecture
            && !architecture.is_some_and(|a| rule.is_match(a))
        {
            return false;
        }
        self.quantities
            .iter()
            .all(|(key, rule)| quantity(key).is_some_and(|q| rule.test(&q)))
    }
}

impl CompiledService {
    /// Tests Service `typeData` JSON: category by the string rule, tags when any tag passes.
    fn matches_type_data(&self, type_data: &Value) -> bool {
        if !type_data.is_object() {
            return false;
        }
        if let Some(rule) = &self.category {
            let category = type_data.get("category").and_then(Value::as_str);
            if !category.is_some_and(|c| rule.is_match(c)) {
                return false;
            }
        }
        let Some(rule) = &self.tags else {
            return true;
        };
        type_data
            .get("tags")
            .and_then(Value::as_array)
            .is_some_and(|tags| {
                tags.iter()
                    .filter_map(Value::as_str)
                    .any(|t| rule.is_match(t))
            })
    }
}
