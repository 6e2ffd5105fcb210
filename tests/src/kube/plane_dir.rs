//! The directory of one control plane (PKI, etcd data, logs, kubeconfig):
//! `$TMPDIR/fluidos-kube/<slot>-<pid>-<random>`. Removed on drop; kept (and its path printed)
//! when a test is panicking, and after a failed start. Shared control planes are never dropped,
//! so each new control plane first removes the directories whose owning process is gone.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// An owned control-plane directory.
pub(super) struct PlaneDir {
    path: PathBuf,
    kept: bool,
}

impl PlaneDir {
    /// Sweep stale directories, then create a fresh one for `slot`.
    pub(super) fn create(slot: &str) -> anyhow::Result<PlaneDir> {
        let root = std::env::temp_dir().join("fluidos-kube");
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        sweep_stale(&root);
        let owner = std::process::id().to_string();
        let name = format!(
            "{}-{}",
            super::dns_label(slot, &owner),
            super::random_hex(4)
        );
        let path = root.join(name);
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(PlaneDir { path, kept: false })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Keep the directory (for the logs of a failed start): it is no longer removed on drop.
    pub(super) fn keep(mut self) -> PathBuf {
        self.kept = true;
        self.path.clone()
    }
}

impl Drop for PlaneDir {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if std::thread::panicking() {
            eprintln!(
                "kube control plane files kept in {} (until a later run sweeps them)",
                self.path.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Remove the directories under `root` whose owner process no longer exists.
fn sweep_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The owner pid in a directory name `<slot>-<pid>-<hex>`.
fn owner_pid(name: &str) -> Option<u32> {
    let mut parts = name.rsplitn(3, '-');
    let _random = parts.next()?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_is_the_second_to_last_field() {
        assert_eq!(owner_pid("hub-tests-1234-ab12cd34"), Some(1234));
        assert_eq!(owner_pid("start-99-00ff00ff"), Some(99));
        assert_eq!(owner_pid("unrelated"), None);
        assert_eq!(owner_pid("a-b-c"), None);
    }
}
