//! An agent under test: a state directory, a fixed-sample file, `enroll` and `run` through the
//! real CLI, and `status -o json` to read its outbox.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use fluidos_protocol::agent::ResourceSample;

use crate::process::{Binaries, Daemon, run};

/// One agent (one simulated board).
pub struct TestAgent {
    bins: Binaries,
    /// Node name it enrolls as.
    pub node: String,
    /// State directory.
    pub state: PathBuf,
    /// The fixed-sample file its sampler reads.
    pub sample_file: PathBuf,
    daemon: Option<Daemon>,
}

impl TestAgent {
    /// A new agent in `<dir>/<node>` sampling `sample`.
    pub fn new(bins: &Binaries, dir: &Path, node: &str, sample: &ResourceSample) -> TestAgent {
        let state = dir.join(node);
        std::fs::create_dir_all(&state).expect("agent dir");
        let sample_file = dir.join(format!("{node}-sample.json"));
        crate::samples::write(&sample_file, sample);
        TestAgent {
            bins: bins.clone(),
            node: node.to_owned(),
            state,
            sample_file,
            daemon: None,
        }
    }

    fn state_arg(&self) -> String {
        self.state.to_string_lossy().into_owned()
    }

    /// `enroll --hub URL --token T --node-name NODE` (the raw output, success or not).
    pub fn enroll(&self, hub_url: &str, token: &str) -> Output {
        let state = self.state_arg();
        run(
            &self.bins.agent,
            &[
                "--state-dir",
                &state,
                "enroll",
                "--hub",
                hub_url,
                "--token",
                token,
                "--node-name",
                &self.node,
            ],
        )
    }

    /// A new agent enrolled with `hub` through a fresh single-use token (not started).
    pub fn enrolled(
        bins: &Binaries,
        dir: &Path,
        hub: &crate::hub::TestHub,
        node: &str,
        sample: &ResourceSample,
    ) -> TestAgent {
        let agent = TestAgent::new(bins, dir, node, sample);
        agent.enroll_ok(&hub.url(), &hub.token("10m", 1));
        agent
    }

    /// Enroll and require success.
    pub fn enroll_ok(&self, hub_url: &str, token: &str) {
        let out = self.enroll(hub_url, token);
        assert!(
            out.status.success(),
            "enroll of {} failed: {}\n{}",
            self.node,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Start `run` with the fixed sampler, sampling every 200 ms.
    pub fn start(&mut self) {
        let state = self.state_arg();
        let sample = self.sample_file.to_string_lossy().into_owned();
        let args = [
            "--state-dir",
            &state,
            "run",
            "--fixed-sample",
            &sample,
            "--sample-interval",
            "200ms",
        ];
        let log = self.state.with_file_name(format!("{}-log", self.node));
        self.daemon = Some(Daemon::spawn(&self.bins.agent, &args, &log));
    }

    /// Replace the sample the agent reads.
    pub fn set_sample(&self, sample: &ResourceSample) {
        crate::samples::write(&self.sample_file, sample);
    }

    /// Graceful stop; asserts a clean exit.
    pub fn stop(&mut self) {
        if let Some(d) = self.daemon.take() {
            let status = d.terminate(Duration::from_secs(20));
            assert!(
                status.success(),
                "agent {} exited with {status} on SIGTERM",
                self.node
            );
        }
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.kill9();
        }
    }

    /// Whether the agent process is still running.
    pub fn running(&mut self) -> bool {
        self.daemon.as_mut().is_some_and(|d| d.try_exit().is_none())
    }

    /// Captured stderr of the agent process.
    pub fn stderr(&self) -> String {
        self.daemon.as_ref().map(Daemon::stderr).unwrap_or_default()
    }

    /// `status -o json`.
    pub fn status(&self) -> serde_json::Value {
        let out = run(
            &self.bins.agent,
            &["--state-dir", &self.state_arg(), "status", "-o", "json"],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("agent status -o json is not JSON ({e}): {text}"))
    }
}
