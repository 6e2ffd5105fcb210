//! Selectors and filters (§3.4 of the reference): what a consumer asks for, in the CR form of
//! `Solver.spec.selector` / `Discovery.spec.selector`, their typed and validated views, their
//! evaluation against Flavors, the REAR `filter[...]` query grammar, and the partition a
//! selector implies.
//!
//! * [`Selector`], [`K8SliceSelector`], [`ServiceSelector`], [`StringFilter`],
//!   [`ResourceQuantityFilter`]: the CR form (upstream's camelCase keys).
//! * [`K8SliceFilters`], [`ServiceFilters`], [`StringRule`], [`QuantityRule`]: typed views with
//!   builders; [`FilterSet`] is a whole selector decoded by flavor type.
//! * [`Matcher`]: compiled filters (regexes compiled once) tested against many Flavors.
//! * [`parse_k8slice_query`], [`encode_k8slice_query`] (and the service pair): the wire query.
//! * [`k8slice_partition`]: the partition (configuration) a K8Slice selector implies.

mod eval;
mod forge;
mod query;
mod rule;

use serde::{Deserialize, Serialize};

use crate::flavor::TYPE_K8SLICE;
use crate::service::TYPE_SERVICE;

pub use eval::{Matcher, matches};
pub use forge::k8slice_partition;
pub use query::{
    QueryError, encode_k8slice_query, encode_service_query, parse_k8slice_query,
    parse_service_query,
};
pub use rule::{
    FILTER_MATCH, FILTER_RANGE, QuantityRule, ResourceQuantityFilter, RuleError, StringFilter,
    StringMatcher, StringRule,
};

/// Why a selector is invalid.
#[derive(Debug, thiserror::Error)]
pub enum SelectorError {
    /// One filter is invalid; `field` is its CR key (`cpuFilter`, …).
    #[error("invalid {field}")]
    Rule {
        /// The CR key of the filter.
        field: &'static str,
        /// What is wrong with it.
        #[source]
        source: RuleError,
    },
    /// `filters` does not decode as the selector of `flavor_type`.
    #[error("filters of a {flavor_type} selector do not decode")]
    Filters {
        /// The selector's flavor type.
        flavor_type: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
}

/// Attaches the CR key of a filter to its error.
fn in_field<T>(field: &'static str, result: Result<T, RuleError>) -> Result<T, SelectorError> {
    result.map_err(|source| SelectorError::Rule { field, source })
}

/// A selector (CR form): the flavor type and the type-specific filters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["flavorType"]))
)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// `K8Slice`, `Service`, `VM` or `Sensor`.
    pub flavor_type: String,
    /// [`K8SliceSelector`] or [`ServiceSelector`] as JSON; absent means "no filters" (and, for
    /// K8Slice, "buy the whole flavor").
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::free_form_object")
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<serde_json::Value>,
}

impl Selector {
    /// A K8Slice selector; `None` leaves `filters` absent.
    ///
    /// # Errors
    /// Only if serialisation fails, which filters made of strings and quantities never do.
    pub fn k8slice(filters: Option<&K8SliceFilters>) -> Result<Self, serde_json::Error> {
        Ok(Self {
            flavor_type: TYPE_K8SLICE.to_owned(),
            filters: filters
                .map(|f| serde_json::to_value(K8SliceSelector::from(f)))
                .transpose()?,
        })
    }

    /// A Service selector; `None` leaves `filters` absent.
    ///
    /// # Errors
    /// Only if serialisation fails, which string filters never do.
    pub fn service(filters: Option<&ServiceFilters>) -> Result<Self, serde_json::Error> {
        Ok(Self {
            flavor_type: TYPE_SERVICE.to_owned(),
            filters: filters
                .map(|f| serde_json::to_value(ServiceSelector::from(f)))
                .transpose()?,
        })
    }

    /// Whether `filters` is present (a JSON `null` counts as absent).
    pub fn has_filters(&self) -> bool {
        self.filters.as_ref().is_some_and(|f| !f.is_null())
    }

