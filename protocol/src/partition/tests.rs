//! Tests of partition arithmetic: policy rounding, fit checks, subtract/add/sum.

use proptest::prelude::*;

use super::*;

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap()
}

fn part(cpu: &str, memory: &str, pods: &str) -> K8SliceConfiguration {
    K8SliceConfiguration {
        cpu: q(cpu),
        memory: q(memory),
        pods: q(pods),
        gpu: None,
        storage: None,
    }
}

/// Appendix B's characteristics.
fn appendix_b() -> Characteristics {
    Characteristics {
        architecture: "amd64".into(),
        cpu: q("7970838142n"),
        memory: q("7879752Ki"),
        pods: q("110"),
        gpu: Some(Gpu::default()),
        storage: Some(q("0")),
    }
}

fn policy() -> Partitionability {
    Partitionability {
        cpu_min: q("500m"),
        memory_min: q("256Mi"),
        pods_min: q("0"),
        gpu_min: q("1"),
        cpu_step: q("250m"),
        memory_step: q("100Mi"),
        pods_step: q("0"),
        gpu_step: q("2"),
    }
}

#[test]
fn effective_rounds_up_to_the_step_after_the_min() {
    let p = policy();
    let e = effective(&part("1", "1Gi", "7"), &p);
    assert_eq!(e.cpu, q("1"));
    assert_eq!(e.memory, q("1100Mi"));
    assert_eq!(e.pods, q("7"));
    let e = effective(&part("600m", "100Mi", "0"), &p);
    assert_eq!(e.cpu, q("750m"));
    assert_eq!(e.memory, q("300Mi"));
    assert!(e.pods.is_zero());
    let e = effective(&part("0", "0", "0"), &p);
    assert_eq!((e.cpu, e.memory), (q("500m"), q("300Mi")));
}

#[test]
fn effective_with_zero_policy_is_identity_and_rounds_gpu_cores() {
    let mut x = part("1234m", "1Gi", "3");
    x.storage = Some(q("7Gi"));
    assert_eq!(effective(&x, &Partitionability::default()), x);
    x.gpu = Some(Gpu {
        model: "a100".into(),
        cores: q("0"),
        memory: q("3Gi"),
    });
    let e = effective(&x, &policy());
    let gpu = e.gpu.unwrap();
    assert_eq!(
        (gpu.cores, gpu.memory, gpu.model.as_str()),
        (q("2"), q("3Gi"), "a100")
    );
    assert_eq!(e.storage, Some(q("7Gi")));
}

#[test]
fn fits_names_the_first_resource_that_does_not_fit() {
    let avail = appendix_b();
    fits(&part("1", "1Gi", "110"), &avail).unwrap();
    let e = fits(&part("8", "100Gi", "1"), &avail).unwrap_err();
    assert_eq!(
        e,
        PartitionError::DoesNotFit {
            resource: Resource::Cpu,
            requested: q("8"),
            available: q("7970838142n"),
        }
    );
    assert_eq!(
        e.to_string(),
        "cpu does not fit: requested 8, available 7970838142n"
    );
    let e = fits(&part("1", "100Gi", "111"), &avail).unwrap_err();
    assert!(matches!(
        e,
        PartitionError::DoesNotFit {
            resource: Resource::Memory,
            ..
        }
    ));
    let e = fits(&part("1", "1Gi", "111"), &avail).unwrap_err();
    assert!(matches!(
        e,
        PartitionError::DoesNotFit {
            resource: Resource::Pods,
            ..
        }
    ));
    let e = fits(&part("-1", "1Gi", "1"), &avail).unwrap_err();
    assert!(matches!(
        e,
        PartitionError::Negative {
            resource: Resource::Cpu,
            ..
        }
    ));
}

