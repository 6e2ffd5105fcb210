//! What the API server would make of a CRD schema and of the objects written against it, as
//! pure checks on JSON:
//!
//! * [`structural_findings`]: where a schema breaks Kubernetes' structural-schema rules (a node
//!   without `type`, `$ref`, `anyOf`/`oneOf`/`allOf`/`not`, both `properties` and
//!   `additionalProperties`, an array without `items`) or still carries a `default`.
//! * [`object_findings`]: where an object would lose data or be refused: keys the API server
//!   would prune (not in the schema), required keys missing (or `null` where null is not
//!   allowed), values of the wrong JSON type.
//!
//! `apiVersion`, `kind` and `metadata` at the root are the API server's own and are skipped.

use std::fmt;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Map, Value};

/// Root keys every object has and no CRD schema describes.
pub const ROOT_KEYS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Keywords a structural schema must not use (or, for `default`, that ours must not carry).
const FORBIDDEN_KEYWORDS: [&str; 9] = [
    "$ref",
    "$schema",
    "definitions",
    "$defs",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "default",
];

/// The JSON types a structural schema may name.
const TYPES: [&str; 6] = ["object", "array", "string", "integer", "number", "boolean"];

/// One problem, at a path like `.spec.flavor.metadata.uid` or `.spec.tags[2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where.
    pub path: String,
    /// What.
    pub problem: Problem,
}

/// What is wrong at a [`Finding`]'s path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The key is not in the schema: the API server drops it silently.
    Pruned,
    /// A required key is missing, or `null` where null is not allowed: the write is refused.
    MissingRequired,
    /// The value's JSON type is not the schema's: the write is refused.
    WrongType {
        /// The schema's type.
        expected: String,
    },
    /// The schema itself breaks a structural rule.
    NotStructural(String),
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "."
        } else {
            &self.path
        };
        match &self.problem {
            Problem::Pruned => write!(f, "{path}: not in the schema, would be pruned"),
            Problem::MissingRequired => write!(f, "{path}: required but missing or null"),
            Problem::WrongType { expected } => write!(f, "{path}: not of type {expected}"),
            Problem::NotStructural(why) => write!(f, "{path}: {why}"),
        }
    }
}

/// The `openAPIV3Schema` of the first version of `crd`, as JSON.
pub fn schema_of(crd: &CustomResourceDefinition) -> Option<Value> {
    let version = crd.spec.versions.first()?;
    let schema = version.schema.as_ref()?.open_api_v3_schema.as_ref()?;
    serde_json::to_value(schema).ok()
}

/// Where `schema` breaks the structural rules (empty: it is structural).
pub fn structural_findings(schema: &Value) -> Vec<Finding> {
    let mut findings = Vec::new();
    check_schema(schema, String::new(), &mut findings);
    findings
}

/// Where `object` would be pruned or refused by a CRD whose schema is `schema` (empty: it
/// is stored exactly as written).
pub fn object_findings(schema: &Value, object: &Value) -> Vec<Finding> {
    let mut body = object.clone();
    if let Some(map) = body.as_object_mut() {
        ROOT_KEYS.iter().for_each(|k| {
            map.remove(*k);
        });
    }
    let mut findings = Vec::new();
    check_value(schema, &body, String::new(), &mut findings);
    findings
}

