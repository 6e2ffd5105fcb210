//! The agent's state directory: file names, atomic writes (the key with mode 0600) and
//! `enrollment.json`.
//!
//! Layout (docs/ARCHITECTURE.md): `agent.key` (0600, generated here, never sent), `agent.crt`,
//! `ca.crt`, `enrollment.json`, `outbox.db`. A new key and certificate are installed as a pair
//! through `agent.key.next` / `agent.crt.next` so that a crash half-way never leaves a key that
//! does not match its certificate ([`StateDir::recover`] finishes or rolls back the swap).
//!
//! File IO only: no network, and key material is never logged.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use fluidos_protocol::node::NodeIdentity;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The agent's private key (PEM, mode 0600).
pub const KEY_FILE: &str = "agent.key";
/// The agent's client certificate (PEM).
pub const CERT_FILE: &str = "agent.crt";
/// The hub CA certificate (PEM), pinned at enrollment.
pub const CA_FILE: &str = "ca.crt";
/// What enrollment established ([`Enrollment`], JSON).
pub const ENROLLMENT_FILE: &str = "enrollment.json";
/// The SQLite outbox.
pub const OUTBOX_FILE: &str = "outbox.db";
/// Mode of files holding secrets.
pub const SECRET_MODE: u32 = 0o600;
/// Mode of public files (certificates, enrollment.json).
const PUBLIC_MODE: u32 = 0o644;
/// Mode of the state directory itself.
const DIR_MODE: u32 = 0o700;
/// Suffix of a staged key/certificate, see [`StateDir::commit_credentials`].
const NEXT_SUFFIX: &str = ".next";

/// What enrollment established, kept in `enrollment.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    /// The hub URL used to enroll (`https://host:port`).
    pub hub_url: String,
    /// This node's name, as named by the certificate.
    pub node_name: String,
    /// FLUIDOS domain of the hub.
    pub domain: String,
    /// The hub's node identity.
    pub hub: NodeIdentity,
    /// Report interval the hub asked for, seconds.
    pub heartbeat_seconds: u64,
    /// When the current certificate was received (start of its useful life).
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// End of validity of the current certificate.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// RFC 3339, whole seconds (`2025-01-01T00:00:00Z`), for messages and logs.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

impl Enrollment {
    /// Whether the certificate is expired at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.not_after
    }
}