    /// The typed filters, decoded according to `flavorType` (absent filters → empty set).
    /// Does not compile regexes: [`Selector::validate`] does.
    ///
    /// # Errors
    /// [`SelectorError`] when `filters` or one filter does not decode.
    pub fn filter_set(&self) -> Result<FilterSet, SelectorError> {
        let decode_error = |source| SelectorError::Filters {
            flavor_type: self.flavor_type.clone(),
            source,
        };
        let filters = self.filters.as_ref().filter(|f| !f.is_null());
        match self.flavor_type.as_str() {
            TYPE_K8SLICE => match filters {
                None => Ok(FilterSet::K8Slice(K8SliceFilters::default())),
                Some(v) => K8SliceSelector::deserialize(v)
                    .map_err(decode_error)?
                    .typed()
                    .map(FilterSet::K8Slice),
            },
            TYPE_SERVICE => match filters {
                None => Ok(FilterSet::Service(ServiceFilters::default())),
                Some(v) => ServiceSelector::deserialize(v)
                    .map_err(decode_error)?
                    .typed()
                    .map(FilterSet::Service),
            },
            other => Ok(FilterSet::Unsupported(other.to_owned())),
        }
    }

    /// Validates the selector as the Solver webhook does (§3.4): every filter decodes, has a
    /// known name, ranges have a bound with `min ≤ max`, regexes are non-empty and compile.
    ///
    /// # Errors
    /// The first [`SelectorError`] found.
    pub fn validate(&self) -> Result<(), SelectorError> {
        self.filter_set()?.validate()
    }
}

/// `filters` of a K8Slice selector (CR form). There is no GPU filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct K8SliceSelector {
    /// Architecture (string rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture_filter: Option<StringFilter>,
    /// CPU (quantity rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_filter: Option<ResourceQuantityFilter>,
    /// Memory (quantity rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_filter: Option<ResourceQuantityFilter>,
    /// Pods (quantity rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods_filter: Option<ResourceQuantityFilter>,
    /// Storage (quantity rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_filter: Option<ResourceQuantityFilter>,
}

/// Decodes an optional quantity filter, naming it in the error.
fn quantity(
    field: &'static str,
    filter: Option<&ResourceQuantityFilter>,
) -> Result<Option<QuantityRule>, SelectorError> {
    filter.map(|f| in_field(field, f.rule())).transpose()
}

/// Decodes an optional string filter, naming it in the error.
fn string(
    field: &'static str,
    filter: Option<&StringFilter>,
) -> Result<Option<StringRule>, SelectorError> {
    filter.map(|f| in_field(field, f.rule())).transpose()
}

impl K8SliceSelector {
    /// The typed filters (names and data decoded; not validated, see [`K8SliceFilters::validate`]).
    ///
    /// # Errors
    /// [`SelectorError::Rule`] naming the first filter that does not decode.
    pub fn typed(&self) -> Result<K8SliceFilters, SelectorError> {
        Ok(K8SliceFilters {
            architecture: string("architectureFilter", self.architecture_filter.as_ref())?,
            cpu: quantity("cpuFilter", self.cpu_filter.as_ref())?,
            memory: quantity("memoryFilter", self.memory_filter.as_ref())?,
            pods: quantity("podsFilter", self.pods_filter.as_ref())?,
            storage: quantity("storageFilter", self.storage_filter.as_ref())?,
        })
    }
}

impl From<&K8SliceFilters> for K8SliceSelector {
    fn from(f: &K8SliceFilters) -> Self {
        Self {
            architecture_filter: f.architecture.as_ref().map(StringFilter::from),
            cpu_filter: f.cpu.as_ref().map(ResourceQuantityFilter::from),
            memory_filter: f.memory.as_ref().map(ResourceQuantityFilter::from),
            pods_filter: f.pods.as_ref().map(ResourceQuantityFilter::from),
            storage_filter: f.storage.as_ref().map(ResourceQuantityFilter::from),
        }
    }
}

/// `filters` of a Service selector (CR form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSelector {
    /// Category (string rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_filter: Option<StringFilter>,
    /// Tags (string rule; passes when any tag passes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_filter: Option<StringFilter>,
}

impl ServiceSelector {
    /// The typed filters (not validated, see [`ServiceFilters::validate`]).
    ///
    /// # Errors
    /// [`SelectorError::Rule`] naming the first filter that does not decode.
    pub fn typed(&self) -> Result<ServiceFilters, SelectorError> {
        Ok(ServiceFilters {
            category: string("categoryFilter", self.category_filter.as_ref())?,
            tags: string("tagsFilter", self.tags_filter.as_ref())?,
        })
    }
}

