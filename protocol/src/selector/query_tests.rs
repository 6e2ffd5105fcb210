//! Tests of the REAR query grammar (§2.3.2, §2.3.3, §2.4): edge cases and property tests.

use proptest::prelude::*;

use super::*;
use crate::quantity::{Format, Quantity};

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap()
}

const SAMPLE: &str = "filter[architecture][match]=amd64&filter[cpu][range][min]=1&filter[memory][range][min]=1Gi&filter[memory][range][max]=100Gi&filter[pods][match]=110";

fn sample_filters() -> K8SliceFilters {
    K8SliceFilters {
        architecture: Some(StringRule::equals("amd64")),
        cpu: Some(QuantityRule::at_least(q("1"))),
        memory: Some(QuantityRule::between(q("1Gi"), q("100Gi"))),
        pods: Some(QuantityRule::equals(q("110"))),
        storage: None,
    }
}

#[test]
fn sample_query_raw_and_percent_encoded_agree() {
    let raw = parse_k8slice_query(SAMPLE).unwrap();
    assert_eq!(raw, sample_filters());
    let encoded = SAMPLE.replace('[', "%5B").replace(']', "%5D");
    assert_eq!(parse_k8slice_query(&encoded).unwrap(), raw);
    let lower = SAMPLE.replace('[', "%5b").replace(']', "%5d");
    assert_eq!(parse_k8slice_query(&lower).unwrap(), raw);
    assert_eq!(
        parse_k8slice_query(&encode_k8slice_query(&raw)).unwrap(),
        raw
    );
}

#[test]
fn empty_query_has_no_filters_and_matches_every_k8slice() {
    let f = parse_k8slice_query("").unwrap();
    assert!(f.is_empty());
    assert!(parse_service_query("").unwrap().is_empty());
    let m = Matcher::k8slice(&f).unwrap();
    let chars = serde_json::from_value(serde_json::json!(
        {"architecture": "riscv64", "cpu": "0", "memory": "0", "pods": "0"}
    ))
    .unwrap();
    assert!(m.matches_characteristics(&chars));
}

fn err(query: &str) -> QueryError {
    parse_k8slice_query(query).unwrap_err()
}

#[test]
fn unknown_keys_are_refused_and_named() {
    for key in [
        "page",
        "filter[gpu][match]",
        "filter[cpu][equal]",
        "filter[cpu][match]x",
        "filter[cpu]][match]",
        "filter[cpu][range][min][x]",
        "filter[cpu][range][avg]",
        "Filter[cpu][match]",
        "filter[cpu]",
    ] {
        let e = err(&format!("filter[pods][match]=1&{key}=1"));
        assert!(
            matches!(&e, QueryError::UnknownKey { key: k, .. } if k == key),
            "{key}: {e:?}"
        );
        assert!(e.to_string().contains(key), "{e}");
    }
}

#[test]
fn bare_range_is_an_error_not_a_panic() {
    let e = err("filter[cpu][range]=1");
    assert_eq!(
        e,
        QueryError::RangeWithoutBound {
            key: "filter[cpu][range]".into()
        }
    );
    assert!(e.to_string().contains("needs [min] or [max]"));
    assert!(matches!(
        err("filter[memory][range]"),
        QueryError::RangeWithoutBound { .. }
    ));
}

#[test]
fn match_and_range_conflict_is_the_same_in_both_orders() {
    let a = err("filter[cpu][match]=1&filter[cpu][range][min]=1");
    let b = err("filter[cpu][range][min]=1&filter[cpu][match]=1");
    let c = err("filter[cpu][range][max]=2&filter[pods][match]=1&filter[cpu][match]=1");
    assert_eq!(a, QueryError::MatchAndRange { resource: "cpu" });
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert!(
        a.to_string()
            .contains("cannot have range filter for a resource with another filter type")
    );
}

#[test]
fn architecture_accepts_only_match() {
    for key in [
        "filter[architecture][range][regex]",
        "filter[architecture][range]",
        "filter[architecture][match][regex]",
    ] {
        let e = err(&format!("{key}=amd"));
        assert!(
            matches!(&e, QueryError::Unsupported { key: k, .. } if k == key),
            "{e:?}"
        );
    }
}

