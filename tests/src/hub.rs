//! A hub under test: a state directory initialised with `fluidos-hub init`, a `run` process on
//! 127.0.0.1 (its bound addresses read from `run.json`), and the CLI for tokens, agents and
//! flavors.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fluidos_protocol::flavor::Flavor;
use serde::Deserialize;

use crate::process::{Binaries, Daemon, run, run_ok};

/// The addresses a running hub writes to `<state>/run.json`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// Agent API (TLS).
    pub agent_api: SocketAddr,
    /// Admin (plain HTTP).
    pub admin: SocketAddr,
    /// REAR gateway (HTTPS, mutual TLS).
    pub rear: SocketAddr,
}

/// A hub process and its state directory.
pub struct TestHub {
    bins: Binaries,
    /// State directory.
    pub state: PathBuf,
    /// Heartbeat interval passed to `run`.
    pub heartbeat: Duration,
    daemon: Option<Daemon>,
    /// Addresses of the current (or last) run.
    pub addrs: Option<RunInfo>,
    /// Config file passed with `--config`, if any.
    pub config: Option<PathBuf>,
    /// `--rear-listen` of the first start (default `127.0.0.1:0`).
    pub rear_listen: Option<String>,
    name: String,
}

impl TestHub {
    /// `fluidos-hub --state-dir <dir>/hub init --domain test.fluidos`.
    pub fn init(bins: &Binaries, dir: &Path, heartbeat: Duration) -> TestHub {
        Self::init_named(bins, dir, "hub", heartbeat)
    }

    /// Like [`TestHub::init`], in `<dir>/<name>` (several hubs in one scratch directory).
    pub fn init_named(bins: &Binaries, dir: &Path, name: &str, heartbeat: Duration) -> TestHub {
        let state = dir.join(name);
        let state_s = state.to_string_lossy().into_owned();
        run_ok(
            &bins.hub,
            &["--state-dir", &state_s, "init", "--domain", "test.fluidos"],
        );
        TestHub {
            bins: bins.clone(),
            state,
            heartbeat,
            daemon: None,
            addrs: None,
            config: None,
            rear_listen: None,
            name: name.to_owned(),
        }
    }

    /// A second replica of this hub: the same identity and PKI (the state files copied into
    /// `<dir>/<name>`, as a Deployment's pods get them from one Secret) and the same config.
    pub fn replica(&self, name: &str) -> TestHub {
        let state = self.state.with_file_name(name);
        std::fs::create_dir_all(&state).expect("replica state dir");
        for entry in std::fs::read_dir(&self.state).expect("state dir") {
            let entry = entry.expect("state entry");
            let file = entry.file_name();
            let keep = file.to_string_lossy();
            if entry.path().is_file() && !keep.starts_with("hub.db") && keep != "run.json" {
                std::fs::copy(entry.path(), state.join(&file)).expect("copy state file");
            }
        }
        TestHub {
            bins: self.bins.clone(),
            state,
            heartbeat: self.heartbeat,
            daemon: None,
            addrs: None,
            config: self.config.clone(),
            rear_listen: None,
            name: name.to_owned(),
        }
    }

    /// The hub's CA certificate (what peers trust).
    pub fn ca_file(&self) -> PathBuf {
        self.state.join("ca.crt")
    }

    /// The node id from `identity.json`.
    pub fn node_id(&self) -> String {
        let bytes = std::fs::read(self.state.join("identity.json")).expect("identity.json");
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("identity JSON");
        v["nodeID"].as_str().expect("nodeID").to_owned()
    }

    /// Write `toml` as this hub's config file (used from the next start on).
    pub fn set_config(&mut self, toml: &str) {
        let path = self.state.with_file_name(format!("{}.toml", self.name));
        std::fs::write(&path, toml).expect("write config");
        self.config = Some(path);
    }

    /// Run the CLI against this hub's state directory; returns (success, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let state = self.state_arg();
        let mut full: Vec<&str> = vec!["--state-dir", &state];
        let config = self
            .config
            .as_ref()
            .map(|c| c.to_string_lossy().into_owned());
        if let Some(config) = &config {
            full.extend(["--config", config]);
        }
        full.extend(args);
        let out = run(&self.bins.hub, &full);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn state_arg(&self) -> String {
        self.state.to_string_lossy().into_owned()
    }

