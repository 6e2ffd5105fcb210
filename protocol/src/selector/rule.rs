//! Filter envelopes (`StringFilter`, `ResourceQuantityFilter`: `{name, data}`) in their CR form,
//! their typed views ([`StringRule`], [`QuantityRule`]), validation and the single-value tests.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;

/// Filter name of an exact match.
pub const FILTER_MATCH: &str = "Match";
/// Filter name of a range (quantities) or regex (strings).
pub const FILTER_RANGE: &str = "Range";

/// Largest compiled size of a filter regex (bytes), so a hostile pattern cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Why a filter is invalid.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// `name` is neither `Match` nor `Range`.
    #[error("unknown filter name {0:?} (expected Match or Range)")]
    UnknownName(String),
    /// `data` does not have the shape `name` requires.
    #[error("{name} filter data does not decode")]
    Data {
        /// The filter name.
        name: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A quantity `Range` with neither `min` nor `max`.
    #[error("a Range filter needs min or max")]
    EmptyRange,
    /// A quantity `Range` whose `min` is above its `max`.
    #[error("range min {min} is greater than max {max}")]
    MinAboveMax {
        /// Lower bound.
        min: Quantity,
        /// Upper bound.
        max: Quantity,
    },
    /// A string `Range` with an empty regex.
    #[error("a string Range filter needs a non-empty regex")]
    EmptyRegex,
    /// A string `Range` whose regex does not compile.
    #[error("regex {pattern:?} does not compile")]
    Regex {
        /// The pattern.
        pattern: String,
        /// The compiler's error.
        #[source]
        source: regex::Error,
    },
}

/// `StringFilter` (CR form): `{name: "Match"|"Range", data}`; see [`StringRule`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StringFilter {
    /// `Match` or `Range`.
    pub name: String,
    /// `{value}` for `Match`, `{regex}` for `Range`.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// `ResourceQuantityFilter` (CR form): `{name: "Match"|"Range", data}`; see [`QuantityRule`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceQuantityFilter {
    /// `Match` or `Range`.
    pub name: String,
    /// `{value}` for `Match`, `{min?, max?}` for `Range`.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// The typed view of a [`StringFilter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StringRule {
    /// `Match`: exact, case-sensitive equality.
    Match(String),
    /// `Range`: an unanchored regex search (Go's `regexp.MatchString`).
    Regex(String),
}

/// The typed view of a [`ResourceQuantityFilter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuantityRule {
    /// `Match`: numeric equality (`"1000m"` equals `"1"`).
    Match(Quantity),
    /// `Range`: `min ≤ value ≤ max`, inclusive, each bound optional.
    Range {
        /// Lower bound.
        min: Option<Quantity>,
        /// Upper bound.
        max: Option<Quantity>,
    },
}

/// `data` of a string `Match`.
#[derive(Serialize, Deserialize)]
struct StringMatchData {
    value: String,
}

/// `data` of a string `Range`.
#[derive(Serialize, Deserialize)]
struct StringRangeData {
    regex: String,
}

/// `data` of a quantity `Match`.
#[derive(Serialize, Deserialize)]
struct QuantityMatchData {
    value: Quantity,
}

/// `data` of a quantity `Range`.
#[derive(Serialize, Deserialize)]
struct QuantityRangeData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<Quantity>,
}

/// Decodes `data` as `T`, naming the filter in the error.
fn decode<'a, T: Deserialize<'a>>(name: &str, data: &'a serde_json::Value) -> Result<T, RuleError> {
    T::deserialize(data).map_err(|source| RuleError::Data {
        name: name.to_owned(),
        source,
    })
}

/// Serialises filter data; the private data structs hold only strings and quantities, which
/// always serialise, so a failure can only yield `null`.
fn encode<T: Serialize>(data: &T) -> serde_json::Value {
    serde_json::to_value(data).unwrap_or_default()
}

impl StringFilter {
    /// The typed rule. Does not compile the regex: see [`StringRule::validate`].
    ///
    /// # Errors
    /// [`RuleError::UnknownName`] or [`RuleError::Data`].
    pub fn rule(&self) -> Result<StringRule, RuleError> {
        match self.name.as_str() {
            FILTER_MATCH => decode::<StringMatchData>(&self.name, &self.data)
                .map(|d| StringRule::Match(d.value)),
            FILTER_RANGE => decode::<StringRangeData>(&self.name, &self.data)
                .map(|d| StringRule::Regex(d.regex)),
            other => Err(RuleError::UnknownName(other.to_owned())),
        }
    }
}

impl From<&StringRule> for StringFilter {
    fn from(rule: &StringRule) -> Self {
        match rule {
            StringRule::Match(value) => Self {
                name: FILTER_MATCH.to_owned(),
                data: encode(&StringMatchData {
                    value: value.clone(),
                }),
            },
            StringRule::Regex(regex) => Self {
                name: FILTER_RANGE.to_owned(),
                data: encode(&StringRangeData {
                    regex: regex.clone(),
                }),
            },
        }
    }
}

