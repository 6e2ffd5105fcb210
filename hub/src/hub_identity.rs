//! The hub's own FLUIDOS node identity (domain, nodeID, REAR address), kept in
//! `<state>/identity.json`, plus the atomic file write every state file uses.
//!
//! This module only names the hub; it holds no keys (see [`crate::pki`]).

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use fluidos_protocol::identity::{Identity, valid_domain, valid_node_name};
use fluidos_protocol::node::NodeIdentity;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// File name of the identity in the state directory.
pub const IDENTITY_FILE: &str = "identity.json";

/// Length of a generated node id (upstream: 10 random lowercase alphanumerics).
pub const NODE_ID_LEN: usize = 10;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Who this hub is in the FLUIDOS network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubIdentity {
    /// FLUIDOS domain, e.g. `fluidos.eu`.
    pub domain: String,
    /// Node id (`[a-z0-9]{10}` when generated).
    #[serde(rename = "nodeID", alias = "nodeId")]
    pub node_id: String,
    /// REAR gateway address `host:port`; empty until REAR is configured.
    #[serde(rename = "rearAddress", default)]
    pub rear_address: String,
}

/// Why the identity file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HubIdentityError {
    /// The file cannot be read (missing, permissions).
    #[error("cannot read hub identity {path}")]
    Read {
        /// The identity file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// The file is not the expected JSON.
    #[error("hub identity {path} is not valid JSON")]
    Parse {
        /// The identity file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// The domain or node id breaks the DNS-1123 rules.
    #[error("hub identity has an invalid domain {domain:?} or node id {node_id:?}")]
    Invalid {
        /// Domain found.
        domain: String,
        /// Node id found.
        node_id: String,
    },
    /// The file cannot be written.
    #[error("cannot write hub identity {path}")]
    Write {
        /// The identity file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

impl HubIdentity {
    /// A new identity in `domain` with a random node id (REAR address empty).
    pub fn generate(domain: &str) -> Self {
        Self {
            domain: domain.to_owned(),
            node_id: random_lowercase(NODE_ID_LEN),
            rear_address: String::new(),
        }
    }

    /// Path of the identity file in `state_dir`.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(IDENTITY_FILE)
    }

    /// Whether `state_dir` already holds an identity file.
    pub fn exists(state_dir: &Path) -> bool {
        Self::path(state_dir).exists()
    }

    /// Read and validate `<state_dir>/identity.json`.
    pub fn load(state_dir: &Path) -> Result<Self, HubIdentityError> {
        let path = Self::path(state_dir);
        let bytes = fs::read(&path).map_err(|source| HubIdentityError::Read {
            path: path.clone(),
            source,
        })?;
        let id: Self = serde_json::from_slice(&bytes)
            .map_err(|source| HubIdentityError::Parse { path, source })?;
        id.validate()?;
        Ok(id)
    }

    /// Write `<state_dir>/identity.json` atomically (temporary file, fsync, rename), creating
    /// `state_dir` (mode 0700) if needed.
    pub fn save(&self, state_dir: &Path) -> Result<(), HubIdentityError> {
        self.validate()?;
        let path = Self::path(state_dir);
        create_state_dir(state_dir).map_err(|source| HubIdentityError::Write {
            path: state_dir.to_owned(),
            source,
        })?;
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| HubIdentityError::Write {
            path: path.clone(),
            source: io::Error::other(e),
        })?;
        json.push(b'\n');
        write_atomic(&path, &json, 0o644).map_err(|source| HubIdentityError::Write { path, source })
    }

    /// Check the domain and node id against the DNS-1123 rules.
    pub fn validate(&self) -> Result<(), HubIdentityError> {
        if valid_domain(&self.domain) && valid_node_name(&self.node_id) {
            Ok(())
        } else {
            Err(HubIdentityError::Invalid {
                domain: self.domain.clone(),
                node_id: self.node_id.clone(),
            })
        }
    }

    /// The CR form used in Flavors (`spec.owner`) and in agent certificate responses.
    pub fn node_identity(&self) -> NodeIdentity {
        NodeIdentity {
            domain: self.domain.clone(),
            node_id: self.node_id.clone(),
            ip: self.rear_address.clone(),
            additional_information: None,
        }
    }

    /// The certificate identity of this hub.
    pub fn identity(&self) -> Identity {
        Identity::Node {
            domain: self.domain.clone(),
            node_id: self.node_id.clone(),
        }
    }

    /// The URI SAN of this hub: `fluidos://<domain>/nodes/<node_id>`.
    pub fn uri(&self) -> String {
        self.identity().to_uri()
    }
}

/// Create `state_dir` (and parents) with mode 0700 when it does not exist yet.
pub fn create_state_dir(state_dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state_dir)
}

/// `len` random characters of `[a-z0-9]` from the thread CSPRNG.
pub(crate) fn random_lowercase(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Replace `path` with `contents` atomically: write a temporary sibling with `mode`, fsync it,
/// rename it over `path`, then fsync the directory so the rename survives a power cut.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::other("path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", random_lowercase(8)));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        // Best effort: never leave a half-written temporary behind.
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn generated_identity_round_trips_through_the_state_dir() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state");
        let id = HubIdentity::generate("edge.example");
        assert_eq!(id.node_id.len(), NODE_ID_LEN);
        assert!(valid_node_name(&id.node_id));
        assert!(!HubIdentity::exists(&dir));
        id.save(&dir).unwrap();
        assert_eq!(HubIdentity::load(&dir).unwrap(), id);
        assert_eq!(
            id.uri(),
            format!("fluidos://edge.example/nodes/{}", id.node_id)
        );
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(HubIdentity::path(&dir)).unwrap()).unwrap();
        assert_eq!(json["nodeID"], id.node_id.as_str());
        // Only the identity file remains (no temporary); the new state dir is private.
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn node_identity_carries_the_rear_address() {
        let mut id = HubIdentity::generate("fluidos.eu");
        id.rear_address = "10.0.0.1:30000".into();
        let n = id.node_identity();
        assert_eq!(
            (n.domain.as_str(), n.ip.as_str()),
            ("fluidos.eu", "10.0.0.1:30000")
        );
        assert_eq!(n.node_id, id.node_id);
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            HubIdentity::load(dir.path()),
            Err(HubIdentityError::Read { .. })
        ));
        fs::write(HubIdentity::path(dir.path()), b"{not json").unwrap();
        assert!(matches!(
            HubIdentity::load(dir.path()),
            Err(HubIdentityError::Parse { .. })
        ));
        fs::write(
            HubIdentity::path(dir.path()),
            br#"{"domain":"Bad Domain","nodeID":"abc"}"#,
        )
        .unwrap();
        assert!(matches!(
            HubIdentity::load(dir.path()),
            Err(HubIdentityError::Invalid { .. })
        ));
    }

    #[test]
    fn atomic_write_sets_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
