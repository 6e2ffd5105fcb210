//! The CRDs' shape (names, scope, versions, columns, selectable fields), their schemas'
//! structure, their YAML, and the committed `config/crds/` files.

mod ours;
mod upstream;

use std::collections::BTreeSet;
use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use super::schema_check::{schema_of, structural_findings};
use super::*;
use crate::k8s::resources::{KINDS, VERSION};

/// Upstream's printer columns by kind, in order, minus Discovery's stale PC Namespace/Name.
const COLUMNS: [(&str, &[&str]); 11] = [
    (
        "Flavor",
        &[
            "Provider ID",
            "Type",
            "Owner Name",
            "Available",
            "Age",
            "Kubernetes Node Owner",
        ],
    ),
    (
        "Solver",
        &[
            "Intent ID",
            "Find Candidate",
            "Reserve and Buy",
            "Peering",
            "Candidate Phase",
            "Reserving Phase",
            "Peering Phase",
            "Status",
            "Message",
            "Age",
        ],
    ),
    (
        "Allocation",
        &["Status", "Status Message", "Resource Reference"],
    ),
    (
        "ServiceBlueprint",
        &[
            "Name",
            "Description",
            "Category",
            "Tags",
            "ServiceFlavors",
            "Age",
        ],
    ),
    (
        "Discovery",
        &["Solver ID", "Subscribe", "Status", "Message"],
    ),
    ("PeeringCandidate", &[]),
    (
        "Reservation",
        &[
            "Solver ID",
            "Reserve",
            "Purchase",
            "Seller Name",
            "Seller Domain",
            "Peering Candidate",
            "Transaction ID",
            "Reserve Phase",
            "Purchase Phase",
            "Contract Name",
            "Status",
            "Message",
        ],
    ),
    (
        "Transaction",
        &[
            "Flavor ID",
            "Buyer Name",
            "Buyer IP",
            "Buyer Domain",
            "Cluster ID",
            "Start Time",
        ],
    ),
    (
        "Contract",
        &[
            "Flavor ID",
            "Buyer Name",
            "Buyer Domain",
            "Seller Name",
            "Seller Domain",
            "Transaction ID",
            "Buyer Liqo ID",
            "Expiration Time",
        ],
    ),
    ("KnownCluster", &[]),
    ("Broker", &[]),
];

/// The CRD of `kind`.
pub(super) fn crd(kind: &str) -> CustomResourceDefinition {
    all()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"))
}

/// The schema node a printer-column or selectable-field JSONPath names (`.metadata.…` is the
/// API server's and resolves to `Null`).
fn schema_at<'a>(schema: &'a Value, path: &str) -> Option<&'a Value> {
    if path.starts_with(".metadata.") {
        return Some(&Value::Null);
    }
    let mut node = schema;
    for segment in path.trim_start_matches('.').split('.') {
        let (name, indexed) = match segment.split_once('[') {
            Some((name, _)) => (name, true),
            None => (segment, false),
        };
        node = node.get("properties")?.get(name)?;
        if indexed {
            node = node.get("items")?;
        }
    }
    Some(node)
}

#[test]
fn every_crd_matches_the_kind_table_in_upstream_order() {
    let crds = all();
    assert_eq!(crds.len(), KINDS.len());
    for (crd, info) in crds.iter().zip(KINDS) {
        let names = &crd.spec.names;
        assert_eq!(names.kind, info.kind);
        assert_eq!(crd.spec.group, info.group, "{}", info.kind);
        assert_eq!(names.plural, info.plural, "{}", info.kind);
        assert_eq!(crd.metadata.name.as_deref(), Some(info.crd_name().as_str()));
        let short: Vec<&str> = names
            .short_names
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        assert_eq!(short, info.short_names, "{}", info.kind);
        assert_eq!(crd.spec.scope, "Namespaced", "{}", info.kind);
        let [version] = crd.spec.versions.as_slice() else {
            panic!("{} has {} versions", info.kind, crd.spec.versions.len());
        };
        assert_eq!(version.name, VERSION);
        assert!(version.served && version.storage, "{}", info.kind);
        let status = version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref());
        assert!(status.is_some(), "{} has no status subresource", info.kind);
    }
}

#[test]
fn printer_columns_are_upstreams_and_name_fields_that_exist() {
    for (kind, expected) in COLUMNS {
        let crd = crd(kind);
        let schema = schema_of(&crd).unwrap();
        let columns = crd.spec.versions[0].additional_printer_columns.clone();
        let columns = columns.unwrap_or_default();
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, expected, "{kind}");
        for column in &columns {
            let node = schema_at(&schema, &column.json_path);
            let node = node.unwrap_or_else(|| panic!("{kind} {}: no such field", column.name));
            let field_type = node.get("type").and_then(Value::as_str);
            let ok = match column.type_.as_str() {
                "date" => column.json_path.starts_with(".metadata."),
                "boolean" => field_type == Some("boolean"),
                "string" => {
                    column.json_path.starts_with(".metadata.")
                        || matches!(field_type, Some("string" | "array"))
                }
                other => panic!("{kind} {}: column type {other}", column.name),
            };
            assert!(
                ok,
                "{kind} {}: {field_type:?} shown as {}",
                column.name, column.type_
            );
        }
    }
}

