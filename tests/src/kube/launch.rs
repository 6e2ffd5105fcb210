//! Starting etcd and kube-apiserver: free loopback ports (retried when another process takes
//! one first), command lines, log files, readiness, and the processes' lifetime.
//!
//! Every child is started as `setpriv --pdeathsig KILL -- <program>` by one spawner thread that
//! lives as long as the test process: the kernel kills the children when that thread dies, that
//! is when the test process exits, however it exits. [`Processes`] also kills them on drop.

use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::api::{self, AdminApi};
use super::pki::PkiFiles;

/// How long etcd + kube-apiserver get to become ready, per attempt.
const READY_WITHIN: Duration = Duration::from_secs(90);
/// Attempts when a picked port was taken by someone else before our process bound it.
const ATTEMPTS: u32 = 4;
/// Log lines quoted in errors.
const LOG_TAIL_LINES: usize = 40;

/// What to start, and where.
pub(super) struct Plan<'a> {
    pub(super) apiserver: &'a Path,
    pub(super) dir: &'a Path,
    pub(super) pki: &'a PkiFiles,
    /// The admin client (its port is filled in per attempt).
    pub(super) admin: AdminApi,
}

/// A control plane that answers.
pub(super) struct Ready {
    pub(super) api: AdminApi,
    pub(super) processes: Processes,
    pub(super) elapsed: Duration,
    pub(super) etcd_elapsed: Duration,
}

/// Why one attempt failed.
enum Failure {
    /// A listening port was taken (retry with new ports).
    PortTaken(String),
    Fatal(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Fatal(e.into())
    }
}

/// Start etcd, then kube-apiserver, and wait until both answer.
pub(super) fn start(plan: &Plan<'_>) -> anyhow::Result<Ready> {
    let mut attempt = 1;
    loop {
        match start_once(plan) {
            Ok(ready) => return Ok(ready),
            Err(Failure::PortTaken(what)) if attempt < ATTEMPTS => {
                eprintln!("kube control plane: {what}; retrying with other ports");
                attempt += 1;
            }
            Err(Failure::PortTaken(what)) => anyhow::bail!("{what} ({ATTEMPTS} attempts)"),
            Err(Failure::Fatal(e)) => return Err(e),
        }
    }
}

fn start_once(plan: &Plan<'_>) -> Result<Ready, Failure> {
    let started = Instant::now();
    let deadline = started + READY_WITHIN;
    let [etcd_port, peer_port, api_port] = free_ports()?;
    let etcd_data = plan.dir.join("etcd");
    if etcd_data.exists() {
        std::fs::remove_dir_all(&etcd_data)?;
    }
    let etcd_bin = etcd_bin_vendored::etcd_bin_path().map_err(|e| anyhow::anyhow!("{e}"))?;
    let etcd_args = etcd_args(&etcd_data, etcd_port, peer_port);
    let mut processes = Processes::default();
    processes.spawn("etcd", etcd_bin, &etcd_args, &plan.dir.join("etcd.log"))?;
    processes.wait_ready(deadline, || {
        if api::etcd_healthy(etcd_port) {
            Ok(())
        } else {
            Err("etcd /health is not {\"health\":\"true\"}".to_owned())
        }
    })?;
    let etcd_elapsed = started.elapsed();
    let args = apiserver_args(plan, etcd_port, api_port);
    let log = plan.dir.join("kube-apiserver.log");
    processes.spawn("kube-apiserver", plan.apiserver, &args, &log)?;
    let api = plan.admin.with_port(api_port);
    processes.wait_ready(deadline, || apiserver_ready(&api))?;
    Ok(Ready {
        api,
        processes,
        elapsed: started.elapsed(),
        etcd_elapsed,
    })
}

/// `/readyz` says `ok` to the admin, and namespace `default` exists.
fn apiserver_ready(api: &AdminApi) -> Result<(), String> {
    for path in ["/readyz", "/api/v1/namespaces/default"] {
        let reply = api
            .call("GET", path, None)
            .map_err(|e| format!("GET {path}: {e:#}"))?;
        if reply.status != 200 {
            return Err(format!(
                "GET {path}: HTTP {}: {}",
                reply.status,
                reply.body.trim()
            ));
        }
    }
    Ok(())
}

/// Three distinct ports that were free a moment ago (all bound at once, then released).
fn free_ports() -> io::Result<[u16; 3]> {
    let listeners = [(); 3].map(|()| std::net::TcpListener::bind("127.0.0.1:0"));
    let mut ports = [0; 3];
    for (port, listener) in ports.iter_mut().zip(listeners) {
        *port = listener?.local_addr()?.port();
    }
    Ok(ports)
}

