//! Status vocabulary shared by the FLUIDOS resources: [`Phase`] (upstream's phase strings,
//! including `"Timed Out"` with a space), [`PhaseStatus`] and [`GenericRef`].

use serde::{Deserialize, Serialize};

/// A phase as upstream spells it. An unknown or empty string decodes as [`Phase::Empty`]
/// (upstream treats those as "not started").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Not set (`""`).
    #[default]
    Empty,
    /// Finished successfully.
    Solved,
    /// Finished unsuccessfully.
    Failed,
    /// In progress.
    Running,
    /// Allocating resources.
    Allocating,
    /// Initialised, not started.
    Idle,
    /// The deadline passed.
    TimedOut,
    /// Active (contracts, allocations).
    Active,
    /// Waiting.
    Pending,
    /// Inactive.
    Inactive,
}

impl Phase {
    /// Upstream's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "",
            Self::Solved => "Solved",
            Self::Failed => "Failed",
            Self::Running => "Running",
            Self::Allocating => "Allocating",
            Self::Idle => "Idle",
            Self::TimedOut => "Timed Out",
            Self::Active => "Active",
            Self::Pending => "Pending",
            Self::Inactive => "Inactive",
        }
    }

    /// The phase upstream spells `s`; anything else is [`Phase::Empty`].
    pub fn from_name(s: &str) -> Self {
        const ALL: [Phase; 9] = [
            Phase::Solved,
            Phase::Failed,
            Phase::Running,
            Phase::Allocating,
            Phase::Idle,
            Phase::TimedOut,
            Phase::Active,
            Phase::Pending,
            Phase::Inactive,
        ];
        ALL.into_iter()
            .find(|p| p.as_str() == s)
            .unwrap_or_default()
    }

    /// `Solved`, `Failed` or `Timed Out`.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Solved | Self::Failed | Self::TimedOut)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Phase {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Phase {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::from_name(&s))
    }
}

/// `{phase, message?, startTime?, lastChangeTime?, endTime?}` (RFC 3339 strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["phase"]))
)]
#[serde(rename_all = "camelCase")]
pub struct PhaseStatus {
    /// The phase.
    #[serde(default)]
    pub phase: Phase,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// When the object started.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub start_time: String,
    /// When the phase last changed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_change_time: String,
    /// When the object finished.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub end_time: String,
}

/// A reference to another object (`{name?, namespace?, apiVersion?, kind?}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GenericRef {
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// API version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

impl GenericRef {
    /// A reference by namespace and name.
    pub fn to(namespace: &str, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_use_upstream_spellings() {
        assert_eq!(
            serde_json::to_string(&Phase::TimedOut).unwrap(),
            "\"Timed Out\""
        );
        let p: Phase = serde_json::from_str("\"Timed Out\"").unwrap();
        assert_eq!(p, Phase::TimedOut);
        let unknown: Phase = serde_json::from_str("\"Whatever\"").unwrap();
        assert_eq!(unknown, Phase::Empty);
        let empty: Phase = serde_json::from_str("\"\"").unwrap();
        assert_eq!(empty, Phase::Empty);
    }
}