#[test]
fn fits_checks_storage_and_gpu_only_when_requested() {
    let mut avail = appendix_b();
    avail.storage = None;
    avail.gpu = None;
    let mut x = part("1", "1Gi", "1");
    x.storage = Some(q("0"));
    x.gpu = Some(Gpu::default());
    fits(&x, &avail).unwrap();
    x.storage = Some(q("1Gi"));
    let e = fits(&x, &avail).unwrap_err();
    assert!(matches!(
        e,
        PartitionError::NotOffered {
            resource: Resource::Storage,
            ..
        }
    ));
    avail.storage = Some(q("500Mi"));
    let e = fits(&x, &avail).unwrap_err();
    assert!(matches!(
        e,
        PartitionError::DoesNotFit {
            resource: Resource::Storage,
            ..
        }
    ));
    avail.storage = Some(q("2Gi"));
    x.gpu = Some(Gpu {
        model: String::new(),
        cores: q("1"),
        memory: q("1Gi"),
    });
    let e = fits(&x, &avail).unwrap_err();
    assert!(matches!(
        e,
        PartitionError::NotOffered {
            resource: Resource::GpuCores,
            ..
        }
    ));
    avail.gpu = Some(Gpu {
        model: "t4".into(),
        cores: q("2"),
        memory: q("512Mi"),
    });
    let e = fits(&x, &avail).unwrap_err();
    assert!(matches!(
        e,
        PartitionError::DoesNotFit {
            resource: Resource::GpuMemory,
            ..
        }
    ));
}

#[test]
fn subtract_reproduces_the_reference_example() {
    let rest = subtract(&appendix_b(), &part("1", "1Gi", "110")).unwrap();
    assert_eq!(rest.cpu, q("6970838142n"));
    assert_eq!(rest.memory, q("6831176Ki"));
    assert!(rest.pods.is_zero());
    assert_eq!(rest.storage, Some(q("0")));
    assert_eq!(rest.gpu, Some(Gpu::default()));
    assert_eq!(rest.architecture, "amd64");
    assert!(is_exhausted(&rest));
    assert!(!is_exhausted(&appendix_b()));
}

#[test]
fn subtract_never_goes_negative() {
    let e = subtract(&appendix_b(), &part("1", "1Gi", "111")).unwrap_err();
    assert!(matches!(
        e,
        PartitionError::DoesNotFit {
            resource: Resource::Pods,
            ..
        }
    ));
}

#[test]
fn subtract_and_add_handle_storage_and_gpu() {
    let avail = Characteristics {
        storage: Some(q("10Gi")),
        gpu: Some(Gpu {
            model: "a100".into(),
            cores: q("4"),
            memory: q("40Gi"),
        }),
        ..appendix_b()
    };
    let mut x = part("1", "1Gi", "10");
    x.storage = Some(q("4Gi"));
    x.gpu = Some(Gpu {
        model: String::new(),
        cores: q("1"),
        memory: q("10Gi"),
    });
    let rest = subtract(&avail, &x).unwrap();
    assert_eq!(rest.storage, Some(q("6Gi")));
    let gpu = rest.gpu.clone().unwrap();
    assert_eq!(
        (gpu.model.as_str(), gpu.cores, gpu.memory),
        ("a100", q("3"), q("30Gi"))
    );
    assert_eq!(add(&rest, &x).unwrap(), avail);
}

#[test]
fn add_gives_storage_and_gpu_to_a_flavor_without_them() {
    let mut bare = appendix_b();
    bare.storage = None;
    bare.gpu = None;
    let mut x = part("1", "1Gi", "1");
    x.storage = Some(q("1Gi"));
    x.gpu = Some(Gpu {
        model: "t4".into(),
        cores: q("1"),
        memory: q("1Gi"),
    });
    let total = add(&bare, &x).unwrap();
    assert_eq!(total.storage, Some(q("1Gi")));
    assert_eq!(total.gpu, x.gpu);
    assert_eq!(total.pods, q("111"));
    let e = add(&bare, &part("-1", "0", "0")).unwrap_err();
    assert!(matches!(
        e,
        PartitionError::Negative {
            resource: Resource::Cpu,
            ..
        }
    ));
}

