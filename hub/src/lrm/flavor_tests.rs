//! Unit tests of the pure Flavor builder.

use fluidos_protocol::agent::{GpuSample, OfferedResources};

use super::*;

fn hub() -> NodeIdentity {
    NodeIdentity {
        domain: "fluidos.eu".into(),
        node_id: "46ltws9per".into(),
        ip: String::new(),
        additional_information: None,
    }
}

fn sample() -> ResourceSample {
    ResourceSample {
        hostname: "pi-1".into(),
        architecture: "arm64".into(),
        offered: OfferedResources {
            cpu_millis: 3500,
            memory_bytes: 4 << 30,
            storage_bytes: 32 << 30,
            pods: 110,
        },
        ..ResourceSample::default()
    }
}

fn spec(s: &ResourceSample, available: bool) -> FlavorSpec {
    desired_flavor(&hub(), &FlavorSettings::default(), s, available).unwrap()
}

#[test]
fn desired_flavor_has_the_upstream_cr_shape() {
    let v = serde_json::to_value(spec(&sample(), true)).unwrap();
    let expected = serde_json::json!({
        "providerID": "46ltws9per",
        "flavorType": {"typeIdentifier": "K8Slice", "typeData": {
            "characteristics": {"architecture": "arm64", "cpu": "3500m", "memory": "4Gi", "pods": "110", "storage": "32Gi"},
            "properties": {},
            "policies": {"partitionability": {"cpuMin": "0", "memoryMin": "0", "podsMin": "0", "gpuMin": "0",
                                              "cpuStep": "1", "memoryStep": "100Mi", "podsStep": "0", "gpuStep": "0"}}
        }},
        "owner": {"domain": "fluidos.eu", "nodeID": "46ltws9per", "ip": ""},
        "price": {"amount": "", "currency": "", "period": ""},
        "availability": true,
        "networkPropertyType": "networkProperty"
    });
    assert_eq!(v, expected);
}

#[test]
fn first_gpu_and_agent_location_are_used() {
    let mut s = sample();
    s.gpus = vec![
        GpuSample {
            vendor: "nvidia".into(),
            model: "Orin".into(),
            cores: 1024,
            memory_bytes: 0,
        },
        GpuSample {
            vendor: "x".into(),
            model: "second".into(),
            cores: 1,
            memory_bytes: 1,
        },
    ];
    s.location = Some(Location {
        city: Some("Heraklion".into()),
        ..Location::default()
    });
    let settings = FlavorSettings {
        location: Some(Location {
            city: Some("Turin".into()),
            ..Location::default()
        }),
        ..FlavorSettings::default()
    };
    let spec = desired_flavor(&hub(), &settings, &s, true).unwrap();
    assert_eq!(spec.location.unwrap().city.as_deref(), Some("Heraklion"));
    let gpu = spec
        .flavor_type
        .k8slice()
        .unwrap()
        .unwrap()
        .characteristics
        .gpu
        .unwrap();
    assert_eq!(
        (gpu.model.as_str(), gpu.cores),
        ("Orin", Quantity::from_int(1024))
    );

    s.location = None;
    let spec = desired_flavor(&hub(), &settings, &s, true).unwrap();
    assert_eq!(spec.location.unwrap().city.as_deref(), Some("Turin"));
}

#[test]
fn small_moves_do_not_write_and_large_ones_do() {
    let base = spec(&sample(), true);
    let mut s = sample();
    s.offered.cpu_millis = 3600; // +2.9 %
    s.offered.memory_bytes = (4 << 30) - (100 << 20); // -2.4 %
    assert!(!needs_write(
        &base,
        &spec(&s, true),
        DEFAULT_CHANGE_THRESHOLD
    ));
    s.offered.cpu_millis = 3700; // +5.7 %
    assert!(needs_write(
        &base,
        &spec(&s, true),
        DEFAULT_CHANGE_THRESHOLD
    ));
    let mut s = sample();
    s.offered.storage_bytes = 20 << 30;
    assert!(needs_write(
        &base,
        &spec(&s, true),
        DEFAULT_CHANGE_THRESHOLD
    ));
}

#[test]
fn availability_architecture_gpu_and_price_changes_write() {
    let base = spec(&sample(), true);
    assert!(needs_write(
        &base,
        &spec(&sample(), false),
        DEFAULT_CHANGE_THRESHOLD
    ));
    let mut s = sample();
    s.architecture = "amd64".into();
    assert!(needs_write(
        &base,
        &spec(&s, true),
        DEFAULT_CHANGE_THRESHOLD
    ));
    let mut s = sample();
    s.gpus.push(GpuSample {
        model: "Orin".into(),
        ..GpuSample::default()
    });
    assert!(needs_write(
        &base,
        &spec(&s, true),
        DEFAULT_CHANGE_THRESHOLD
    ));
    let mut priced = base.clone();
    priced.price.amount = "1".into();
    assert!(needs_write(&base, &priced, DEFAULT_CHANGE_THRESHOLD));
    assert!(!needs_write(&base, &base, DEFAULT_CHANGE_THRESHOLD));
}

#[test]
fn growth_from_zero_writes() {
    let mut s = sample();
    s.offered.cpu_millis = 0;
    let zero = spec(&s, true);
    s.offered.cpu_millis = 1;
    assert!(needs_write(
        &zero,
        &spec(&s, true),
        DEFAULT_CHANGE_THRESHOLD
    ));
}

#[test]
fn stable_names_are_per_board_and_upstream_shaped() {
    let a = stable_flavor_name("Fluidos.EU", "pi-1");
    assert_eq!(
        a,
        stable_flavor_name("fluidos.eu", "pi-1"),
        "same board, same name"
    );
    assert_ne!(a, stable_flavor_name("fluidos.eu", "pi-2"));
    let suffix = a.trim_start_matches("fluidos.eu-k8slice-");
    assert_eq!(suffix.len(), 8, "{a}");
}

#[test]
fn names_and_metadata_follow_upstream() {
    let name = flavor_name("Fluidos.EU");
    assert!(name.starts_with("fluidos.eu-k8slice-"), "{name}");
    let suffix = name.trim_start_matches("fluidos.eu-k8slice-");
    assert!(
        suffix.len() == 8
            && suffix
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );

    let f = new_flavor(name.clone(), "pi-1", spec(&sample(), true));
    assert_eq!(f.metadata.namespace, "fluidos");
    assert_eq!(agent_node(&f), Some("pi-1"));
    assert!(
        f.metadata.owner_references.is_empty(),
        "a board is not a Kubernetes Node: no ownerReference"
    );
    assert_eq!(f.kind, "Flavor");
}

#[test]
fn huge_offers_saturate_instead_of_panicking() {
    let mut s = sample();
    s.offered = OfferedResources {
        cpu_millis: u64::MAX,
        memory_bytes: u64::MAX,
        storage_bytes: u64::MAX,
        pods: u64::MAX,
    };
    let spec = spec(&s, true);
    assert!(spec.flavor_type.k8slice().unwrap().is_ok());
}
