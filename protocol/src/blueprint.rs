//! The `ServiceBlueprint` custom resource (`nodecore.fluidos.eu/v1alpha1`, reference §3.12): a
//! service a provider can sell (name, category, hosting policies) and the templated manifests
//! that run it. Upstream's LRM turns each blueprint into one `Service` Flavor (§5.2).

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::service::{HOSTING_PROVIDER, HostingPolicy, ServiceTypeData};
use crate::solver::NODECORE_API_VERSION;

/// `kind` of ServiceBlueprint objects.
pub const SERVICE_BLUEPRINT_KIND: &str = "ServiceBlueprint";
/// Plural resource name of ServiceBlueprints.
pub const SERVICE_BLUEPRINT_PLURAL: &str = "serviceblueprints";
/// Short names of ServiceBlueprints.
pub const SERVICE_BLUEPRINT_SHORT_NAMES: &[&str] = &["sbp"];

/// A ServiceBlueprint object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceBlueprint {
    /// Always [`NODECORE_API_VERSION`].
    pub api_version: String,
    /// Always [`SERVICE_BLUEPRINT_KIND`].
    pub kind: String,
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The service and its manifests.
    pub spec: ServiceBlueprintSpec,
    /// The Service Flavors made from it (never written upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ServiceBlueprintStatus>,
}

impl ServiceBlueprint {
    /// A ServiceBlueprint with the right `apiVersion`/`kind` around `metadata` and `spec`.
    pub fn new(metadata: ObjectMeta, spec: ServiceBlueprintSpec) -> Self {
        Self {
            api_version: NODECORE_API_VERSION.to_owned(),
            kind: SERVICE_BLUEPRINT_KIND.to_owned(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `spec` of a ServiceBlueprint (every key required upstream, always emitted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = [
        "name", "description", "category", "tags", "hostingPolicies", "templates"
    ]))
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceBlueprintSpec {
    /// Service name.
    #[serde(default)]
    pub name: String,
    /// Free-text description.
    #[serde(default)]
    pub description: String,
    /// Category, e.g. `database` or `message-queue`.
    #[serde(default)]
    pub category: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where the service may be hosted; the first is the default, none means `Provider`.
    #[serde(default)]
    pub hosting_policies: Vec<HostingPolicy>,
    /// The manifests that run the service.
    #[serde(default)]
    pub templates: Vec<ServiceTemplate>,
}

impl ServiceBlueprintSpec {
    /// The default hosting policy: the first one listed, or `Provider` when none is.
    pub fn default_hosting_policy(&self) -> &str {
        self.hosting_policies
            .first()
            .map_or(HOSTING_PROVIDER, String::as_str)
    }

    /// The `typeData` of the Service Flavor made from this blueprint (§5.2): its name,
    /// description, category, tags and hosting policies, with `configuration_template`.
    pub fn service_type_data(&self, configuration_template: serde_json::Value) -> ServiceTypeData {
        ServiceTypeData {
            name: self.name.clone(),
            description: self.description.clone(),
            category: self.category.clone(),
            tags: self.tags.clone(),
            hosting_policies: self.hosting_policies.clone(),
            configuration_template,
        }
    }
}

/// One templated manifest (Go-template syntax, rendered with the configuration data).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["name", "serviceData"]))
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTemplate {
    /// Template name.
    #[serde(default)]
    pub name: String,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The manifest (one Kubernetes object, templated).
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::free_form_object")
    )]
    #[serde(default)]
    pub service_data: serde_json::Value,
}

/// `status` of a ServiceBlueprint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceBlueprintStatus {
    /// The Service Flavors' type data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_flavors: Vec<ServiceTypeData>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> serde_json::Value {
        json!({
            "apiVersion": "nodecore.fluidos.eu/v1alpha1",
            "kind": "ServiceBlueprint",
            "metadata": {"name": "mysql", "namespace": "fluidos"},
            "spec": {
                "name": "mysql", "description": "MySQL 8", "category": "database",
                "tags": ["sql"], "hostingPolicies": ["Consumer", "Provider"],
                "templates": [{
                    "name": "deployment", "description": "the server",
                    "serviceData": {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "metadata": {"name": "{{ .username }}"}}
                }]
            }
        })
    }

    #[test]
    fn upstream_shape_round_trips() {
        let bp: ServiceBlueprint = serde_json::from_value(sample()).unwrap();
        assert_eq!(bp.spec.templates[0].service_data["kind"], "Deployment");
        assert_eq!(bp.spec.default_hosting_policy(), "Consumer");
        assert_eq!(serde_json::to_value(&bp).unwrap(), sample());
    }

    #[test]
    fn missing_keys_default_and_required_keys_are_emitted() {
        let bp = ServiceBlueprint::new(
            ObjectMeta {
                name: "x".into(),
                ..ObjectMeta::default()
            },
            ServiceBlueprintSpec::default(),
        );
        assert_eq!(bp.spec.default_hosting_policy(), HOSTING_PROVIDER);
        let v = serde_json::to_value(&bp).unwrap();
        assert_eq!(
            v["spec"],
            json!({"name": "", "description": "", "category": "", "tags": [],
                   "hostingPolicies": [], "templates": []})
        );
        assert!(v.get("status").is_none());
        let back: ServiceBlueprint = serde_json::from_value(v).unwrap();
        assert_eq!(back, bp);
    }

    #[test]
    fn service_type_data_copies_the_blueprint() {
        let bp: ServiceBlueprint = serde_json::from_value(sample()).unwrap();
        let data = bp.spec.service_type_data(json!({"type": "object"}));
        assert_eq!(data.category, "database");
        assert_eq!(data.hosting_policies, ["Consumer", "Provider"]);
        assert_eq!(data.configuration_template["type"], "object");
        let status = ServiceBlueprintStatus {
            service_flavors: vec![data],
        };
        let v = serde_json::to_value(&status).unwrap();
        assert_eq!(v["serviceFlavors"][0]["name"], "mysql");
    }
}
