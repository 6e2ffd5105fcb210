//! Tests of selector → partition forging (§3.4 "Selector → partition").

use serde_json::json;

use super::tests::{appendix_b, q, sample_selector};
use super::*;
use crate::flavor::Characteristics;

fn appendix_b_chars() -> Characteristics {
    appendix_b()
        .spec
        .flavor_type
        .k8slice()
        .unwrap()
        .unwrap()
        .characteristics
}

#[test]
fn partition_from_the_sample_selector() {
    let part = sample_selector()
        .k8slice_partition(&appendix_b_chars())
        .unwrap()
        .unwrap();
    assert_eq!(part.cpu, q("1"));
    assert_eq!(part.memory, q("1Gi"));
    assert_eq!(part.pods, q("110"));
    assert_eq!(part.storage, None);
    assert_eq!(part.gpu, None);
}

#[test]
fn partition_without_filters_is_none_and_with_empty_filters_is_whole() {
    let chars = appendix_b_chars();
    assert_eq!(k8slice_partition(None, &chars), None);
    let absent = Selector::k8slice(None).unwrap();
    assert_eq!(absent.k8slice_partition(&chars).unwrap(), None);
    let whole = k8slice_partition(Some(&K8SliceFilters::default()), &chars).unwrap();
    assert_eq!(
        (whole.cpu, whole.memory, whole.pods),
        (chars.cpu, chars.memory, chars.pods)
    );
    assert_eq!((whole.storage, whole.gpu.as_ref()), (None, None));
    let empty = Selector {
        flavor_type: "K8Slice".into(),
        filters: Some(json!({})),
    };
    assert_eq!(empty.k8slice_partition(&chars).unwrap(), Some(whole));
}

#[test]
fn partition_range_with_only_max_is_zero_and_storage_follows_its_filter() {
    let chars = appendix_b_chars();
    let f = K8SliceFilters {
        cpu: Some(QuantityRule::at_most(q("2"))),
        memory: Some(QuantityRule::equals(q("3Gi"))),
        storage: Some(QuantityRule::at_least(q("5Gi"))),
        ..K8SliceFilters::default()
    };
    let part = k8slice_partition(Some(&f), &chars).unwrap();
    assert!(part.cpu.is_zero());
    assert_eq!(part.memory, q("3Gi"));
    assert_eq!(part.pods, chars.pods);
    assert_eq!(part.storage, Some(q("5Gi")));
    let only_max = K8SliceFilters {
        storage: Some(QuantityRule::at_most(q("5Gi"))),
        ..K8SliceFilters::default()
    };
    assert_eq!(
        k8slice_partition(Some(&only_max), &chars).unwrap().storage,
        Some(q("0"))
    );
}

#[test]
fn service_selector_has_no_k8slice_partition() {
    let sel = Selector::service(Some(&ServiceFilters::default())).unwrap();
    assert_eq!(sel.k8slice_partition(&appendix_b_chars()).unwrap(), None);
}
