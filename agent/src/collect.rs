//! Sampling the board: [`Sampler`] with [`SysinfoSampler`] (the real board) and
//! [`FixedSampler`] (a JSON file, for tests and simulations).
//!
//! This is the only file that imports `sysinfo`, so its API churn stays here; everything else
//! sees [`ResourceSample`]. Samplers block (they read procfs and sysfs): call them through
//! `spawn_blocking`, never on an async worker.

pub mod gpu;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use std::{fs, io};

use fluidos_protocol::agent::{
    CpuSample, MemorySample, OfferedResources, ResourceSample, StorageSample,
};
use fluidos_protocol::flavor::Location;
use sysinfo::{DiskRefreshKind, Disks, MINIMUM_CPU_UPDATE_INTERVAL, MemoryRefreshKind, System};

/// Pods offered when the configuration does not say (the kubelet default).
pub const DEFAULT_MAX_PODS: u64 = 110;

/// Takes one [`ResourceSample`] of the board.
pub trait Sampler {
    /// Measure now. Blocking.
    fn sample(&mut self) -> Result<ResourceSample, SampleError>;
}

/// Capacity kept for the system, subtracted from what is measured (saturating at zero).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reserve {
    /// CPU, millicores.
    pub cpu_millis: u64,
    /// Memory, bytes.
    pub memory_bytes: u64,
    /// Root filesystem, bytes.
    pub storage_bytes: u64,
}

/// What a [`SysinfoSampler`] adds to its measurements (from the configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleSettings {
    /// System reserve.
    pub reserve: Reserve,
    /// Pods offered.
    pub max_pods: u64,
    /// Static labels.
    pub labels: BTreeMap<String, String>,
    /// Location.
    pub location: Option<Location>,
}

impl Default for SampleSettings {
    fn default() -> Self {
        Self {
            reserve: Reserve::default(),
            max_pods: DEFAULT_MAX_PODS,
            labels: BTreeMap::new(),
            location: None,
        }
    }
}

/// Why a sample could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// sysinfo could not be initialised.
    #[error("cannot read system information ({0})")]
    System(
        &'static str,
        #[source] Box<dyn std::error::Error + Send + Sync>,
    ),
    /// The fixed sample file could not be read.
    #[error("cannot read the fixed sample {0}")]
    ReadFixed(PathBuf, #[source] io::Error),
    /// The fixed sample file is not a `ResourceSample`.
    #[error("{0} is not a ResourceSample JSON document")]
    ParseFixed(PathBuf, #[source] serde_json::Error),
}

/// Kubernetes architecture name of a machine name: `x86_64` → `amd64`, `aarch64` → `arm64`,
/// 32-bit ARM (`arm`, `armv7l`, `armv6l`, `armhf`, ...) → `arm`, anything else unchanged.
pub fn kubernetes_arch(raw: &str) -> String {
    match raw {
        "x86_64" | "amd64" => "amd64".to_owned(),
        "aarch64" | "arm64" => "arm64".to_owned(),
        "arm" | "armhf" | "armel" => "arm".to_owned(),
        s if s.starts_with("armv") => "arm".to_owned(),
        s => s.to_owned(),
    }
}

/// What is offered: CPU and memory capacity minus the reserve (saturating), the root
/// filesystem's *free* space minus the storage reserve (space already used is not spare), and
/// the pod count.
pub fn offered(
    logical_cpus: u32,
    memory_total: u64,
    storage_available: u64,
    settings: &SampleSettings,
) -> OfferedResources {
    let reserve = &settings.reserve;
    OfferedResources {
        cpu_millis: u64::from(logical_cpus)
            .saturating_mul(1000)
            .saturating_sub(reserve.cpu_millis),
        memory_bytes: memory_total.saturating_sub(reserve.memory_bytes),
        storage_bytes: storage_available.saturating_sub(reserve.storage_bytes),
        pods: settings.max_pods,
    }
}

/// The root filesystem among `(mount point, capacity, available)`: the `/` mount, else (a
/// container whose `/` is an overlay sysinfo does not list) the largest filesystem.
pub fn root_filesystem<'a>(disks: impl Iterator<Item = (&'a Path, u64, u64)>) -> StorageSample {
    let mut best: Option<(bool, u64, u64)> = None;
    for (mount, capacity, available) in disks {
        let candidate = (mount == Path::new("/"), capacity, available);
        if best.is_none_or(|b| (candidate.0, candidate.1) > (b.0, b.1)) {
            best = Some(candidate);
        }
    }
    best.map_or_else(
        StorageSample::default,
        |(_, capacity_bytes, available_bytes)| StorageSample {
            capacity_bytes,
            available_bytes,
        },
    )
}