/// The PEM files needed for mutual TLS.
pub struct Credentials {
    /// Hub CA.
    pub ca_pem: Vec<u8>,
    /// Client certificate.
    pub cert_pem: Vec<u8>,
    /// Private key.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

/// Why the state directory could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The directory could not be created.
    #[error("cannot create state directory {0}")]
    CreateDir(PathBuf, #[source] io::Error),
    /// A file could not be read.
    #[error("cannot read {0}")]
    Read(PathBuf, #[source] io::Error),
    /// A file could not be written.
    #[error("cannot write {0}")]
    Write(PathBuf, #[source] io::Error),
    /// `enrollment.json` is not valid.
    #[error("{0} is not a valid enrollment file")]
    Parse(PathBuf, #[source] serde_json::Error),
}

/// The agent state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// A state directory at `root` (nothing is touched yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of a file in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn next_path(&self, name: &str) -> PathBuf {
        self.root.join(format!("{name}{NEXT_SUFFIX}"))
    }

    /// Create the directory (and parents), mode 0700 for the last component.
    pub fn create(&self) -> Result<(), StateError> {
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(&self.root)
            .map_err(|e| StateError::CreateDir(self.root.clone(), e))
    }

    /// `enrollment.json`, or `None` when the agent is not enrolled.
    pub fn read_enrollment(&self) -> Result<Option<Enrollment>, StateError> {
        let path = self.path(ENROLLMENT_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::Read(path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::Parse(path, e))
    }

    /// Replace `enrollment.json` atomically.
    pub fn write_enrollment(&self, enrollment: &Enrollment) -> Result<(), StateError> {
        let path = self.path(ENROLLMENT_FILE);
        let mut json = serde_json::to_vec_pretty(enrollment)
            .map_err(|e| StateError::Parse(path.clone(), e))?;
        json.push(b'\n');
        write_atomic(&path, &json, PUBLIC_MODE).map_err(|e| StateError::Write(path, e))
    }

    /// Replace `ca.crt` atomically.
    pub fn write_ca(&self, ca_pem: &str) -> Result<(), StateError> {
        let path = self.path(CA_FILE);
        write_atomic(&path, ca_pem.as_bytes(), PUBLIC_MODE).map_err(|e| StateError::Write(path, e))
    }

    /// Write a new private key as `agent.key.next` (mode 0600), before asking for its certificate.
    pub fn stage_key(&self, key_pem: &str) -> Result<(), StateError> {
        let path = self.next_path(KEY_FILE);
        write_atomic(&path, key_pem.as_bytes(), SECRET_MODE).map_err(|e| StateError::Write(path, e))
    }

    /// Forget a staged key (its certificate request failed).
    pub fn discard_staged_key(&self) {
        // Best effort: a leftover staged key without a staged certificate is removed by recover().
        let _ = fs::remove_file(self.next_path(KEY_FILE));
    }

    /// Install the staged key together with its certificate `cert_pem`.
    ///
    /// Order: write `agent.crt.next`, rename `agent.key.next` → `agent.key`, rename
    /// `agent.crt.next` → `agent.crt`. A crash at any point is finished by [`Self::recover`].
    pub fn commit_credentials(&self, cert_pem: &str) -> Result<(), StateError> {
        let cert_next = self.next_path(CERT_FILE);
        write_atomic(&cert_next, cert_pem.as_bytes(), PUBLIC_MODE)
            .map_err(|e| StateError::Write(cert_next, e))?;
        self.finish_swap()
    }

    /// Finish or roll back an interrupted key/certificate swap.
    pub fn recover(&self) -> Result<(), StateError> {
        if self.next_path(CERT_FILE).exists() {
            // The new certificate was fully written: the pair is complete, finish the swap.
            self.finish_swap()
        } else {
            // A staged key without a certificate: the request never completed.
            self.discard_staged_key();
            Ok(())
        }
    }

    fn finish_swap(&self) -> Result<(), StateError> {
        for name in [KEY_FILE, CERT_FILE] {
            let (from, to) = (self.next_path(name), self.path(name));
            match fs::rename(&from, &to) {
                Ok(()) => {}
                // The key may already have been renamed before a crash.
                Err(e) if e.kind() == io::ErrorKind::NotFound && name == KEY_FILE => {}
                Err(e) => return Err(StateError::Write(to, e)),
            }
        }
        sync_dir(&self.root).map_err(|e| StateError::Write(self.root.clone(), e))
    }

    /// Read the CA, certificate and key (after [`Self::recover`]).
    pub fn read_credentials(&self) -> Result<Credentials, StateError> {
        self.recover()?;
        let read = |name: &str| {
            let path = self.path(name);
            fs::read(&path).map_err(|e| StateError::Read(path, e))
        };
        Ok(Credentials {
            ca_pem: read(CA_FILE)?,
            cert_pem: read(CERT_FILE)?,
            key_pem: read(KEY_FILE)?,
        })
    }
}

/// Write `bytes` to `path` atomically: a new temporary file created with `mode` (so a secret
/// is never readable by others, not even briefly), fsync, rename over `path`, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    // A leftover from a crash may have another mode; `mode()` only applies to new files.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(path.parent().unwrap_or(Path::new(".")))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// fsync a directory so that a rename in it is durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn staged_key_is_written_with_mode_0600_and_committed_with_its_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        state.create().unwrap();
        state.stage_key("KEY").unwrap();
        assert_eq!(mode(&state.next_path(KEY_FILE)), 0o600);
        state.commit_credentials("CERT").unwrap();
        assert_eq!(fs::read_to_string(state.path(KEY_FILE)).unwrap(), "KEY");
        assert_eq!(fs::read_to_string(state.path(CERT_FILE)).unwrap(), "CERT");
        assert_eq!(mode(&state.path(KEY_FILE)), 0o600);
        assert_eq!(mode(state.root()), 0o700);
        assert!(!state.next_path(KEY_FILE).exists());
    }

    #[test]
    fn atomic_write_replaces_a_stale_temp_file_with_a_wider_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.key");
        let tmp = dir.path().join("agent.key.tmp");
        fs::write(&tmp, "old").unwrap();
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o666)).unwrap();
        write_atomic(&path, b"secret", SECRET_MODE).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(!tmp.exists());
    }

    #[test]
    fn recover_finishes_a_swap_interrupted_after_the_key_rename() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        fs::write(state.path(KEY_FILE), "NEW KEY").unwrap();
        fs::write(state.path(CERT_FILE), "OLD CERT").unwrap();
        fs::write(state.next_path(CERT_FILE), "NEW CERT").unwrap();
        state.recover().unwrap();
        assert_eq!(
            fs::read_to_string(state.path(CERT_FILE)).unwrap(),
            "NEW CERT"
        );
        assert_eq!(fs::read_to_string(state.path(KEY_FILE)).unwrap(), "NEW KEY");
    }

    #[test]
    fn recover_drops_a_staged_key_without_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        fs::write(state.path(KEY_FILE), "OLD KEY").unwrap();
        state.stage_key("NEW KEY").unwrap();
        state.recover().unwrap();
        assert_eq!(fs::read_to_string(state.path(KEY_FILE)).unwrap(), "OLD KEY");
        assert!(!state.next_path(KEY_FILE).exists());
    }

    #[test]
    fn enrollment_round_trips_and_missing_means_not_enrolled() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        assert_eq!(state.read_enrollment().unwrap(), None);
        let e = Enrollment {
            hub_url: "https://127.0.0.1:7443".into(),
            node_name: "pi-1".into(),
            domain: "fluidos.eu".into(),
            hub: NodeIdentity::default(),
            heartbeat_seconds: 10,
            issued_at: OffsetDateTime::UNIX_EPOCH,
            not_after: OffsetDateTime::UNIX_EPOCH + time::Duration::days(7),
        };
        state.write_enrollment(&e).unwrap();
        assert_eq!(state.read_enrollment().unwrap(), Some(e.clone()));
        assert!(!e.is_expired(OffsetDateTime::UNIX_EPOCH));
        assert!(e.is_expired(e.not_after));
        fs::write(state.path(ENROLLMENT_FILE), "{").unwrap();
        assert!(matches!(
            state.read_enrollment(),
            Err(StateError::Parse(..))
        ));
    }
}