#[test]
fn other_unsupported_sub_keys() {
    assert!(matches!(
        err("filter[cpu][match][min]=1"),
        QueryError::Unsupported { .. }
    ));
    assert!(matches!(
        err("filter[cpu][range][regex]=1"),
        QueryError::Unsupported { .. }
    ));
}

#[test]
fn bad_quantities_are_refused_with_the_key() {
    for query in [
        "filter[cpu][match]=lots",
        "filter[memory][range][min]=1Gb",
        "filter[pods][match]=",
    ] {
        let e = err(query);
        assert!(matches!(e, QueryError::BadQuantity { .. }), "{e:?}");
        let key = query.split('=').next().unwrap();
        assert!(e.to_string().contains(key), "{e}");
    }
}

#[test]
fn min_above_max_is_refused() {
    let e = err("filter[memory][range][min]=2Gi&filter[memory][range][max]=1Gi");
    assert!(matches!(
        e,
        QueryError::MinAboveMax {
            resource: "memory",
            ..
        }
    ));
}

#[test]
fn only_the_first_value_of_a_key_counts() {
    let f = parse_k8slice_query(
        "filter[cpu][match]=1&filter%5Bcpu%5D%5Bmatch%5D=2&filter[cpu][match]=x",
    )
    .unwrap();
    assert_eq!(f.cpu, Some(QuantityRule::equals(q("1"))));
}

#[test]
fn plus_is_a_space_and_values_are_decoded() {
    let f = parse_k8slice_query("filter[architecture][match]=a+b%2Bc").unwrap();
    assert_eq!(f.architecture, Some(StringRule::equals("a b+c")));
    let f =
        parse_k8slice_query("filter[storage][range][max]=10Gi&filter[cpu][match]=500m").unwrap();
    assert_eq!(f.storage, Some(QuantityRule::at_most(q("10Gi"))));
    assert_eq!(f.cpu, Some(QuantityRule::equals(q("0.5"))));
}

#[test]
fn encode_percent_encodes_and_keeps_the_storage_prefix() {
    let mut f = sample_filters();
    f.storage = Some(QuantityRule::at_most(q("5Gi")));
    assert_eq!(
        encode_k8slice_query(&f),
        "filter%5Barchitecture%5D%5Bmatch%5D=amd64\
         &filter%5Bcpu%5D%5Brange%5D%5Bmin%5D=1\
         &filter%5Bmemory%5D%5Brange%5D%5Bmin%5D=1Gi\
         &filter%5Bmemory%5D%5Brange%5D%5Bmax%5D=100Gi\
         &filter%5Bpods%5D%5Bmatch%5D=110\
         &filter%5Bstorage%5D%5Brange%5D%5Bmax%5D=5Gi"
    );
    assert_eq!(encode_k8slice_query(&K8SliceFilters::default()), "");
}

#[test]
fn encode_drops_regex_filters() {
    let f = K8SliceFilters {
        architecture: Some(StringRule::regex("^arm")),
        pods: Some(QuantityRule::equals(q("10"))),
        ..K8SliceFilters::default()
    };
    let query = encode_k8slice_query(&f);
    assert_eq!(query, "filter%5Bpods%5D%5Bmatch%5D=10");
    assert_eq!(parse_k8slice_query(&query).unwrap(), f.wire_subset());
    let s = ServiceFilters {
        category: Some(StringRule::regex("data")),
        tags: Some(StringRule::equals("my sql")),
    };
    assert_eq!(
        encode_service_query(&s),
        "filter%5Btags%5D%5Bmatch%5D=my+sql"
    );
}

#[test]
fn service_query_grammar() {
    let f =
        parse_service_query("filter[category][match]=database&filter%5Btags%5D%5Bmatch%5D=mysql")
            .unwrap();
    assert_eq!(f.category, Some(StringRule::equals("database")));
    assert_eq!(f.tags, Some(StringRule::equals("mysql")));
    for key in [
        "filter[category][range]",
        "filter[tags][match][regex]",
        "filter[name][match]",
        "q",
    ] {
        let e = parse_service_query(&format!("{key}=x")).unwrap_err();
        assert!(
            matches!(&e, QueryError::UnknownKey { key: k, .. } if k == key),
            "{e:?}"
        );
    }
    assert_eq!(parse_service_query(&encode_service_query(&f)).unwrap(), f);
}

