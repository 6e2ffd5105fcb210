//! `fluidos-tests`: the end-to-end harness.
//!
//! Suites in `tests/tests/` start real `fluidos-hub` and `fluidos-agent` processes (the
//! `hub-e2e` / `agent-e2e` binaries of this crate run the same code as the shipped mains) on
//! 127.0.0.1, with certificates generated at test time, and talk to them over real mutual TLS.
//!
//! * [`process`]: locating the binaries, spawning and signalling children, log capture.
//! * [`hub`]: a hub in a temporary state directory, driven through its CLI.
//! * [`agent`]: an agent with a fixed-sample file, driven through its CLI.
//! * [`raw`]: a bare TLS/mTLS HTTP client for the negative tests.
//! * [`rear`]: REAR clients acting as a hub, trust configs, direct store reads.
//! * [`samples`]: fixed resource samples.

pub mod agent;
pub mod hub;
pub mod kube;
pub mod kube_mode;
pub mod kubebench;
pub mod load;
pub mod process;
pub mod raw;
pub mod rear;
pub mod rearbench;
pub mod samples;

pub use process::Binaries;

/// The binaries of this crate, resolved in the calling integration test.
#[macro_export]
macro_rules! bins {
    () => {
        $crate::Binaries {
            hub: ::std::path::PathBuf::from(env!("CARGO_BIN_EXE_hub-e2e")),
            agent: ::std::path::PathBuf::from(env!("CARGO_BIN_EXE_agent-e2e")),
        }
    };
}

/// Poll `check` every 100 ms until it returns `Some`, or fail after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: std::time::Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
