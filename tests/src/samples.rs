//! Fixed resource samples for the agents under test (written to a file the agent's
//! `--fixed-sample` sampler reads on every tick).

use std::path::Path;

use fluidos_protocol::agent::{
    CpuSample, MemorySample, OfferedResources, ResourceSample, StorageSample,
};

const GIB: u64 = 1024 * 1024 * 1024;

/// A board with `cpus` CPUs, `mem_gib` GiB of memory and `arch` architecture.
pub fn board(hostname: &str, arch: &str, cpus: u32, mem_gib: u64) -> ResourceSample {
    ResourceSample {
        hostname: hostname.to_owned(),
        architecture: arch.to_owned(),
        os: "Debian GNU/Linux 12".to_owned(),
        kernel: "6.1.0-test".to_owned(),
        boot_time: 1_764_000_000,
        cpu: CpuSample {
            logical_cpus: cpus,
            usage_percent: 5.0,
            load: [0.1, 0.1, 0.1],
        },
        memory: MemorySample {
            total_bytes: mem_gib * GIB,
            available_bytes: mem_gib * GIB / 2,
        },
        storage: StorageSample {
            capacity_bytes: 32 * GIB,
            available_bytes: 16 * GIB,
        },
        gpus: Vec::new(),
        offered: OfferedResources {
            cpu_millis: u64::from(cpus) * 1000 - 500,
            memory_bytes: (mem_gib - 1) * GIB,
            storage_bytes: 10 * GIB,
            pods: 110,
        },
        labels: std::iter::once(("test".to_owned(), hostname.to_owned())).collect(),
        location: None,
    }
}

/// Write a sample where the agent's fixed sampler reads it.
pub fn write(path: &Path, sample: &ResourceSample) {
    let json = serde_json::to_vec_pretty(sample).expect("samples serialise");
    crate::process::write_file(path, &json);
}