fn quantity() -> impl Strategy<Value = Quantity> {
    let format = prop_oneof![
        Just(Format::DecimalSI),
        Just(Format::BinarySI),
        Just(Format::DecimalExponent)
    ];
    let nanos = prop_oneof![
        (0i64..1_000_000).prop_map(|u| i128::from(u) * 1_000_000_000),
        (0i64..1 << 40).prop_map(|m| i128::from(m) * 1_000_000),
        any::<i64>().prop_map(i128::from),
    ];
    (nanos, format).prop_map(|(n, f)| Quantity::from_nanos(n, f))
}

fn quantity_rule() -> impl Strategy<Value = QuantityRule> {
    prop_oneof![
        quantity().prop_map(QuantityRule::Match),
        quantity().prop_map(QuantityRule::at_least),
        quantity().prop_map(QuantityRule::at_most),
        (quantity(), quantity()).prop_map(|(a, b)| QuantityRule::between(a.min(b), a.max(b))),
    ]
}

fn string_rule() -> impl Strategy<Value = StringRule> {
    prop_oneof![
        any::<String>().prop_map(StringRule::Match),
        "[a-z^$.]{1,8}".prop_map(StringRule::Regex)
    ]
}

fn k8slice_filters() -> impl Strategy<Value = K8SliceFilters> {
    let rule = || proptest::option::of(quantity_rule());
    (
        proptest::option::of(string_rule()),
        rule(),
        rule(),
        rule(),
        rule(),
    )
        .prop_map(
            |(architecture, cpu, memory, pods, storage)| K8SliceFilters {
                architecture,
                cpu,
                memory,
                pods,
                storage,
            },
        )
}

fn soup_key() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        Just("filter"),
        Just("["),
        Just("]"),
        Just("%5B"),
        Just("%5D"),
        Just("cpu"),
        Just("memory"),
        Just("pods"),
        Just("storage"),
        Just("architecture"),
        Just("category"),
        Just("tags"),
        Just("match"),
        Just("range"),
        Just("min"),
        Just("max"),
        Just("regex"),
        Just("+"),
        Just("%"),
        Just("="),
        Just("&"),
        Just("é"),
    ];
    proptest::collection::vec(part, 0..10).prop_map(|p| p.concat())
}

fn soup_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[0-9.]{0,6}(m|Ki|Gi|e3|)",
        any::<String>()
    ]
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = parse_k8slice_query(&s);
        let _ = parse_service_query(&s);
    }

    #[test]
    fn key_value_soup_never_panics(pairs in proptest::collection::vec((soup_key(), soup_value()), 0..8)) {
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let query = query.join("&");
        if let Ok(f) = parse_k8slice_query(&query) {
            prop_assert!(f.validate().is_ok());
        }
        let _ = parse_service_query(&query);
    }

    #[test]
    fn k8slice_encode_parse_round_trip(f in k8slice_filters()) {
        prop_assert_eq!(parse_k8slice_query(&encode_k8slice_query(&f)).unwrap(), f.wire_subset());
    }

    #[test]
    fn service_encode_parse_round_trip(category in proptest::option::of(string_rule()), tags in proptest::option::of(string_rule())) {
        let f = ServiceFilters { category, tags };
        prop_assert_eq!(parse_service_query(&encode_service_query(&f)).unwrap(), f.wire_subset());
    }
}

#[test]
fn parsed_range_filters_reject_smaller_characteristics() {
    let filters =
        parse_k8slice_query("filter[cpu][range][min]=4500m&filter[memory][range][min]=16Gi")
            .unwrap();
    let m = crate::selector::Matcher::k8slice(&filters).unwrap();
    let small = crate::flavor::Characteristics {
        architecture: "amd64".into(),
        cpu: Quantity::parse("1").unwrap(),
        memory: Quantity::parse("1Gi").unwrap(),
        pods: Quantity::parse("110").unwrap(),
        gpu: None,
        storage: None,
    };
    assert!(!m.matches_characteristics(&small));
    let big = crate::flavor::Characteristics {
        cpu: Quantity::parse("4500m").unwrap(),
        memory: Quantity::parse("16Gi").unwrap(),
        ..small
    };
    assert!(m.matches_characteristics(&big));
}
