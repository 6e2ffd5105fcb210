//! Pure conversions between the store's [`StoredObject`] and kube's [`DynamicObject`], and
//! from API errors to [`StoreError`]. The API server's resourceVersion is an etcd revision,
//! which the store interface carries as a number; anything else is [`StoreError::Invalid`].

use kube::api::{ApiResource, DynamicObject};
use kube::core::TypeMeta;

use crate::k8s::resources::{KindInfo, VERSION, kind_info};
use crate::store::{StoreError, StoredObject};

/// The API resource of a FLUIDOS `kind`.
pub(crate) fn api_resource(kind: &str) -> Result<ApiResource, StoreError> {
    let info = kind_info(kind)
        .ok_or_else(|| StoreError::Invalid(format!("{kind} is not a FLUIDOS kind")))?;
    Ok(api_resource_of(info))
}

/// The API resource of a table entry.
pub(crate) fn api_resource_of(info: &KindInfo) -> ApiResource {
    ApiResource {
        group: info.group.to_owned(),
        version: VERSION.to_owned(),
        api_version: info.api_version(),
        kind: info.kind.to_owned(),
        plural: info.plural.to_owned(),
    }
}

/// `json` as a [`DynamicObject`] of `kind` named `namespace/name`, with `apiVersion`/`kind` set.
pub(crate) fn to_dynamic(
    kind: &str,
    namespace: &str,
    name: &str,
    json: serde_json::Value,
) -> Result<DynamicObject, StoreError> {
    if !json.is_object() {
        return Err(StoreError::Invalid(format!(
            "{kind} {namespace}/{name} is not a JSON object"
        )));
    }
    if name.is_empty() {
        return Err(StoreError::Invalid(format!("{kind} without a name")));
    }
    let resource = api_resource(kind)?;
    let mut object: DynamicObject = serde_json::from_value(json).map_err(|e| {
        StoreError::Invalid(format!("{kind} {namespace}/{name} is not an object: {e}"))
    })?;
    object.types = Some(TypeMeta {
        api_version: resource.api_version,
        kind: resource.kind,
    });
    object.metadata.name = Some(name.to_owned());
    object.metadata.namespace = Some(namespace.to_owned());
    Ok(object)
}

/// A [`DynamicObject`] read from the API server as a [`StoredObject`] of `kind`.
pub(crate) fn from_dynamic(
    kind: &str,
    mut object: DynamicObject,
) -> Result<StoredObject, StoreError> {
    let resource = api_resource(kind)?;
    object.types = Some(TypeMeta {
        api_version: resource.api_version,
        kind: resource.kind,
    });
    // The server's bookkeeping of field managers is noise for every reader of the store.
    object.metadata.managed_fields = None;
    let name = object.metadata.name.clone().unwrap_or_default();
    let namespace = object.metadata.namespace.clone().unwrap_or_default();
    let resource_version = parse_resource_version(
        kind,
        &namespace,
        &name,
        object.metadata.resource_version.as_deref(),
    )?;
    let json = serde_json::to_value(&object)
        .map_err(|e| StoreError::Invalid(format!("{kind} {namespace}/{name}: {e}")))?;
    Ok(StoredObject {
        kind: kind.to_owned(),
        namespace,
        name,
        resource_version,
        json,
    })
}

/// The numeric resourceVersion the API server gave.
pub(crate) fn parse_resource_version(
    kind: &str,
    namespace: &str,
    name: &str,
    value: Option<&str>,
) -> Result<u64, StoreError> {
    value.and_then(|v| v.parse().ok()).ok_or_else(|| {
        StoreError::Invalid(format!(
            "{kind} {namespace}/{name} has resourceVersion {value:?}, expected an etcd revision"
        ))
    })
}

/// What an API error means to the store, for the object `kind namespace/name`.
pub(crate) fn store_error(
    error: kube::Error,
    kind: &str,
    namespace: &str,
    name: &str,
    expected: u64,
) -> StoreError {
    let where_ = || (kind.to_owned(), namespace.to_owned(), name.to_owned());
    match &error {
        kube::Error::Api(status) if status.code == 404 => {
            let (kind, namespace, name) = where_();
            StoreError::NotFound {
                kind,
                namespace,
                name,
            }
        }
        kube::Error::Api(status) if status.code == 409 && status.reason == "AlreadyExists" => {
            let (kind, namespace, name) = where_();
            StoreError::AlreadyExists {
                kind,
                namespace,
                name,
            }
        }
        kube::Error::Api(status) if status.code == 409 => {
            let (kind, namespace, name) = where_();
            StoreError::Conflict {
                kind,
                namespace,
                name,
                expected,
                actual: 0,
            }
        }
        kube::Error::Api(status) if status.code == 422 || status.code == 400 => {
            StoreError::Invalid(format!("{kind} {namespace}/{name}: {}", status.message))
        }
        _ => StoreError::Backend(Box::new(error)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trip_keeps_unmodelled_metadata_and_drops_managed_fields() {
        let json = json!({
            "metadata": {"finalizers": ["x/y"], "labels": {"a": "b"}},
            "spec": {"providerID": "p"},
        });
        let dynamic = to_dynamic("Flavor", "fluidos", "f1", json).unwrap();
        assert_eq!(
            dynamic.types.as_ref().unwrap().api_version,
            "nodecore.fluidos.eu/v1alpha1"
        );
        let mut served = dynamic;
        served.metadata.resource_version = Some("42".into());
        served.metadata.managed_fields = Some(vec![Default::default()]);
        let stored = from_dynamic("Flavor", served).unwrap();
        assert_eq!(stored.resource_version, 42);
        assert_eq!(stored.name, "f1");
        assert_eq!(stored.json["metadata"]["finalizers"], json!(["x/y"]));
        assert_eq!(stored.json["spec"]["providerID"], "p");
        assert_eq!(stored.json["kind"], "Flavor");
        assert!(stored.json["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn bad_input_is_invalid_not_a_panic() {
        assert!(matches!(
            to_dynamic("Flavor", "ns", "n", json!([1])),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            to_dynamic("Pod", "ns", "n", json!({})),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            to_dynamic("Flavor", "ns", "", json!({})),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            parse_resource_version("Flavor", "ns", "n", Some("abc")),
            Err(StoreError::Invalid(_))
        ));
    }
}