/// The host name, if the system has one.
pub fn hostname() -> Option<String> {
    System::host_name().ok().filter(|h| !h.is_empty())
}

/// Samples the real board with one long-lived sysinfo `System`, refreshing only CPU usage,
/// RAM and the filesystem list.
pub struct SysinfoSampler {
    system: System,
    disks: Disks,
    settings: SampleSettings,
    gpu_root: PathBuf,
    last_cpu_refresh: Instant,
    cpu_measured: bool,
    // Fixed for the life of the process (a reboot or upgrade restarts the agent).
    architecture: String,
    os: String,
    kernel: String,
    boot_time: u64,
}

impl SysinfoSampler {
    /// A sampler adding `settings` to its measurements. Blocking (reads procfs).
    pub fn new(settings: SampleSettings) -> Result<Self, SampleError> {
        let mut system = System::new().map_err(|e| SampleError::System("system", Box::new(e)))?;
        // CPU usage is a difference between two refreshes: take the first one now.
        system.refresh_cpu_usage();
        let disks = Disks::new().map_err(|e| SampleError::System("disks", Box::new(e)))?;
        let os = match (System::name(), System::os_version()) {
            (Ok(name), Ok(version)) => format!("{name} {version}"),
            (Ok(name), Err(_)) => name,
            _ => String::new(),
        };
        Ok(Self {
            system,
            disks,
            settings,
            gpu_root: PathBuf::from("/"),
            last_cpu_refresh: Instant::now(),
            cpu_measured: false,
            architecture: kubernetes_arch(&System::cpu_arch()),
            os,
            kernel: System::kernel_version().unwrap_or_default(),
            boot_time: System::boot_time().unwrap_or(0),
        })
    }

    /// Refresh CPU usage, never more often than sysinfo's `MINIMUM_CPU_UPDATE_INTERVAL`
    /// (a faster refresh gives meaningless numbers; the previous figure is kept instead).
    fn refresh_cpu(&mut self) {
        let elapsed = self.last_cpu_refresh.elapsed();
        if elapsed < MINIMUM_CPU_UPDATE_INTERVAL {
            if self.cpu_measured {
                return;
            }
            // The very first figure would be meaningless: wait out the interval once.
            #[allow(
                clippy::disallowed_methods,
                reason = "runs on a blocking thread, once, under 200 ms"
            )]
            std::thread::sleep(MINIMUM_CPU_UPDATE_INTERVAL.saturating_sub(elapsed));
        }
        self.system.refresh_cpu_usage();
        self.last_cpu_refresh = Instant::now();
        self.cpu_measured = true;
    }

    fn root_storage(&mut self) -> StorageSample {
        self.disks
            .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
        root_filesystem(
            self.disks
                .iter()
                .map(|d| (d.mount_point(), d.total_space(), d.available_space())),
        )
    }

    fn load() -> [f64; 3] {
        System::load_average().map_or([0.0; 3], |l| [l.one, l.five, l.fifteen])
    }
}

impl Sampler for SysinfoSampler {
    fn sample(&mut self) -> Result<ResourceSample, SampleError> {
        self.refresh_cpu();
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        let storage = self.root_storage();
        let logical_cpus = u32::try_from(self.system.cpus().len()).unwrap_or(u32::MAX);
        let memory = MemorySample {
            total_bytes: self.system.total_memory(),
            available_bytes: self.system.available_memory(),
        };
        let offered = offered(
            logical_cpus,
            memory.total_bytes,
            storage.available_bytes,
            &self.settings,
        );
        Ok(ResourceSample {
            hostname: hostname().unwrap_or_default(),
            architecture: self.architecture.clone(),
            os: self.os.clone(),
            kernel: self.kernel.clone(),
            boot_time: self.boot_time,
            cpu: CpuSample {
                logical_cpus,
                usage_percent: self.system.global_cpu_usage(),
                load: Self::load(),
            },
            memory,
            storage,
            gpus: gpu::detect(&self.gpu_root),
            offered,
            labels: self.settings.labels.clone(),
            location: self.settings.location.clone(),
        })
    }
}