#[test]
fn sum_of_partitions() {
    let mut a = part("1", "1Gi", "10");
    a.storage = Some(q("1Gi"));
    let b = part("500m", "512Mi", "5");
    let total = sum([&a, &b]).unwrap();
    assert_eq!(total.cpu, q("1500m"));
    assert_eq!(total.memory, q("1536Mi"));
    assert_eq!(total.pods, q("15"));
    assert_eq!(total.storage, Some(q("1Gi")));
    assert_eq!(total.gpu, None);
    assert_eq!(sum([]).unwrap(), K8SliceConfiguration::default());
    let huge = K8SliceConfiguration {
        cpu: Quantity::from_nanos(i128::MAX, crate::quantity::Format::DecimalSI),
        ..K8SliceConfiguration::default()
    };
    let e = sum([&huge, &huge]).unwrap_err();
    assert_eq!(
        e,
        PartitionError::Overflow {
            resource: Resource::Cpu
        }
    );
}

#[test]
fn is_exhausted_checks_cpu_memory_and_pods() {
    let base = appendix_b();
    for zeroed in 0..3 {
        let mut c = base.clone();
        match zeroed {
            0 => c.cpu = q("0"),
            1 => c.memory = q("0"),
            _ => c.pods = q("0"),
        }
        assert!(is_exhausted(&c));
    }
}

fn amount(max_units: i64) -> impl Strategy<Value = Quantity> {
    (0..max_units * 1000).prop_map(Quantity::from_milli)
}

fn characteristics() -> impl Strategy<Value = Characteristics> {
    let gpu = proptest::option::of((amount(8), amount(64)).prop_map(|(cores, memory)| Gpu {
        model: "m".into(),
        cores,
        memory,
    }));
    (
        amount(64),
        amount(1 << 20),
        amount(256),
        proptest::option::of(amount(1 << 20)),
        gpu,
    )
        .prop_map(|(cpu, memory, pods, storage, gpu)| Characteristics {
            architecture: "arm64".into(),
            cpu,
            memory,
            pods,
            gpu,
            storage,
        })
}

fn partition() -> impl Strategy<Value = K8SliceConfiguration> {
    let gpu = proptest::option::of((amount(8), amount(64)).prop_map(|(cores, memory)| Gpu {
        model: String::new(),
        cores,
        memory,
    }));
    (
        amount(64),
        amount(1 << 20),
        amount(256),
        proptest::option::of(amount(1 << 20)),
        gpu,
    )
        .prop_map(|(cpu, memory, pods, storage, gpu)| K8SliceConfiguration {
            cpu,
            memory,
            pods,
            gpu,
            storage,
        })
}

proptest! {
    #[test]
    fn subtract_then_add_is_identity_when_it_fits(avail in characteristics(), x in partition()) {
        match subtract(&avail, &x) {
            Ok(rest) => {
                prop_assert!(fits(&x, &avail).is_ok());
                prop_assert!(!rest.cpu.is_negative() && !rest.memory.is_negative() && !rest.pods.is_negative());
                prop_assert!(rest.storage.is_none_or(|s| !s.is_negative()));
                prop_assert_eq!(add(&rest, &x).unwrap(), avail);
            }
            Err(_) => prop_assert!(fits(&x, &avail).is_err()),
        }
    }

    #[test]
    fn effective_is_at_least_min_and_a_multiple_of_step(x in partition(), min in amount(4), step in amount(4)) {
        let p = Partitionability { cpu_min: min, cpu_step: step, ..Partitionability::default() };
        let e = effective(&x, &p);
        prop_assert!(e.cpu >= min && e.cpu >= x.cpu);
        if !step.is_zero() {
            prop_assert_eq!(e.cpu.as_nanos() % step.as_nanos(), 0);
            prop_assert!(e.cpu.as_nanos() - x.cpu.max(min).as_nanos() < step.as_nanos());
        }
    }
}
