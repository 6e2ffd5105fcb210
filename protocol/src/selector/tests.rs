//! Tests of the CR form, validation, evaluation (§3.4) and selector → partition forging.

use serde_json::json;

use super::*;
use crate::flavor::{Characteristics, Flavor, FlavorSpec, FlavorType};
use crate::meta::ObjectMeta;
use crate::quantity::Quantity;

pub(super) fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap()
}

fn flavor(type_identifier: &str, type_data: serde_json::Value) -> Flavor {
    let spec = FlavorSpec {
        flavor_type: FlavorType {
            type_identifier: type_identifier.into(),
            type_data,
        },
        ..FlavorSpec::default()
    };
    Flavor::new(ObjectMeta::default(), spec)
}

fn k8slice(chars: serde_json::Value) -> Flavor {
    flavor(
        "K8Slice",
        json!({"characteristics": chars, "properties": {}, "policies": {}}),
    )
}

pub(super) fn appendix_b() -> Flavor {
    k8slice(
        json!({"architecture": "amd64", "cpu": "7970838142n", "memory": "7879752Ki",
                   "pods": "110", "gpu": {"model": "", "cores": "0", "memory": "0"}, "storage": "0"}),
    )
}

pub(super) fn sample_selector() -> Selector {
    serde_json::from_value(json!({
        "flavorType": "K8Slice",
        "filters": {
            "architectureFilter": {"name": "Match", "data": {"value": "amd64"}},
            "cpuFilter": {"name": "Range", "data": {"min": "1000m"}},
            "memoryFilter": {"name": "Range", "data": {"min": "1Gi", "max": "100Gi"}},
            "podsFilter": {"name": "Match", "data": {"value": 110}}
        }
    }))
    .unwrap()
}

fn k8s_matcher(f: K8SliceFilters) -> Matcher {
    Matcher::k8slice(&f).unwrap()
}

#[test]
fn sample_selector_decodes_to_typed_filters() {
    let FilterSet::K8Slice(f) = sample_selector().filter_set().unwrap() else {
        panic!("not a K8Slice set");
    };
    assert_eq!(f.architecture, Some(StringRule::equals("amd64")));
    assert_eq!(f.cpu, Some(QuantityRule::at_least(q("1"))));
    assert_eq!(f.memory, Some(QuantityRule::between(q("1Gi"), q("100Gi"))));
    assert_eq!(f.pods, Some(QuantityRule::equals(q("110"))));
    assert_eq!(f.storage, None);
    sample_selector().validate().unwrap();
}

#[test]
fn typed_filters_round_trip_through_the_cr_form() {
    let f = K8SliceFilters {
        architecture: Some(StringRule::regex("^arm")),
        cpu: Some(QuantityRule::at_most(q("2"))),
        storage: Some(QuantityRule::equals(q("10Gi"))),
        ..K8SliceFilters::default()
    };
    let sel = Selector::k8slice(Some(&f)).unwrap();
    let v = serde_json::to_value(&sel).unwrap();
    assert_eq!(
        v["filters"]["architectureFilter"],
        json!({"name": "Range", "data": {"regex": "^arm"}})
    );
    assert_eq!(
        v["filters"]["cpuFilter"],
        json!({"name": "Range", "data": {"max": "2"}})
    );
    assert_eq!(
        v["filters"]["storageFilter"],
        json!({"name": "Match", "data": {"value": "10Gi"}})
    );
    assert_eq!(sel.filter_set().unwrap(), FilterSet::K8Slice(f));
    let s = ServiceFilters {
        category: Some(StringRule::equals("database")),
        tags: Some(StringRule::regex("sql")),
    };
    let sel = Selector::service(Some(&s)).unwrap();
    assert_eq!(sel.filter_set().unwrap(), FilterSet::Service(s));
}

fn invalid(filters: serde_json::Value) -> SelectorError {
    let sel = Selector {
        flavor_type: "K8Slice".into(),
        filters: Some(filters),
    };
    sel.validate().unwrap_err()
}

