//! JSON Schemas of the custom-resource types (feature `schema`), for the hub's CRDs.
//!
//! Most spec/status types derive `schemars::JsonSchema` (behind `cfg_attr`); this module holds
//! what cannot be derived:
//!
//! * [`Quantity`], [`Phase`], [`AllocationStatus`]: their serde is hand-written (a Quantity is an
//!   integer or a string, `x-kubernetes-int-or-string`; the enums are plain strings, because
//!   unknown values must load).
//! * [`ObjectMeta`] as it appears *embedded* in another object (a PeeringCandidate's or a
//!   Contract's Flavor): upstream's schema keeps `name`, `namespace`, `labels`, `annotations`
//!   and `finalizers` only, and the API server prunes everything else.
//! * [`free_form_object`], [`string_map`]: helpers for `#[schemars(schema_with = …)]` on fields
//!   that hold arbitrary JSON (`typeData`, configuration `data`, selector `filters`, …).
//! * [`list_envelope`]: a `#[schemars(transform = …)]` adding the `apiVersion`, `kind` and
//!   list `metadata` keys Go writes around an embedded list (Discovery's candidates).
//!
//! The schemas follow Kubernetes' *structural* rules: every node has a `type` unless it is
//! int-or-string or preserves unknown fields, and nothing uses `$ref`.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::allocation::AllocationStatus;
use crate::meta::ObjectMeta;
use crate::phase::Phase;
use crate::quantity::Quantity;

/// A field holding any JSON object, kept as is by the API server (not pruned, not validated):
/// `{type: object, x-kubernetes-preserve-unknown-fields: true, nullable: true}`.
///
/// `nullable` because our serializers emit `null` for a value that was never set; without it
/// the API server would drop the key, and a required key would then fail validation.
pub fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "nullable": true,
    })
}

/// A `map[string]string` (labels, annotations): `{type: object, additionalProperties: string}`.
pub fn string_map(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": {"type": "string"},
    })
}

/// Adds `apiVersion`, `kind` and `metadata` (Kubernetes `ListMeta`) to the properties of an
/// embedded list, so the `metadata: {}` upstream's Go encoder writes there is accepted. We do
/// not model them: they carry nothing.
pub fn list_envelope(schema: &mut Schema) {
    let Some(properties) = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    let string = || serde_json::json!({"type": "string"});
    properties.insert("apiVersion".to_owned(), string());
    properties.insert("kind".to_owned(), string());
    let list_meta = serde_json::json!({
        "type": "object",
        "properties": {
            "continue": {"type": "string"},
            "remainingItemCount": {"type": "integer", "format": "int64"},
            "resourceVersion": {"type": "string"},
            "selfLink": {"type": "string"},
        },
    });
    properties.insert("metadata".to_owned(), list_meta);
}

/// A plain string node with a description.
fn described_string(description: &str) -> Schema {
    json_schema!({"type": "string", "description": description})
}

impl JsonSchema for Quantity {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kubernetes resource quantity, e.g. \"1500m\", \"4Gi\" or 110.",
            "x-kubernetes-int-or-string": true,
        })
    }
}

impl JsonSchema for Phase {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Phase".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        described_string(
            "Solved, Failed, Running, Allocating, Idle, Timed Out, Active, Pending, Inactive \
             (or empty).",
        )
    }
}

impl JsonSchema for AllocationStatus {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "AllocationStatus".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        described_string(
            "Active, Provisioning, ResourceCreation, Peering, Released, Inactive or Error.",
        )
    }
}

/// The schema of [`ObjectMeta`] where it is embedded in another object's spec or status.
/// Top-level `metadata` is the API server's own and never uses this schema.
impl JsonSchema for ObjectMeta {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "EmbeddedObjectMeta".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "description": "Metadata of an embedded object: name, namespace, labels, \
                            annotations and finalizers are kept; other keys are pruned.",
            "properties": {
                "name": {"type": "string"},
                "namespace": {"type": "string"},
                "labels": string_map(generator),
                "annotations": string_map(generator),
                "finalizers": {"type": "array", "items": {"type": "string"}},
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema_of<T: JsonSchema>() -> serde_json::Value {
        let mut generator = SchemaGenerator::default();
        T::json_schema(&mut generator).to_value()
    }

    #[test]
    fn quantity_is_int_or_string() {
        assert_eq!(
            schema_of::<Quantity>()["x-kubernetes-int-or-string"],
            json!(true)
        );
        assert!(schema_of::<Quantity>().get("type").is_none());
    }

    #[test]
    fn hand_written_enums_are_plain_strings() {
        for schema in [schema_of::<Phase>(), schema_of::<AllocationStatus>()] {
            assert_eq!(schema["type"], "string");
            assert!(schema.get("enum").is_none(), "unknown values must load");
        }
    }

    #[test]
    fn embedded_metadata_keeps_upstream_keys_only() {
        let schema = schema_of::<ObjectMeta>();
        let mut keys: Vec<_> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            ["annotations", "finalizers", "labels", "name", "namespace"]
        );
        assert_eq!(
            schema["properties"]["labels"]["additionalProperties"]["type"],
            "string"
        );
    }

    #[test]
    fn list_envelope_adds_list_keys() {
        let mut schema =
            json_schema!({"type": "object", "properties": {"items": {"type": "array"}}});
        list_envelope(&mut schema);
        let properties = schema.to_value()["properties"].clone();
        assert_eq!(properties["items"]["type"], "array");
        assert_eq!(
            properties["metadata"]["properties"]["continue"]["type"],
            "string"
        );
        assert_eq!(properties["kind"]["type"], "string");
    }

    #[test]
    fn free_form_objects_preserve_unknown_fields() {
        let schema = free_form_object(&mut SchemaGenerator::default()).to_value();
        assert_eq!(
            schema,
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                   "nullable": true})
        );
    }
}