/// Reads a `ResourceSample` JSON file on every sample, so a test or simulation can change it
/// while the agent runs. The file is used as-is: its offered values, labels and location are
/// not recomputed from the configuration.
#[derive(Debug, Clone)]
pub struct FixedSampler {
    path: PathBuf,
}

impl FixedSampler {
    /// A sampler reading `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl Sampler for FixedSampler {
    fn sample(&mut self) -> Result<ResourceSample, SampleError> {
        let bytes =
            fs::read(&self.path).map_err(|e| SampleError::ReadFixed(self.path.clone(), e))?;
        serde_json::from_slice(&bytes).map_err(|e| SampleError::ParseFixed(self.path.clone(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_use_kubernetes_names() {
        assert_eq!(kubernetes_arch("x86_64"), "amd64");
        assert_eq!(kubernetes_arch("aarch64"), "arm64");
        assert_eq!(kubernetes_arch("armv7l"), "arm");
        assert_eq!(kubernetes_arch("armv7"), "arm");
        assert_eq!(kubernetes_arch("arm"), "arm");
        assert_eq!(kubernetes_arch("riscv64"), "riscv64");
    }

    #[test]
    fn offered_subtracts_the_reserve_and_saturates() {
        let settings = SampleSettings {
            reserve: Reserve {
                cpu_millis: 500,
                memory_bytes: 1 << 30,
                storage_bytes: u64::MAX,
            },
            max_pods: 42,
            ..Default::default()
        };
        let o = offered(4, 4 << 30, 100, &settings);
        assert_eq!(
            o,
            OfferedResources {
                cpu_millis: 3500,
                memory_bytes: 3 << 30,
                storage_bytes: 0,
                pods: 42
            }
        );
        assert_eq!(offered(0, 0, 0, &settings).cpu_millis, 0);
    }

    #[test]
    fn root_filesystem_prefers_slash_then_the_largest() {
        let disks = [
            (Path::new("/boot"), 500, 400),
            (Path::new("/"), 100, 50),
            (Path::new("/data"), 900, 1),
        ];
        assert_eq!(
            root_filesystem(disks.into_iter()),
            StorageSample {
                capacity_bytes: 100,
                available_bytes: 50
            }
        );
        let no_root = [(Path::new("/boot"), 500, 400), (Path::new("/data"), 900, 1)];
        assert_eq!(root_filesystem(no_root.into_iter()).capacity_bytes, 900);
        assert_eq!(
            root_filesystem(std::iter::empty()),
            StorageSample::default()
        );
    }

    #[test]
    fn fixed_sampler_rereads_its_file_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sample.json");
        let mut sampler = FixedSampler::new(&path);
        assert!(matches!(sampler.sample(), Err(SampleError::ReadFixed(..))));
        let mut s = ResourceSample {
            hostname: "sim-1".into(),
            ..Default::default()
        };
        s.offered.cpu_millis = 1234;
        fs::write(&path, serde_json::to_vec(&s).unwrap()).unwrap();
        assert_eq!(sampler.sample().unwrap(), s);
        s.offered.cpu_millis = 99;
        fs::write(&path, serde_json::to_vec(&s).unwrap()).unwrap();
        assert_eq!(sampler.sample().unwrap().offered.cpu_millis, 99);
        fs::write(&path, "{").unwrap();
        assert!(matches!(sampler.sample(), Err(SampleError::ParseFixed(..))));
    }

    #[test]
    fn sysinfo_sampler_measures_this_machine() {
        let mut sampler = SysinfoSampler::new(SampleSettings::default()).unwrap();
        let s = sampler.sample().unwrap();
        assert!(s.cpu.logical_cpus > 0);
        assert!(s.memory.total_bytes > 0);
        assert_eq!(s.offered.cpu_millis, u64::from(s.cpu.logical_cpus) * 1000);
        assert_eq!(s.offered.pods, DEFAULT_MAX_PODS);
        assert!(!s.architecture.is_empty());
    }
}