#[test]
fn validation_rejects_bad_filters() {
    let cases = [
        (
            json!({"cpuFilter": {"name": "Between", "data": {}}}),
            "cpuFilter",
            "unknown filter name",
        ),
        (
            json!({"cpuFilter": {"name": "Range", "data": {}}}),
            "cpuFilter",
            "needs min or max",
        ),
        (
            json!({"memoryFilter": {"name": "Range", "data": {"min": "2Gi", "max": "1Gi"}}}),
            "memoryFilter",
            "greater than max",
        ),
        (
            json!({"architectureFilter": {"name": "Range", "data": {"regex": ""}}}),
            "architectureFilter",
            "non-empty regex",
        ),
        (
            json!({"architectureFilter": {"name": "Range", "data": {"regex": "(unclosed"}}}),
            "architectureFilter",
            "does not compile",
        ),
        (
            json!({"podsFilter": {"name": "Match", "data": {"value": "lots"}}}),
            "podsFilter",
            "does not decode",
        ),
        (
            json!({"architectureFilter": {"name": "Match", "data": {}}}),
            "architectureFilter",
            "does not decode",
        ),
    ];
    for (filters, field, message) in cases {
        let err = invalid(filters);
        assert!(
            matches!(&err, SelectorError::Rule { field: f, .. } if *f == field),
            "{err:?}"
        );
        let SelectorError::Rule { source, .. } = &err else {
            unreachable!()
        };
        assert!(source.to_string().contains(message), "{source} / {message}");
    }
    let err = invalid(json!({"cpuFilter": "nope"}));
    assert!(matches!(err, SelectorError::Filters { .. }));
}

#[test]
fn valid_range_edges_pass_validation() {
    QuantityRule::between(q("1"), q("1000m"))
        .validate()
        .unwrap();
    QuantityRule::at_most(q("0")).validate().unwrap();
    StringRule::equals("").validate().unwrap();
}

#[test]
fn quantity_match_is_numeric_equality() {
    let m = k8s_matcher(K8SliceFilters {
        cpu: Some(QuantityRule::equals(q("1000m"))),
        memory: Some(QuantityRule::equals(q("1024Mi"))),
        ..K8SliceFilters::default()
    });
    assert!(m.matches(&k8slice(
        json!({"architecture": "amd64", "cpu": "1", "memory": "1Gi", "pods": "1"})
    )));
    assert!(!m.matches(&k8slice(
        json!({"architecture": "amd64", "cpu": "1001m", "memory": "1Gi", "pods": "1"})
    )));
}

#[test]
fn quantity_range_is_inclusive_with_optional_bounds() {
    let cpu =
        |c: &str| k8slice(json!({"architecture": "amd64", "cpu": c, "memory": "1Gi", "pods": "1"}));
    let between = k8s_matcher(K8SliceFilters {
        cpu: Some(QuantityRule::between(q("1"), q("2"))),
        ..K8SliceFilters::default()
    });
    for (c, want) in [
        ("999m", false),
        ("1", true),
        ("1500m", true),
        ("2", true),
        ("2001m", false),
    ] {
        assert_eq!(between.matches(&cpu(c)), want, "{c}");
    }
    let at_most = k8s_matcher(K8SliceFilters {
        cpu: Some(QuantityRule::at_most(q("2"))),
        ..K8SliceFilters::default()
    });
    assert!(at_most.matches(&cpu("0")));
    assert!(!at_most.matches(&cpu("3")));
    let at_least = k8s_matcher(K8SliceFilters {
        cpu: Some(QuantityRule::at_least(q("2"))),
        ..K8SliceFilters::default()
    });
    assert!(at_least.matches(&cpu("200")));
    assert!(!at_least.matches(&cpu("1")));
}

#[test]
fn string_rules_exact_and_unanchored_regex() {
    let arch = |a: StringRule| {
        k8s_matcher(K8SliceFilters {
            architecture: Some(a),
            ..K8SliceFilters::default()
        })
        .matches(&appendix_b())
    };
    assert!(arch(StringRule::equals("amd64")));
    assert!(!arch(StringRule::equals("AMD64")));
    assert!(!arch(StringRule::equals("amd")));
    assert!(arch(StringRule::regex("md6")));
    assert!(arch(StringRule::regex("^amd64$")));
    assert!(!arch(StringRule::regex("^arm")));
}

#[test]
fn sample_selector_matches_appendix_b_flavor() {
    assert!(matches(&sample_selector(), &appendix_b()));
    let small =
        k8slice(json!({"architecture": "amd64", "cpu": "500m", "memory": "2Gi", "pods": "110"}));
    assert!(!matches(&sample_selector(), &small));
}

#[test]
fn storage_filter_fails_flavor_without_storage() {
    let m = k8s_matcher(K8SliceFilters {
        storage: Some(QuantityRule::at_least(q("5Gi"))),
        ..K8SliceFilters::default()
    });
    let without =
        k8slice(json!({"architecture": "amd64", "cpu": "1", "memory": "1Gi", "pods": "1"}));
    let null = k8slice(
        json!({"architecture": "amd64", "cpu": "1", "memory": "1Gi", "pods": "1", "storage": null}),
    );
    let with = k8slice(
        json!({"architecture": "amd64", "cpu": "1", "memory": "1Gi", "pods": "1", "storage": "10Gi"}),
    );
    assert!(!m.matches(&without));
    assert!(!m.matches(&null));
    assert!(m.matches(&with));
}

