//! Child processes of the end-to-end tests: where the binaries are, how they are started
//! (stdout/stderr captured to files in the test's directory), and how they are stopped
//! (SIGTERM for a graceful stop, SIGKILL for a crash).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Paths of the hub and agent executables under test.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `fluidos-hub`.
    pub hub: PathBuf,
    /// `fluidos-agent`.
    pub agent: PathBuf,
}

/// A long-running child whose output goes to `<log>.out` / `<log>.err`.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// Base path of the log files.
    pub log: PathBuf,
}

impl Daemon {
    /// Start `program args…`, logging to `log.out`/`log.err` (appending across restarts).
    pub fn spawn(program: &Path, args: &[&str], log: &Path) -> Daemon {
        let open = |ext: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log.with_extension(ext))
                .expect("log file in the test dir")
        };
        let child = Command::new(program)
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(open("out")))
            .stderr(Stdio::from(open("err")))
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", program.display()));
        Daemon {
            child,
            log: log.to_owned(),
        }
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited (and with what).
    pub fn try_exit(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM, then wait up to `grace` for the exit; SIGKILL after that. Returns the status.
    pub fn terminate(mut self, grace: Duration) -> std::process::ExitStatus {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits i32"));
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.try_exit() {
                return status;
            }
            std::thread::yield_now();
            wait_a_bit();
        }
        let _ = self.child.kill();
        self.child.wait().expect("wait after SIGKILL")
    }

    /// SIGKILL (`kill -9`) and reap.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The captured stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "a blocking poll in a synchronous drop/terminate path of the harness"
)]
fn wait_a_bit() {
    std::thread::sleep(Duration::from_millis(20));
}

/// Run a short command to completion and return its output.
pub fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()))
}

/// Run a short command that must succeed; returns stdout.
pub fn run_ok(program: &Path, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{} {args:?} failed with {}:\nstdout: {}\nstderr: {}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A scratch directory for one test, kept (and its path printed) if the test panics.
pub struct Scratch {
    dir: Option<tempfile::TempDir>,
}

impl Scratch {
    /// A new scratch directory.
    pub fn new(name: &str) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix(&format!("fluidos-e2e-{name}-"))
            .tempdir()
            .expect("temp dir");
        Scratch { dir: Some(dir) }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new("/nonexistent"), |d| d.path())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            let kept = dir.keep();
            eprintln!("test failed: logs and state kept in {}", kept.display());
        }
    }
}

/// Create (truncate) a file with `contents`.
pub fn write_file(path: &Path, contents: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).expect("write temp file");
    std::fs::rename(&tmp, path).expect("rename temp file");
    let _ = File::open(path);
}