    /// Start `run`; on the previous agent port when restarting, so agents find it again.
    pub async fn start(&mut self) -> RunInfo {
        let _ = std::fs::remove_file(self.state.join("run.json"));
        let agent_listen = self
            .addrs
            .map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.agent_api.to_string());
        let rear_listen = self.addrs.map_or_else(
            || {
                self.rear_listen
                    .clone()
                    .unwrap_or_else(|| "127.0.0.1:0".to_owned())
            },
            |a| a.rear.to_string(),
        );
        let hb = format!("{}ms", self.heartbeat.as_millis());
        let state = self.state_arg();
        let config = self
            .config
            .as_ref()
            .map(|c| c.to_string_lossy().into_owned());
        let mut args: Vec<&str> = vec!["--state-dir", &state];
        if let Some(config) = &config {
            args.extend(["--config", config]);
        }
        args.extend([
            "run",
            "--agent-listen",
            &agent_listen,
            "--admin-listen",
            "127.0.0.1:0",
            "--rear-listen",
            &rear_listen,
            "--heartbeat",
            &hb,
        ]);
        let log = self.state.with_file_name(format!("{}-log", self.name));
        let daemon = Daemon::spawn(&self.bins.hub, &args, &log);
        self.daemon = Some(daemon);
        let path = self.state.join("run.json");
        let info: RunInfo = crate::eventually(Duration::from_secs(30), "hub run.json", || {
            let found = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            async move { found }
        })
        .await;
        self.addrs = Some(info);
        info
    }

    /// `https://127.0.0.1:<agent port>`.
    pub fn url(&self) -> String {
        let addr = self.addrs.map(|a| a.agent_api).expect("hub started");
        format!("https://{addr}")
    }

    /// Mint a token with `token create`.
    pub fn token(&self, ttl: &str, uses: u32) -> String {
        let uses = uses.to_string();
        let out = run_ok(
            &self.bins.hub,
            &[
                "--state-dir",
                &self.state_arg(),
                "token",
                "create",
                "--ttl",
                ttl,
                "--uses",
                &uses,
            ],
        );
        out.trim().to_owned()
    }

    /// `agents -o json`.
    pub fn agents(&self) -> Vec<serde_json::Value> {
        let out = run_ok(
            &self.bins.hub,
            &["--state-dir", &self.state_arg(), "agents", "-o", "json"],
        );
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("agents -o json is not JSON ({e}): {out}"))
    }

    /// The `agents -o json` entry of one node.
    pub fn agent(&self, node: &str) -> Option<serde_json::Value> {
        self.agents().into_iter().find(|a| a["node"] == node)
    }

    /// `flavors -o json`.
    pub fn flavors(&self) -> Vec<Flavor> {
        let out = run_ok(
            &self.bins.hub,
            &["--state-dir", &self.state_arg(), "flavors", "-o", "json"],
        );
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("flavors -o json is not a Flavor list ({e}): {out}"))
    }

    /// The Flavor of one agent node (by its ownerReference / label).
    pub fn flavor_of(&self, node: &str) -> Option<Flavor> {
        self.flavors().into_iter().find(|f| {
            f.metadata
                .labels
                .get("fluidos.eu/agent-node")
                .map(String::as_str)
                == Some(node)
        })
    }

    /// `agents revoke NODE`; returns whether it succeeded.
    pub fn revoke(&self, node: &str) -> bool {
        run(
            &self.bins.hub,
            &["--state-dir", &self.state_arg(), "agents", "revoke", node],
        )
        .status
        .success()
    }

    /// Graceful stop (SIGTERM); asserts a clean exit.
    pub fn stop(&mut self) {
        if let Some(d) = self.daemon.take() {
            let status = d.terminate(Duration::from_secs(20));
            assert!(status.success(), "hub exited with {status} on SIGTERM");
        }
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.kill9();
        }
    }

    /// Process id of the running hub.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.as_ref().map(Daemon::pid)
    }

    /// GET a path on the admin port (plain HTTP) and return (status, body).
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        let addr = self.addrs.expect("hub started").admin;
        crate::raw::plain_get(addr, path).await
    }
}
