//! Service flavors: the `typeData` of a Flavor whose type is `Service` (§3.3 of the reference),
//! and the default configuration upstream's Solver sends when it reserves one (§3.4).
//!
//! The CR form and the REAR wire form use the same keys, so one struct serves both.

use serde::{Deserialize, Serialize};

use crate::flavor::FlavorType;

/// CR type identifier of service flavors.
pub const TYPE_SERVICE: &str = "Service";
/// Wire type name of service flavors.
pub const WIRE_TYPE_SERVICE: &str = "service";

/// A hosting policy: one of [`HOSTING_PROVIDER`], [`HOSTING_CONSUMER`], [`HOSTING_SHARED`]
/// (kept as a string so that unknown values written by other nodes survive a round trip).
pub type HostingPolicy = String;

/// The service runs on the provider's cluster.
pub const HOSTING_PROVIDER: &str = "Provider";
/// The service runs on the consumer's cluster.
pub const HOSTING_CONSUMER: &str = "Consumer";
/// The service may run on either side.
pub const HOSTING_SHARED: &str = "Shared";

/// Category whose default configuration is a database account.
pub const CATEGORY_DATABASE: &str = "database";
/// Category whose default configuration is a message-queue account.
pub const CATEGORY_MESSAGE_QUEUE: &str = "message-queue";

/// Service `typeData` (CR and wire form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["name", "description", "category", "tags", "hostingPolicies", "configurationTemplate"]))
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTypeData {
    /// Service name.
    #[serde(default)]
    pub name: String,
    /// Free-text description.
    #[serde(default)]
    pub description: String,
    /// Category, e.g. `database` or `message-queue`; what `categoryFilter` matches.
    #[serde(default)]
    pub category: String,
    /// Tags; `tagsFilter` passes when any of them matches.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where the service may be hosted.
    #[serde(default)]
    pub hosting_policies: Vec<HostingPolicy>,
    /// JSON Schema of the configuration a buyer sends (any JSON).
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::free_form_object")
    )]
    #[serde(default)]
    pub configuration_template: serde_json::Value,
}

impl ServiceTypeData {
    /// The typed service data of a flavor type, or `None` when it is not a `Service`.
    pub fn from_flavor_type(flavor_type: &FlavorType) -> Option<Result<Self, serde_json::Error>> {
        (flavor_type.type_identifier == TYPE_SERVICE)
            .then(|| Self::deserialize(&flavor_type.type_data))
    }

    /// A `Service` flavor type carrying this data.
    ///
    /// # Errors
    /// When the configuration template cannot be serialised (never for parsed JSON).
    pub fn to_flavor_type(&self) -> Result<FlavorType, serde_json::Error> {
        Ok(FlavorType {
            type_identifier: TYPE_SERVICE.to_owned(),
            type_data: serde_json::to_value(self)?,
        })
    }
}

/// The configuration upstream's Solver sends when it reserves a service of `category`
/// (`database` and `message-queue` only; `None` for any other category, which upstream treats
/// as an error).
pub fn default_service_configuration(category: &str) -> Option<serde_json::Value> {
    match category {
        CATEGORY_DATABASE => Some(serde_json::json!({
            "username": "admin", "password": "admin", "database": "mydb"
        })),
        CATEGORY_MESSAGE_QUEUE => Some(serde_json::json!({
            "username": "admin", "password": "adminpassword"
        })),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "name": "mysql", "description": "MySQL 8", "category": "database",
      "tags": ["mysql", "sql"], "hostingPolicies": ["Provider", "Shared"],
      "configurationTemplate": {"type": "object", "properties": {"username": {"type": "string"}}}
    }"#;

    #[test]
    fn decodes_and_reencodes_with_the_same_keys() {
        let data: ServiceTypeData = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(data.category, "database");
        assert_eq!(data.tags, ["mysql", "sql"]);
        assert_eq!(data.hosting_policies, [HOSTING_PROVIDER, HOSTING_SHARED]);
        let expected: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(serde_json::to_value(&data).unwrap(), expected);
    }

    #[test]
    fn missing_fields_default() {
        let data: ServiceTypeData = serde_json::from_str(r#"{"category":"x"}"#).unwrap();
        assert!(data.tags.is_empty());
        assert!(data.configuration_template.is_null());
    }

    #[test]
    fn flavor_type_round_trip() {
        let data: ServiceTypeData = serde_json::from_str(SAMPLE).unwrap();
        let ft = data.to_flavor_type().unwrap();
        assert_eq!(ft.type_identifier, "Service");
        assert_eq!(
            ServiceTypeData::from_flavor_type(&ft).unwrap().unwrap(),
            data
        );
        let k8s = FlavorType {
            type_identifier: "K8Slice".into(),
            type_data: serde_json::json!({}),
        };
        assert!(ServiceTypeData::from_flavor_type(&k8s).is_none());
    }

    #[test]
    fn default_configurations_by_category() {
        let db = default_service_configuration("database").unwrap();
        assert_eq!(db["database"], "mydb");
        let mq = default_service_configuration("message-queue").unwrap();
        assert_eq!(mq["password"], "adminpassword");
        assert!(default_service_configuration("cache").is_none());
    }
}
