use serde_json::json;

use super::*;

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["name", "data"],
                "properties": {
                    "name": {"type": "string"},
                    "count": {"type": "integer"},
                    "cpu": {"x-kubernetes-int-or-string": true},
                    "data": {"type": "object", "nullable": true,
                             "x-kubernetes-preserve-unknown-fields": true},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "tags": {"type": "array", "items": {"type": "string"}}
                }
            }
        }
    })
}

fn problems(object: &Value) -> Vec<(String, Problem)> {
    object_findings(&schema(), object)
        .into_iter()
        .map(|f| (f.path, f.problem))
        .collect()
}

#[test]
fn a_conforming_object_has_no_findings() {
    let object = json!({
        "apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a", "uid": "u"},
        "spec": {"name": "a", "count": 3, "cpu": "1500m", "data": {"any": [1, {"x": null}]},
                 "labels": {"k": "v"}, "tags": ["t"]}
    });
    assert_eq!(problems(&object), []);
    // int-or-string takes an integer too; a nullable required key may be null.
    let object = json!({"spec": {"name": "a", "cpu": 2, "data": null}});
    assert_eq!(problems(&object), []);
}

#[test]
fn unknown_keys_are_reported_as_pruned() {
    let object = json!({"spec": {"name": "a", "data": {}, "extra": 1}, "other": {}});
    assert_eq!(
        problems(&object),
        [
            (".other".to_owned(), Problem::Pruned),
            (".spec.extra".to_owned(), Problem::Pruned)
        ]
    );
}

#[test]
fn missing_or_null_required_keys_are_reported() {
    let object = json!({"spec": {"name": null}});
    assert_eq!(
        problems(&object),
        [
            (".spec.name".to_owned(), Problem::MissingRequired),
            (".spec.data".to_owned(), Problem::MissingRequired)
        ]
    );
}

#[test]
fn wrong_types_are_reported_with_their_path() {
    let object = json!({"spec": {"name": 1, "data": {}, "count": 1.5, "cpu": true,
                                 "labels": {"k": 2}, "tags": ["a", false]}});
    let found = object_findings(&schema(), &object);
    let text: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            ".spec.count: not of type integer",
            ".spec.cpu: not of type int-or-string",
            ".spec.labels.k: not of type string",
            ".spec.name: not of type string",
            ".spec.tags[1]: not of type string",
        ]
    );
}

#[test]
fn structural_rules_are_enforced() {
    assert_eq!(structural_findings(&schema()), []);
    let bad = json!({
        "type": "object",
        "properties": {
            "untyped": {"description": "no type"},
            "ref": {"$ref": "#/definitions/X", "type": "object"},
            "union": {"type": "object", "anyOf": [{"type": "object"}]},
            "list": {"type": "array"},
            "both": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
            "defaulted": {"type": "string", "default": ""},
            "odd": {"type": "null"}
        }
    });
    let text: Vec<String> = structural_findings(&bad)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        text,
        [
            ".both: both properties and additionalProperties",
            ".defaulted: uses `default`",
            ".list: array without items",
            ".odd: type null",
            ".ref: uses `$ref`",
            ".union: uses `anyOf`",
            ".untyped: no type",
        ]
    );
}
