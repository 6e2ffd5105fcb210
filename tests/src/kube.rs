//! A real Kubernetes control plane for the Kubernetes-mode tests: a private etcd and
//! kube-apiserver on free loopback ports, with a test-time PKI, RBAC on, and a `system:masters`
//! admin token (see `shared/reference/kube-apiserver-fixture.md`).
//!
//! * [`ControlPlane::shared`]: one control plane per test binary and slot, started on first use.
//! * [`ControlPlane::start`]: a private one, killed on drop.
//! * [`skipped`]: the explicit opt-out (`FLUIDOS_SKIP_KUBE`), which says why it skips.
//!
//! The apiserver binary is `$FLUIDOS_KUBE_APISERVER`, or what `tests/kube/build-apiserver.sh`
//! builds (once, cached); etcd comes from the `etcd-bin-vendored` crate.

mod api;
mod kubeconfig;
mod launch;
mod pki;
mod plane_dir;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use api::AdminApi;
use launch::Processes;
use plane_dir::PlaneDir;

/// Set (non-empty) to skip the Kubernetes suites; they then print that they were skipped.
pub const SKIP_ENV: &str = "FLUIDOS_SKIP_KUBE";

/// Env var naming a ready kube-apiserver binary (`tests/run` exports it).
pub const APISERVER_ENV: &str = "FLUIDOS_KUBE_APISERVER";

/// True (after saying so on stderr) when the Kubernetes tests are skipped by [`SKIP_ENV`].
pub fn skipped(test: &str) -> bool {
    let skip = std::env::var_os(SKIP_ENV).is_some_and(|v| !v.is_empty());
    if skip {
        eprintln!(
            "skipped {test}: {SKIP_ENV} is set (the Kubernetes-mode tests need a kube-apiserver \
             built by tests/kube/build-apiserver.sh and etcd; unset {SKIP_ENV} to run them)"
        );
    }
    skip
}

/// A private etcd + kube-apiserver; both processes are killed when it is dropped.
pub struct ControlPlane {
    server_url: String,
    ca_pem: String,
    admin_token: String,
    admin_kubeconfig: PathBuf,
    api: AdminApi,
    // Field order matters: the processes die before their directory is removed.
    processes: Processes,
    dir: PlaneDir,
}

impl ControlPlane {
    /// A private etcd + kube-apiserver on free loopback ports; both processes are killed on Drop.
    pub fn start() -> anyhow::Result<ControlPlane> {
        Self::start_in_slot("start")
    }

    /// One control plane per test binary per `slot` name, started on first use and shared by
    /// every test of that binary; its processes die when the test process exits (even on
    /// panic or abort). Panics, with the reason, when it cannot be started.
    pub fn shared(slot: &'static str) -> &'static ControlPlane {
        type Slots = Mutex<HashMap<&'static str, Result<&'static ControlPlane, String>>>;
        static SLOTS: OnceLock<Slots> = OnceLock::new();
        let slots = SLOTS.get_or_init(Slots::default);
        // Held while starting: tests asking for the same slot wait for the one start.
        let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = slots.entry(slot).or_insert_with(|| {
            Self::start_in_slot(slot)
                .map(|plane| &*Box::leak(Box::new(plane)))
                .map_err(|e| format!("{e:#}"))
        });
        match entry {
            Ok(plane) => plane,
            Err(e) => panic!("the shared Kubernetes control plane `{slot}` did not start: {e}"),
        }
    }

    fn start_in_slot(slot: &str) -> anyhow::Result<ControlPlane> {
        let apiserver = apiserver_binary()?;
        let dir = PlaneDir::create(slot)?;
        let pki = pki::Pki::generate()?;
        let ready = match launch_in(dir.path(), &apiserver, &pki) {
            Ok(ready) => ready,
            Err(e) => {
                let kept = dir.keep();
                return Err(e.context(format!("control plane files kept in {}", kept.display())));
            }
        };
        let plane = ControlPlane {
            server_url: format!("https://127.0.0.1:{}", ready.api.port()),
            ca_pem: pki.ca_pem,
            admin_token: pki.admin_token,
            admin_kubeconfig: dir.path().join("admin.kubeconfig"),
            api: ready.api,
            processes: ready.processes,
            dir,
        };
        let admin = kubeconfig::Identity {
            user: "test-admin",
            token: &plane.admin_token,
            namespace: "default",
        };
        plane.write_identity(&admin, &plane.admin_kubeconfig)?;
        eprintln!(
            "kube control plane `{slot}` ready at {} in {:.1?} (etcd {:.1?}); files in {}",
            plane.server_url,
            ready.elapsed,
            ready.etcd_elapsed,
            plane.dir().display()
        );
        Ok(plane)
    }

    /// `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// PEM of the CA that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The `system:masters` kubeconfig file.
    pub fn admin_kubeconfig(&self) -> &Path {
        &self.admin_kubeconfig
    }

    /// The `system:masters` bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Process ids of etcd and kube-apiserver, in that order.
    pub fn pids(&self) -> [u32; 2] {
        self.processes.pids()
    }

    /// Write a kubeconfig for a bearer token (default namespace `namespace`) to `path`.
    pub fn write_kubeconfig(
        &self,
        token: &str,
        namespace: &str,
        path: &Path,
    ) -> anyhow::Result<()> {
        let identity = kubeconfig::Identity {
            user: "token-user",
            token,
            namespace,
        };
        self.write_identity(&identity, path)
    }

    fn write_identity(
        &self,
        identity: &kubeconfig::Identity<'_>,
        path: &Path,
    ) -> anyhow::Result<()> {
        write_private(
            path,
            &kubeconfig::render(&self.server_url, &self.ca_pem, identity),
        )
    }

    /// `kubectl --kubeconfig <admin>`, ready for arguments.
    pub fn kubectl(&self) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig").arg(&self.admin_kubeconfig);
        cmd
    }

