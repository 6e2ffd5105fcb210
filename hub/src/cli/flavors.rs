//! `fluidos-hub flavors`: list the Flavors in the store. `-o json|yaml` prints the full CR
//! objects as stored; the table has upstream's printer columns plus the board's size.

use std::process::ExitCode;

use anyhow::Context as _;
use fluidos_protocol::flavor::{FLAVOR_KIND, Flavor};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Output;
use super::table;
use crate::config::Config;

/// Run `flavors`.
pub(super) async fn run(config: &Config, output: Output) -> anyhow::Result<ExitCode> {
    let store = super::state::open_read_only(config).await?;
    let objects = store
        .list(FLAVOR_KIND, None)
        .await
        .context("cannot list Flavors")?;
    let json: Vec<serde_json::Value> = objects.into_iter().map(|o| o.json).collect();
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&json)?),
        Output::Yaml => print!("{}", serde_yaml::to_string(&json)?),
        Output::Table => print!("{}", render(&json, OffsetDateTime::now_utc())),
    }
    Ok(ExitCode::SUCCESS)
}

/// One table row per Flavor; objects that do not decode still get their name listed.
pub(crate) fn render(objects: &[serde_json::Value], now: OffsetDateTime) -> String {
    let rows: Vec<Vec<String>> = objects.iter().map(|o| row(o, now)).collect();
    let headers = [
        "NAME",
        "PROVIDER ID",
        "TYPE",
        "AVAILABLE",
        "NODE",
        "ARCH",
        "CPU",
        "MEMORY",
        "AGE",
    ];
    table::render(&headers, &rows)
}

fn row(object: &serde_json::Value, now: OffsetDateTime) -> Vec<String> {
    let Ok(flavor) = serde_json::from_value::<Flavor>(object.clone()) else {
        let name = object
            .pointer("/metadata/name")
            .and_then(|n| n.as_str())
            .unwrap_or("?");
        return vec![name.to_owned(), "<invalid>".to_owned()];
    };
    let characteristics = flavor
        .spec
        .flavor_type
        .k8slice()
        .and_then(Result::ok)
        .map(|d| d.characteristics);
    let age = OffsetDateTime::parse(&flavor.metadata.creation_timestamp, &Rfc3339).map_or_else(
        |_| "-".to_owned(),
        |created| table::age((now - created).whole_seconds()),
    );
    let dash = || "-".to_owned();
    vec![
        flavor.metadata.name.clone(),
        flavor.spec.provider_id.clone(),
        flavor.spec.flavor_type.type_identifier.clone(),
        flavor.spec.availability.to_string(),
        crate::lrm::flavor::agent_node(&flavor)
            .map(str::to_owned)
            .or_else(|| {
                flavor
                    .metadata
                    .owner_references
                    .first()
                    .map(|o| o.name.clone())
            })
            .unwrap_or_else(dash),
        characteristics
            .as_ref()
            .map_or_else(dash, |c| c.architecture.clone()),
        characteristics
            .as_ref()
            .map_or_else(dash, |c| c.cpu.to_string()),
        characteristics
            .as_ref()
            .map_or_else(dash, |c| c.memory.to_string()),
        age,
    ]
}

#[cfg(test)]
mod tests {
    use fluidos_protocol::agent::{OfferedResources, ResourceSample};
    use fluidos_protocol::node::NodeIdentity;

    use super::*;
    use crate::lrm::flavor::{FlavorSettings, desired_flavor, new_flavor};

    #[test]
    fn rows_show_upstream_columns_and_survive_junk() {
        let sample = ResourceSample {
            architecture: "arm64".into(),
            offered: OfferedResources {
                cpu_millis: 4000,
                memory_bytes: 8 << 30,
                storage_bytes: 0,
                pods: 110,
            },
            ..ResourceSample::default()
        };
        let hub = NodeIdentity {
            domain: "fluidos.eu".into(),
            node_id: "abc".into(),
            ..NodeIdentity::default()
        };
        let spec = desired_flavor(&hub, &FlavorSettings::default(), &sample, true).unwrap();
        let mut flavor = new_flavor("fluidos.eu-k8slice-0a1b".into(), "pi-1", spec);
        flavor.metadata.creation_timestamp = "2020-01-01T00:00:00Z".into();
        let objects = [
            serde_json::to_value(&flavor).unwrap(),
            serde_json::json!({"metadata": {"name": "junk"}}),
        ];
        let out = render(&objects, OffsetDateTime::now_utc());
        let line = out.lines().nth(1).unwrap();
        for cell in [
            "fluidos.eu-k8slice-0a1b",
            "abc",
            "K8Slice",
            "true",
            "pi-1",
            "arm64",
            "4",
            "8Gi",
        ] {
            assert!(
                line.split_whitespace().any(|c| c == cell),
                "{cell} missing in {line}"
            );
        }
        assert!(out.lines().nth(2).unwrap().starts_with("junk"));
    }
}
