//! The store's metadata rules on raw JSON objects (pure; no IO).

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::StoreError;

/// The metadata the store owns on every object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Stamp<'a> {
    pub(super) namespace: &'a str,
    pub(super) name: &'a str,
    pub(super) resource_version: u64,
    pub(super) uid: &'a str,
    pub(super) created: &'a str,
    pub(super) generation: i64,
}

/// `json` as an object with a `metadata` object (created when absent).
fn parts(json: &mut Value) -> Result<&mut Map<String, Value>, StoreError> {
    let Value::Object(root) = json else {
        return Err(StoreError::Invalid(
            "an object must be a JSON object".to_owned(),
        ));
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    match meta {
        Value::Object(meta) => Ok(meta),
        _ => Err(StoreError::Invalid(
            "metadata must be a JSON object".to_owned(),
        )),
    }
}

/// Check that `json` is an object with an object (or absent) `metadata`.
pub(super) fn check_shape(json: &mut Value) -> Result<(), StoreError> {
    parts(json).map(|_| ())
}

/// Write the store-owned metadata into `json`.
pub(super) fn stamp(json: &mut Value, s: &Stamp<'_>) -> Result<(), StoreError> {
    let meta = parts(json)?;
    meta.insert("name".into(), s.name.into());
    if s.namespace.is_empty() {
        meta.remove("namespace");
    } else {
        meta.insert("namespace".into(), s.namespace.into());
    }
    meta.insert(
        "resourceVersion".into(),
        s.resource_version.to_string().into(),
    );
    meta.insert("uid".into(), s.uid.into());
    meta.insert("creationTimestamp".into(), s.created.into());
    meta.insert("generation".into(), s.generation.into());
    Ok(())
}

/// Set only `metadata.resourceVersion` (on an object already stamped).
pub(super) fn set_resource_version(json: &mut Value, rv: u64) -> Result<(), StoreError> {
    parts(json)?.insert("resourceVersion".into(), rv.to_string().into());
    Ok(())
}

/// A `metadata` string field of a stored object ("" when absent).
pub(super) fn meta_str<'a>(json: &'a Value, field: &str) -> &'a str {
    json.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.generation` of a stored object (0 when absent).
pub(super) fn generation(json: &Value) -> i64 {
    json.get("metadata")
        .and_then(|m| m.get("generation"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Whether anything outside `metadata` and `status` differs (what bumps `generation`, as for
/// Kubernetes custom resources).
pub(super) fn spec_changed(old: &Value, new: &Value) -> bool {
    fn body(v: &Value) -> Vec<(&String, &Value)> {
        let mut fields: Vec<_> = match v {
            Value::Object(m) => m
                .iter()
                .filter(|(k, _)| *k != "metadata" && *k != "status")
                .collect(),
            _ => Vec::new(),
        };
        fields.sort_by_key(|(k, _)| *k);
        fields
    }
    body(old) != body(new)
}

/// Replace `.status` of `json` with `status` (`None` or `null` removes it).
pub(super) fn set_status(json: &mut Value, status: Option<&Value>) {
    if let Value::Object(root) = json {
        match status {
            Some(s) if !s.is_null() => root.insert("status".into(), s.clone()),
            _ => root.remove("status"),
        };
    }
}

/// A random RFC 4122 version-4 UUID.
pub(super) fn new_uid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Now in RFC 3339 with whole seconds, as Kubernetes writes `creationTimestamp`.
pub(super) fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now - time::Duration::nanoseconds(i64::from(now.nanosecond()));
    // Formatting a UTC time with a year in 0..=9999 cannot fail.
    now.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn spec_changes_ignore_metadata_and_status() {
        let a = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"x": 1}, "status": {"s": 1}});
        let b = json!({"metadata": {"labels": {"a": "2"}}, "spec": {"x": 1}, "status": {"s": 2}});
        let c = json!({"metadata": {}, "spec": {"x": 2}});
        assert!(!spec_changed(&a, &b));
        assert!(spec_changed(&a, &c));
        assert!(spec_changed(&a, &json!({"spec": {"x": 1}, "extra": true})));
    }

    #[test]
    fn shapes_are_checked_and_uids_look_like_uuids() {
        assert!(check_shape(&mut json!([1])).is_err());
        assert!(check_shape(&mut json!({"metadata": 3})).is_err());
        let mut v = json!({});
        check_shape(&mut v).unwrap();
        assert_eq!(v, json!({"metadata": {}}));
        let uid = new_uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(&uid[14..15], "4");
        assert!(now_rfc3339().ends_with('Z'));
    }
}