impl From<&ServiceFilters> for ServiceSelector {
    fn from(f: &ServiceFilters) -> Self {
        Self {
            category_filter: f.category.as_ref().map(StringFilter::from),
            tags_filter: f.tags.as_ref().map(StringFilter::from),
        }
    }
}

/// Typed K8Slice filters; every present filter must pass (AND). Empty = every K8Slice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct K8SliceFilters {
    /// Architecture.
    pub architecture: Option<StringRule>,
    /// CPU.
    pub cpu: Option<QuantityRule>,
    /// Memory.
    pub memory: Option<QuantityRule>,
    /// Pods.
    pub pods: Option<QuantityRule>,
    /// Storage (a flavor without storage fails it).
    pub storage: Option<QuantityRule>,
}

impl K8SliceFilters {
    /// The quantity filters with their wire names, in query order.
    pub fn quantity_rules(&self) -> [(&'static str, Option<&QuantityRule>); 4] {
        [
            ("cpu", self.cpu.as_ref()),
            ("memory", self.memory.as_ref()),
            ("pods", self.pods.as_ref()),
            ("storage", self.storage.as_ref()),
        ]
    }

    /// Whether no filter is present.
    pub fn is_empty(&self) -> bool {
        self.architecture.is_none() && self.quantity_rules().iter().all(|(_, r)| r.is_none())
    }

    /// The subset a REAR query can carry: the same filters without a regex architecture filter.
    pub fn wire_subset(&self) -> Self {
        Self {
            architecture: self
                .architecture
                .clone()
                .filter(StringRule::is_wire_expressible),
            ..self.clone()
        }
    }

    /// Validates every present filter.
    ///
    /// # Errors
    /// [`SelectorError::Rule`] naming the first invalid filter.
    pub fn validate(&self) -> Result<(), SelectorError> {
        if let Some(rule) = &self.architecture {
            in_field("architectureFilter", rule.validate())?;
        }
        let fields = ["cpuFilter", "memoryFilter", "podsFilter", "storageFilter"];
        for (field, (_, rule)) in fields.into_iter().zip(self.quantity_rules()) {
            if let Some(rule) = rule {
                in_field(field, rule.validate())?;
            }
        }
        Ok(())
    }
}

/// Typed Service filters (AND of the present ones). Empty = every Service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFilters {
    /// Category.
    pub category: Option<StringRule>,
    /// Tags: passes when any tag passes.
    pub tags: Option<StringRule>,
}

impl ServiceFilters {
    /// Whether no filter is present.
    pub fn is_empty(&self) -> bool {
        self.category.is_none() && self.tags.is_none()
    }

    /// The subset a REAR query can carry (regex filters dropped).
    pub fn wire_subset(&self) -> Self {
        Self {
            category: self
                .category
                .clone()
                .filter(StringRule::is_wire_expressible),
            tags: self.tags.clone().filter(StringRule::is_wire_expressible),
        }
    }

    /// Validates every present filter.
    ///
    /// # Errors
    /// [`SelectorError::Rule`] naming the first invalid filter.
    pub fn validate(&self) -> Result<(), SelectorError> {
        if let Some(rule) = &self.category {
            in_field("categoryFilter", rule.validate())?;
        }
        if let Some(rule) = &self.tags {
            in_field("tagsFilter", rule.validate())?;
        }
        Ok(())
    }
}

/// A selector's filters decoded by flavor type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "built once per selector evaluation, never stored in bulk"
)]
pub enum FilterSet {
    /// K8Slice filters.
    K8Slice(K8SliceFilters),
    /// Service filters.
    Service(ServiceFilters),
    /// `VM`, `Sensor` or an unknown type: never matches anything.
    Unsupported(String),
}

impl FilterSet {
    /// Validates every present filter.
    ///
    /// # Errors
    /// [`SelectorError::Rule`] naming the first invalid filter.
    pub fn validate(&self) -> Result<(), SelectorError> {
        match self {
            Self::K8Slice(f) => f.validate(),
            Self::Service(f) => f.validate(),
            Self::Unsupported(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod query_tests;

#[cfg(test)]
mod forge_tests;