#[test]
fn upstreams_broken_column_paths_are_fixed() {
    let path = |kind: &str, name: &str| {
        let columns = crd(kind).spec.versions[0]
            .additional_printer_columns
            .clone();
        let column = columns.into_iter().flatten().find(|c| c.name == name);
        column.map(|c| (c.json_path, c.type_, c.priority))
    };
    assert_eq!(
        path("Reservation", "Seller Domain"),
        Some((".spec.seller.domain".into(), "string".into(), Some(1)))
    );
    assert_eq!(
        path("Transaction", "Start Time"),
        Some((".metadata.creationTimestamp".into(), "date".into(), None))
    );
    assert_eq!(path("Discovery", "PC Name"), None);
    assert_eq!(
        path("Flavor", "Owner Name"),
        Some((".spec.owner.nodeID".into(), "string".into(), Some(1)))
    );
}

#[test]
fn selectable_fields_are_scalars_of_the_schema() {
    let mut count = 0;
    for crd in all() {
        let schema = schema_of(&crd).unwrap();
        for field in crd.spec.versions[0].selectable_fields.iter().flatten() {
            let node = schema_at(&schema, &field.json_path).unwrap();
            let field_type = node.get("type").and_then(Value::as_str);
            assert!(
                matches!(field_type, Some("string" | "boolean" | "integer")),
                "{} {}: {field_type:?}",
                crd.spec.names.kind,
                field.json_path
            );
            count += 1;
        }
    }
    assert!(count >= 8, "only {count} selectable fields");
}

#[test]
fn schemas_are_structural_without_defaults_or_root_requirements() {
    for crd in all() {
        let schema = schema_of(&crd).unwrap();
        let findings = structural_findings(&schema);
        assert!(
            findings.is_empty(),
            "{}: {findings:#?}",
            crd.spec.names.kind
        );
        assert_eq!(schema["type"], "object");
        assert!(schema.get("required").is_none(), "{}", crd.spec.names.kind);
        assert!(schema["properties"].get("spec").is_some());
        assert!(schema["properties"].get("status").is_some());
    }
}

#[test]
fn upstream_required_lists_survive() {
    let contract = schema_of(&crd("Contract")).unwrap();
    let spec = &contract["properties"]["spec"];
    let required = |node: &Value| -> BTreeSet<String> {
        serde_json::from_value(node["required"].clone()).unwrap_or_default()
    };
    let set = |keys: &[&str]| {
        keys.iter()
            .map(|k| (*k).to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        required(spec),
        set(&[
            "flavor",
            "transactionID",
            "buyer",
            "seller",
            "buyerClusterID",
            "peeringTargetCredentials"
        ])
    );
    let flavor = &spec["properties"]["flavor"];
    assert!(
        flavor.get("required").is_none(),
        "an embedded Flavor requires nothing"
    );
    let flavor_spec = &flavor["properties"]["spec"];
    assert_eq!(
        required(&flavor_spec["properties"]["owner"]),
        set(&["domain", "nodeID", "ip"])
    );
    let type_data = &flavor_spec["properties"]["flavorType"]["properties"]["typeData"];
    assert_eq!(type_data["x-kubernetes-preserve-unknown-fields"], true);
    let discovery = schema_of(&crd("Discovery")).unwrap();
    let spec = &discovery["properties"]["spec"];
    assert_eq!(
        required(spec),
        set(&["solverID", "subscribe"]),
        "selector stays optional"
    );
}

#[test]
fn yaml_documents_parse_back_to_the_same_crd() {
    let stream = all_yaml().unwrap();
    assert_eq!(stream.matches("---\n").count(), KINDS.len());
    for crd in all() {
        let yaml = to_yaml(&crd).unwrap();
        assert!(yaml.starts_with("---\n"));
        let back: CustomResourceDefinition = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(back, crd);
        assert!(stream.contains(&yaml));
    }
    assert_eq!(
        file_name(&crd("PeeringCandidate")),
        "advertisement.fluidos.eu_peeringcandidates.yaml"
    );
}

#[test]
fn committed_crd_files_are_the_generated_ones() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/crds");
    let regenerate = "regenerate with `cargo run -p fluidos-hub -- crds --out config/crds`";
    let generated = files().unwrap();
    for file in &generated {
        let committed = std::fs::read_to_string(dir.join(&file.name)).unwrap_or_default();
        assert!(
            committed == file.contents,
            "config/crds/{} differs from what `fluidos-hub crds` generates; {regenerate}",
            file.name
        );
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    let expected: BTreeSet<String> = generated.into_iter().map(|f| f.name).collect();
    assert_eq!(
        on_disk, expected,
        "stale or missing files in config/crds; {regenerate}"
    );
}
