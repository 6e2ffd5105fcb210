//! GPUs found from procfs/sysfs alone, without vendor daemons or libraries.
//!
//! * NVIDIA discrete GPUs: one `proc/driver/nvidia/gpus/<bus>/information` per GPU, model
//!   from its `Model:` line.
//! * NVIDIA Jetson (integrated, shares system memory): `proc/device-tree/compatible` naming a
//!   Tegra SoC (`nvidia,tegra*`) or a Jetson module (`nvidia,p3*`); or, on an NVIDIA device tree,
//!   a GPU device node (`sys/devices/gpu.0`, `sys/devices/platform/*gpu*`). The node alone is
//!   not enough: a Raspberry Pi also has `sys/devices/platform/gpu` (VideoCore). Model from
//!   `proc/device-tree/model`.
//!
//! Every function takes the filesystem root so tests can use a fake tree in a temporary
//! directory. Unreadable files mean "no GPU", never an error.

use std::fs;
use std::path::{Path, PathBuf};

use fluidos_protocol::agent::GpuSample;

/// Vendor name used for NVIDIA GPUs.
const NVIDIA: &str = "nvidia";

/// Every GPU found under `root` (normally `/`).
pub fn detect(root: &Path) -> Vec<GpuSample> {
    let discrete = nvidia_proc(root);
    if !discrete.is_empty() {
        return discrete;
    }
    jetson(root).into_iter().collect()
}

/// NVIDIA GPUs listed by the kernel driver under `proc/driver/nvidia/gpus`.
pub fn nvidia_proc(root: &Path) -> Vec<GpuSample> {
    let Ok(entries) = fs::read_dir(root.join("proc/driver/nvidia/gpus")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("information"))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|file| fs::read_to_string(file).ok())
        .map(|text| GpuSample {
            vendor: NVIDIA.to_owned(),
            model: model_line(&text).unwrap_or("NVIDIA GPU").to_owned(),
            ..Default::default()
        })
        .collect()
}

/// The value of the `Model:` line of a driver `information` file.
fn model_line(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix("Model:"))
        .map(str::trim)
        .filter(|model| !model.is_empty())
}

/// The integrated GPU of an NVIDIA Jetson, if `root` looks like one.
pub fn jetson(root: &Path) -> Option<GpuSample> {
    let compatible = read_lossy(&root.join("proc/device-tree/compatible")).unwrap_or_default();
    let entries: Vec<&str> = compatible.split('\0').map(str::trim).collect();
    let tegra = entries
        .iter()
        .any(|c| c.starts_with("nvidia,tegra") || c.starts_with("nvidia,p3"));
    let nvidia_tree = entries.iter().any(|c| c.starts_with("nvidia,"));
    if !(tegra || (nvidia_tree && has_gpu_node(root))) {
        return None;
    }
    let model = read_lossy(&root.join("proc/device-tree/model"))
        .map(|m| {
            m.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_owned()
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "NVIDIA Tegra".to_owned());
    Some(GpuSample {
        vendor: NVIDIA.to_owned(),
        model,
        ..Default::default()
    })
}

fn has_gpu_node(root: &Path) -> bool {
    if root.join("sys/devices/gpu.0").exists() {
        return true;
    }
    fs::read_dir(root.join("sys/devices/platform")).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().contains("gpu"))
    })
}

fn read_lossy(path: &Path) -> Option<String> {
    fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, content: &[u8]) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    #[test]
    fn an_empty_tree_has_no_gpu() {
        let root = tempfile::tempdir().unwrap();
        assert!(detect(root.path()).is_empty());
    }

    #[test]
    fn nvidia_driver_information_files_are_read_in_bus_order() {
        let root = tempfile::tempdir().unwrap();
        let info = "Model: \t\t NVIDIA GeForce RTX 3080\nIRQ:   \t\t 130\nGPU UUID: \t GPU-1234\n";
        write(
            root.path(),
            "proc/driver/nvidia/gpus/0000:65:00.0/information",
            info.as_bytes(),
        );
        write(
            root.path(),
            "proc/driver/nvidia/gpus/0000:01:00.0/information",
            b"Model: Tesla T4\n",
        );
        write(
            root.path(),
            "proc/driver/nvidia/gpus/0000:02:00.0/information",
            b"IRQ: 1\n",
        );
        let models: Vec<String> = detect(root.path()).into_iter().map(|g| g.model).collect();
        assert_eq!(
            models,
            ["Tesla T4", "NVIDIA GPU", "NVIDIA GeForce RTX 3080"]
        );
    }

    #[test]
    fn a_jetson_is_recognised_by_its_device_tree() {
        let root = tempfile::tempdir().unwrap();
        write(
            root.path(),
            "proc/device-tree/compatible",
            b"nvidia,p3450-0000\0nvidia,jetson-nano\0nvidia,tegra210\0",
        );
        write(
            root.path(),
            "proc/device-tree/model",
            b"NVIDIA Jetson Nano Developer Kit\0",
        );
        let gpus = detect(root.path());
        assert_eq!(gpus.len(), 1);
        assert_eq!(gpus[0].vendor, "nvidia");
        assert_eq!(gpus[0].model, "NVIDIA Jetson Nano Developer Kit");
        assert_eq!(gpus[0].memory_bytes, 0);
    }

    #[test]
    fn a_gpu_node_counts_only_on_an_nvidia_device_tree() {
        let root = tempfile::tempdir().unwrap();
        write(
            root.path(),
            "proc/device-tree/compatible",
            b"raspberrypi,4-model-b\0brcm,bcm2711\0",
        );
        fs::create_dir_all(root.path().join("sys/devices/platform/gpu")).unwrap();
        assert!(detect(root.path()).is_empty());
        write(
            root.path(),
            "proc/device-tree/compatible",
            b"nvidia,jetson-xavier\0",
        );
        assert_eq!(detect(root.path())[0].model, "NVIDIA Tegra");
        let root2 = tempfile::tempdir().unwrap();
        write(
            root2.path(),
            "proc/device-tree/compatible",
            b"nvidia,some-board\0",
        );
        fs::create_dir_all(root2.path().join("sys/devices/gpu.0")).unwrap();
        assert_eq!(detect(root2.path()).len(), 1);
    }
}