fn check_schema(schema: &Value, path: String, out: &mut Vec<Finding>) {
    let Some(node) = schema.as_object() else {
        return not_structural(out, path, "not a schema object".to_owned());
    };
    for keyword in FORBIDDEN_KEYWORDS.iter().filter(|k| node.contains_key(**k)) {
        not_structural(out, path.clone(), format!("uses `{keyword}`"));
    }
    match node.get("type").and_then(Value::as_str) {
        Some(t) if !TYPES.contains(&t) => not_structural(out, path.clone(), format!("type {t}")),
        None if !flag(node, "x-kubernetes-int-or-string") && !preserves(node) => {
            not_structural(out, path.clone(), "no type".to_owned());
        }
        Some("array") if !node.contains_key("items") => {
            not_structural(out, path.clone(), "array without items".to_owned());
        }
        _ => {}
    }
    if node.contains_key("properties") && node.contains_key("additionalProperties") {
        let why = "both properties and additionalProperties".to_owned();
        not_structural(out, path.clone(), why);
    }
    for (key, child) in node
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        check_schema(child, format!("{path}.{key}"), out);
    }
    if let Some(extra) = node.get("additionalProperties").filter(|v| v.is_object()) {
        check_schema(extra, format!("{path}.*"), out);
    }
    if let Some(items) = node.get("items") {
        check_schema(items, format!("{path}[]"), out);
    }
}

fn check_value(schema: &Value, value: &Value, path: String, out: &mut Vec<Finding>) {
    let Some(node) = schema.as_object() else {
        return;
    };
    if value.is_null() {
        return; // allowed when nullable; otherwise dropped, which only matters when required
    }
    if flag(node, "x-kubernetes-int-or-string") {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            wrong_type(out, path, "int-or-string");
        }
        return;
    }
    match node.get("type").and_then(Value::as_str) {
        Some("object") => match value.as_object() {
            Some(map) => check_object(node, map, &path, out),
            None => wrong_type(out, path, "object"),
        },
        Some("array") => match value.as_array() {
            Some(items) => {
                let item_schema = node.get("items").unwrap_or(&Value::Null);
                for (i, item) in items.iter().enumerate() {
                    check_value(item_schema, item, format!("{path}[{i}]"), out);
                }
            }
            None => wrong_type(out, path, "array"),
        },
        Some(t) if !scalar_matches(t, value) => wrong_type(out, path, t),
        _ => {}
    }
}

fn check_object(
    node: &Map<String, Value>,
    map: &Map<String, Value>,
    path: &str,
    out: &mut Vec<Finding>,
) {
    let properties = node.get("properties").and_then(Value::as_object);
    let extra = node.get("additionalProperties").filter(|v| v.is_object());
    for (key, child) in map {
        let child_path = format!("{path}.{key}");
        match (properties.and_then(|p| p.get(key)), extra) {
            (Some(schema), _) | (None, Some(schema)) => check_value(schema, child, child_path, out),
            (None, None) if preserves(node) => {}
            (None, None) => out.push(Finding {
                path: child_path,
                problem: Problem::Pruned,
            }),
        }
    }
    let required = node.get("required").and_then(Value::as_array);
    for key in required.into_iter().flatten().filter_map(Value::as_str) {
        let nullable = properties
            .and_then(|p| p.get(key))
            .and_then(Value::as_object)
            .is_some_and(|s| flag(s, "nullable"));
        let present = map.get(key).is_some_and(|v| !v.is_null() || nullable);
        if !present {
            out.push(Finding {
                path: format!("{path}.{key}"),
                problem: Problem::MissingRequired,
            });
        }
    }
}

fn scalar_matches(schema_type: &str, value: &Value) -> bool {
    match schema_type {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => true,
    }
}

fn flag(node: &Map<String, Value>, key: &str) -> bool {
    node.get(key).and_then(Value::as_bool) == Some(true)
}

fn preserves(node: &Map<String, Value>) -> bool {
    flag(node, "x-kubernetes-preserve-unknown-fields")
}

fn not_structural(out: &mut Vec<Finding>, path: String, why: String) {
    out.push(Finding {
        path,
        problem: Problem::NotStructural(why),
    });
}

fn wrong_type(out: &mut Vec<Finding>, path: String, expected: &str) {
    out.push(Finding {
        path,
        problem: Problem::WrongType {
            expected: expected.to_owned(),
        },
    });
}

#[cfg(test)]
#[path = "schema_check_tests.rs"]
mod tests;