impl ResourceQuantityFilter {
    /// The typed rule (not validated: see [`QuantityRule::validate`]).
    ///
    /// # Errors
    /// [`RuleError::UnknownName`] or [`RuleError::Data`] (e.g. a malformed quantity).
    pub fn rule(&self) -> Result<QuantityRule, RuleError> {
        match self.name.as_str() {
            FILTER_MATCH => decode::<QuantityMatchData>(&self.name, &self.data)
                .map(|d| QuantityRule::Match(d.value)),
            FILTER_RANGE => {
                decode::<QuantityRangeData>(&self.name, &self.data).map(|d| QuantityRule::Range {
                    min: d.min,
                    max: d.max,
                })
            }
            other => Err(RuleError::UnknownName(other.to_owned())),
        }
    }
}

impl From<&QuantityRule> for ResourceQuantityFilter {
    fn from(rule: &QuantityRule) -> Self {
        match rule {
            QuantityRule::Match(value) => Self {
                name: FILTER_MATCH.to_owned(),
                data: encode(&QuantityMatchData { value: *value }),
            },
            QuantityRule::Range { min, max } => Self {
                name: FILTER_RANGE.to_owned(),
                data: encode(&QuantityRangeData {
                    min: *min,
                    max: *max,
                }),
            },
        }
    }
}

impl StringRule {
    /// Exact match of `value`.
    pub fn equals(value: impl Into<String>) -> Self {
        Self::Match(value.into())
    }

    /// Unanchored regex search for `pattern`.
    pub fn regex(pattern: impl Into<String>) -> Self {
        Self::Regex(pattern.into())
    }

    /// Checks the rule: a regex must be non-empty and compile.
    ///
    /// # Errors
    /// [`RuleError::EmptyRegex`] or [`RuleError::Regex`].
    pub fn validate(&self) -> Result<(), RuleError> {
        self.compile().map(drop)
    }

    /// Compiles the rule once, for testing many values.
    ///
    /// # Errors
    /// As [`StringRule::validate`].
    pub fn compile(&self) -> Result<StringMatcher, RuleError> {
        match self {
            Self::Match(value) => Ok(StringMatcher::Exact(value.clone())),
            Self::Regex(pattern) if pattern.is_empty() => Err(RuleError::EmptyRegex),
            Self::Regex(pattern) => RegexBuilder::new(pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map(StringMatcher::Regex)
                .map_err(|source| RuleError::Regex {
                    pattern: pattern.clone(),
                    source,
                }),
        }
    }

    /// Whether the rule can be sent in a REAR query (`Match` only; regexes are not).
    pub fn is_wire_expressible(&self) -> bool {
        matches!(self, Self::Match(_))
    }
}

/// A compiled [`StringRule`].
#[derive(Debug, Clone)]
pub enum StringMatcher {
    /// Exact equality.
    Exact(String),
    /// Unanchored search.
    Regex(Regex),
}

impl StringMatcher {
    /// Whether `value` passes.
    pub fn is_match(&self, value: &str) -> bool {
        match self {
            Self::Exact(expected) => expected == value,
            Self::Regex(regex) => regex.is_match(value),
        }
    }
}

impl QuantityRule {
    /// Exactly `value` (numeric equality).
    pub fn equals(value: Quantity) -> Self {
        Self::Match(value)
    }

    /// `min` or more.
    pub fn at_least(min: Quantity) -> Self {
        Self::Range {
            min: Some(min),
            max: None,
        }
    }

    /// `max` or less.
    pub fn at_most(max: Quantity) -> Self {
        Self::Range {
            min: None,
            max: Some(max),
        }
    }

    /// Between `min` and `max`, inclusive.
    pub fn between(min: Quantity, max: Quantity) -> Self {
        Self::Range {
            min: Some(min),
            max: Some(max),
        }
    }

    /// Checks the rule: a range needs a bound, and `min ≤ max`.
    ///
    /// # Errors
    /// [`RuleError::EmptyRange`] or [`RuleError::MinAboveMax`].
    pub fn validate(&self) -> Result<(), RuleError> {
        match self {
            Self::Match(_) => Ok(()),
            Self::Range {
                min: None,
                max: None,
            } => Err(RuleError::EmptyRange),
            Self::Range {
                min: Some(min),
                max: Some(max),
            } if min > max => Err(RuleError::MinAboveMax {
                min: *min,
                max: *max,
            }),
            Self::Range { .. } => Ok(()),
        }
    }

    /// Whether `value` passes.
    pub fn test(&self, value: &Quantity) -> bool {
        match self {
            Self::Match(expected) => expected == value,
            Self::Range { min, max } => {
                min.is_none_or(|min| min <= *value) && max.is_none_or(|max| *value <= max)
            }
        }
    }

    /// What a partition asks for under this rule: the `Match` value or the `Range` min (zero
    /// for a range with only a max).
    pub fn requested(&self) -> Quantity {
        match self {
            Self::Match(value) => *value,
            Self::Range { min, .. } => min.unwrap_or_else(Quantity::zero),
        }
    }
}