fn etcd_args(data: &Path, client_port: u16, peer_port: u16) -> Vec<String> {
    let client = format!("http://127.0.0.1:{client_port}");
    let peer = format!("http://127.0.0.1:{peer_port}");
    vec![
        "--name=default".to_owned(),
        format!("--data-dir={}", data.display()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=default={peer}"),
        "--unsafe-no-fsync".to_owned(),
    ]
}

fn apiserver_args(plan: &Plan<'_>, etcd_port: u16, api_port: u16) -> Vec<String> {
    let pki = plan.pki;
    vec![
        format!("--etcd-servers=http://127.0.0.1:{etcd_port}"),
        "--bind-address=127.0.0.1".to_owned(),
        format!("--secure-port={api_port}"),
        "--advertise-address=127.0.0.1".to_owned(),
        "--endpoint-reconciler-type=none".to_owned(),
        format!("--cert-dir={}", plan.dir.join("certs").display()),
        format!("--tls-cert-file={}", pki.serving_cert.display()),
        format!("--tls-private-key-file={}", pki.serving_key.display()),
        format!("--client-ca-file={}", pki.ca_cert.display()),
        format!("--token-auth-file={}", pki.tokens.display()),
        "--authorization-mode=RBAC".to_owned(),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_owned(),
        format!("--service-account-key-file={}", pki.sa_public.display()),
        format!(
            "--service-account-signing-key-file={}",
            pki.sa_private.display()
        ),
        "--service-cluster-ip-range=10.0.0.0/24".to_owned(),
        "--allow-privileged=true".to_owned(),
        "--disable-admission-plugins=ServiceAccount".to_owned(),
    ]
}

/// A started child and its log file.
struct Daemon {
    name: &'static str,
    child: Child,
    log: std::path::PathBuf,
}

/// The children of one control plane; SIGKILLed and reaped on drop.
#[derive(Default)]
pub(super) struct Processes {
    daemons: Vec<Daemon>,
}

impl Processes {
    /// Process ids of the first two children (etcd, kube-apiserver); 0 for a missing one.
    pub(super) fn pids(&self) -> [u32; 2] {
        [0, 1].map(|i| self.daemons.get(i).map_or(0, |d| d.child.id()))
    }

    fn spawn(
        &mut self,
        name: &'static str,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> anyhow::Result<()> {
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL", "--"])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        // etcd reads every ETCD_* variable as a flag.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ETCD_") {
                cmd.env_remove(key);
            }
        }
        let child = spawn_for_life(cmd).with_context(|| {
            format!(
                "starting {name} ({}) through setpriv (util-linux, needed so the control plane \
                 dies with the test process)",
                program.display()
            )
        })?;
        self.daemons.push(Daemon {
            name,
            child,
            log: log.to_owned(),
        });
        Ok(())
    }

    /// Poll `probe` until it succeeds; fail when a child exits or at `deadline`.
    fn wait_ready(
        &mut self,
        deadline: Instant,
        mut probe: impl FnMut() -> Result<(), String>,
    ) -> Result<(), Failure> {
        loop {
            self.check_alive()?;
            let last = match probe() {
                Ok(()) => return Ok(()),
                Err(why) => why,
            };
            if Instant::now() >= deadline {
                let newest = self.daemons.last().map(|d| (d.name, log_tail(&d.log)));
                let (name, tail) = newest.unwrap_or(("control plane", String::new()));
                return Err(Failure::Fatal(anyhow::anyhow!(
                    "{name} not ready after {READY_WITHIN:?} (last probe: {last}); \
                     tail of its log:\n{tail}"
                )));
            }
            pause();
        }
    }

    /// An error naming the first child that exited (PortTaken when its log says so).
    fn check_alive(&mut self) -> Result<(), Failure> {
        for daemon in &mut self.daemons {
            if let Some(status) = daemon.child.try_wait()? {
                let tail = log_tail(&daemon.log);
                let what = format!("{} exited with {status}", daemon.name);
                if tail.contains("address already in use") {
                    return Err(Failure::PortTaken(what));
                }
                return Err(Failure::Fatal(anyhow::anyhow!(
                    "{what}; tail of {}:\n{tail}",
                    daemon.log.display()
                )));
            }
        }
        Ok(())
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for daemon in self.daemons.iter_mut().rev() {
            let _ = daemon.child.kill();
            let _ = daemon.child.wait();
        }
    }
}

/// Spawn `cmd` from the process-lifetime spawner thread (the parent whose death the children's
/// `--pdeathsig` watches).
fn spawn_for_life(cmd: Command) -> io::Result<Child> {
    type Request = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, inbox) = mpsc::channel::<Request>();
        // The sender lives in a static, so this loop (and the thread) lasts as long as the
        // process. If the thread cannot start, the inbox is dropped and sends fail below.
        let _ = std::thread::Builder::new()
            .name("kube-spawner".to_owned())
            .spawn(move || {
                for (mut cmd, reply) in inbox {
                    let _ = reply.send(cmd.spawn());
                }
            });
        requests
    });
    let gone = || io::Error::other("the kube-spawner thread is gone");
    let (reply, answer) = mpsc::channel();
    spawner.send((cmd, reply)).map_err(|_| gone())?;
    answer.recv().map_err(|_| gone())?
}

/// The last lines of a log file.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

#[allow(
    clippy::disallowed_methods,
    reason = "readiness polling in the synchronous start-up of the test fixture"
)]
fn pause() {
    std::thread::sleep(Duration::from_millis(100));
}