    /// An admin `kube::Client`, bound to the current tokio runtime.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        client_from_kubeconfig(&self.admin_kubeconfig).await
    }

    /// Create namespace `name` (fine if it exists).
    pub fn create_namespace(&self, name: &str) -> anyhow::Result<()> {
        self.api.create_namespace(name)
    }

    /// Create ServiceAccount `namespace/name` if missing and mint a token for it with the
    /// TokenRequest API, valid `ttl` (the apiserver refuses less than 10 minutes).
    pub fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        self.api.create_service_account(namespace, name)?;
        self.api.request_token(namespace, name, ttl)
    }

    /// `kubectl apply` the committed FLUIDOS CRDs (`config/crds/`) and wait until every one
    /// is Established. Idempotent, so every test may call it on a shared control plane.
    pub fn install_crds(&self) -> anyhow::Result<()> {
        let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/crds");
        self.kubectl_ok(&["apply", "--server-side", "-k", &crds.to_string_lossy()])?;
        let mut wait = vec!["wait", "--for=condition=Established", "--timeout=60s"];
        let names: Vec<String> = fluidos_hub::k8s::resources::KINDS
            .iter()
            .map(|k| format!("crd/{}", k.crd_name()))
            .collect();
        wait.extend(names.iter().map(String::as_str));
        self.kubectl_ok(&wait)?;
        Ok(())
    }

    /// `kubectl apply -f -` of `yaml` as admin (server-side validation as kubectl defaults).
    pub fn apply_yaml(&self, yaml: &str) -> anyhow::Result<String> {
        use std::io::Write as _;
        let mut child = self
            .kubectl()
            .args(["apply", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .context("kubectl stdin")?
            .write_all(yaml.as_bytes())?;
        let output = child.wait_with_output()?;
        anyhow::ensure!(
            output.status.success(),
            "kubectl apply failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Run `kubectl` with `args` as admin; its stdout, or an error with its stderr.
    pub fn kubectl_ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self.kubectl().args(args).output()?;
        anyhow::ensure!(
            output.status.success(),
            "kubectl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Directory of this control plane's files (logs, PKI, kubeconfig).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Write the PKI into `dir/pki`, then start etcd and kube-apiserver with it.
fn launch_in(dir: &Path, apiserver: &Path, pki: &pki::Pki) -> anyhow::Result<launch::Ready> {
    let files = pki.write(&dir.join("pki"))?;
    launch::start(&launch::Plan {
        apiserver,
        dir,
        pki: &files,
        admin: AdminApi::new(&pki.ca_pem, &pki.admin_token)?,
    })
}

/// A `kube::Client` from a kubeconfig file (its current context), bound to the current runtime.
pub async fn client_from_kubeconfig(path: &Path) -> anyhow::Result<kube::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    let options = kube::config::KubeConfigOptions::default();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?;
    Ok(kube::Client::try_from(config)?)
}

/// A name unique within the run: `<prefix>-<random>`, a valid DNS-1123 label.
pub fn unique_name(prefix: &str) -> String {
    dns_label(prefix, &random_hex(4))
}

/// `prefix` made DNS-1123 (lowercase alphanumerics and `-`, at most 54 characters, never
/// empty), then `-suffix`.
fn dns_label(prefix: &str, suffix: &str) -> String {
    let cleaned: String = prefix
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(54)
        .collect();
    let cleaned = cleaned.trim_matches('-');
    let cleaned = if cleaned.is_empty() { "t" } else { cleaned };
    format!("{cleaned}-{suffix}")
}

/// `bytes` random bytes from the kernel, hex-encoded.
fn random_hex(bytes: usize) -> String {
    use std::io::Read as _;
    let mut buf = vec![0_u8; bytes];
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)) {
        panic!("reading /dev/urandom: {e}");
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Write `contents` to `path`, readable by the owner only (it holds a credential).
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    std::io::Write::write_all(&mut file, contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// The kube-apiserver binary: `$FLUIDOS_KUBE_APISERVER`, else what `build-apiserver.sh` builds
/// (a cached binary is returned at once). Resolved once per process.
fn apiserver_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| resolve_apiserver().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow::anyhow!("no kube-apiserver binary: {e} (or set {SKIP_ENV}=1 to skip)"))
}

fn resolve_apiserver() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(APISERVER_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        anyhow::ensure!(
            path.is_file(),
            "{APISERVER_ENV}={} is not a file",
            path.display()
        );
        return Ok(path);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("kube/build-apiserver.sh");
    // stderr is inherited: a cold build takes minutes and reports its progress there.
    let out = Command::new("bash")
        .arg(&script)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "{} failed with {} (see its stderr above)",
        script.display(),
        out.status
    );
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    anyhow::ensure!(
        path.is_file(),
        "{} printed {:?}, which is not a file",
        script.display(),
        path
    );
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_label_is_lowercase_alphanumeric_and_dashes() {
        assert_eq!(dns_label("Hub_Test.x", "ab12"), "hub-test-x-ab12");
        assert_eq!(dns_label("--", "ab12"), "t-ab12");
        assert_eq!(dns_label("", "ab12"), "t-ab12");
        let long = dns_label(&"a".repeat(100), "ab12cd34");
        assert!(long.len() <= 63, "{long}");
    }

    #[test]
    fn unique_names_differ() {
        let a = unique_name("ns");
        let b = unique_name("ns");
        assert_ne!(a, b);
        assert!(a.starts_with("ns-") && a.len() == "ns-".len() + 8, "{a}");
    }
}