#[test]
fn malformed_type_data_fails_without_panicking() {
    let m = k8s_matcher(K8SliceFilters {
        cpu: Some(QuantityRule::at_least(q("1"))),
        ..K8SliceFilters::default()
    });
    let bad_cpu =
        k8slice(json!({"architecture": "amd64", "cpu": "lots", "memory": "1Gi", "pods": "1"}));
    assert!(!m.matches(&bad_cpu));
    let empty = k8s_matcher(K8SliceFilters::default());
    assert!(empty.matches(&bad_cpu));
    assert!(!empty.matches(&flavor("K8Slice", json!({}))));
    assert!(!empty.matches(&flavor("K8Slice", json!("x"))));
}

#[test]
fn no_filters_match_every_k8slice_and_only_k8slice() {
    let absent = Selector {
        flavor_type: "K8Slice".into(),
        filters: None,
    };
    let empty = Selector {
        flavor_type: "K8Slice".into(),
        filters: Some(json!({})),
    };
    for sel in [&absent, &empty] {
        assert!(matches(sel, &appendix_b()));
        assert!(!matches(
            sel,
            &flavor("Service", json!({"category": "database"}))
        ));
    }
}

#[test]
fn vm_and_sensor_never_match() {
    for t in ["VM", "Sensor", "Unknown"] {
        let sel = Selector {
            flavor_type: t.into(),
            filters: None,
        };
        assert_eq!(sel.filter_set().unwrap(), FilterSet::Unsupported(t.into()));
        assert!(!matches(&sel, &flavor(t, json!({}))));
        assert!(!matches(&sel, &appendix_b()));
    }
}

#[test]
fn invalid_selector_matches_nothing() {
    let sel = Selector {
        flavor_type: "K8Slice".into(),
        filters: Some(json!({"cpuFilter": {"name": "Range", "data": {}}})),
    };
    assert!(Matcher::from_selector(&sel).is_err());
    assert!(!matches(&sel, &appendix_b()));
}

fn service(category: &str, tags: serde_json::Value) -> Flavor {
    flavor(
        "Service",
        json!({"name": "s", "category": category, "tags": tags}),
    )
}

#[test]
fn service_category_and_tags_any_match() {
    let m = |f: ServiceFilters| Matcher::service(&f).unwrap();
    let db = service("database", json!(["mysql", "sql"]));
    let by_tag = m(ServiceFilters {
        tags: Some(StringRule::equals("sql")),
        ..ServiceFilters::default()
    });
    assert!(by_tag.matches(&db));
    assert!(!by_tag.matches(&service("database", json!(["postgres"]))));
    assert!(!by_tag.matches(&flavor("Service", json!({"category": "database"}))));
    let both = m(ServiceFilters {
        category: Some(StringRule::equals("database")),
        tags: Some(StringRule::regex("^my")),
    });
    assert!(both.matches(&db));
    assert!(!both.matches(&service("cache", json!(["mysql"]))));
    assert!(!both.matches(&appendix_b()));
    assert!(m(ServiceFilters::default()).matches(&db));
}

#[test]
fn matcher_tests_typed_characteristics() {
    let m = Matcher::from_selector(&sample_selector()).unwrap();
    let chars: Characteristics = serde_json::from_value(
        json!({"architecture": "amd64", "cpu": "2", "memory": "4Gi", "pods": "110"}),
    )
    .unwrap();
    assert!(m.matches_characteristics(&chars));
    let small = Characteristics {
        pods: q("10"),
        ..chars
    };
    assert!(!m.matches_characteristics(&small));
}

#[test]
fn one_matcher_evaluates_ten_thousand_flavors() {
    let m = Matcher::from_selector(&sample_selector()).unwrap();
    let flavors: Vec<Flavor> = (0..10_000)
        .map(|i| {
            let cpu = format!("{}m", i % 4000);
            k8slice(json!({"architecture": "amd64", "cpu": cpu, "memory": "4Gi", "pods": "110"}))
        })
        .collect();
    let count = flavors.iter().filter(|f| m.matches(f)).count();
    // cpu ≥ 1000m: 3000 in each of the two full cycles of 4000, then 1000 of the last 2000.
    assert_eq!(count, 7_000);
}
