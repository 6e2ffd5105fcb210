//! The edge release under emulation: the ARM agents `cross/release.sh` ships in `dist/` (taken
//! from the release tarballs, checked against `SHA256SUMS`, never a debug build) run under
//! qemu-user against an x86_64 hub on 127.0.0.1. They enroll with a token and report with the
//! real sysinfo sampler, so the Flavor's architecture is what the ARM binary sees: `arm64` for
//! aarch64, `arm` for armv7. The `.deb` packages hold the same binary, a systemd unit that
//! `systemd-analyze verify` accepts, and a default config the agent parses.
//!
//! Needs `.ci/cross-setup` (qemu-user) and `cross/release.sh` first. When `dist/` or qemu is
//! missing the tests fail and say what to run, unless `FLUIDOS_SKIP_CROSS=1` is set: then they
//! print why they were skipped and pass. `FLUIDOS_DIST` points at another dist directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use fluidos_protocol::Quantity;
use fluidos_protocol::flavor::Flavor;
use fluidos_tests::hub::TestHub;
use fluidos_tests::process::{Daemon, Scratch};
use fluidos_tests::{bins, eventually};

const HEARTBEAT: Duration = Duration::from_secs(1);
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// ELF `e_machine` values.
const EM_ARM: u16 = 40;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

/// One release target as `cross/release.sh` names it.
struct Target {
    triple: &'static str,
    deb_arch: &'static str,
    elf_machine: u16,
    /// The qemu-user emulator, or `None` to run natively.
    qemu: Option<&'static str>,
    /// Kubernetes architecture the hub must show.
    k8s_arch: &'static str,
    /// Size budget of the stripped static agent (DESIGN.md §6, issue 5), bytes; None: no budget.
    agent_budget: Option<u64>,
}

const MIB: u64 = 1024 * 1024;

const AARCH64: Target = Target {
    triple: "aarch64-unknown-linux-musl",
    deb_arch: "arm64",
    elf_machine: EM_AARCH64,
    qemu: Some("qemu-aarch64"),
    k8s_arch: "arm64",
    agent_budget: Some(7 * MIB / 2),
};
const ARMV7: Target = Target {
    triple: "armv7-unknown-linux-gnueabihf",
    deb_arch: "armhf",
    elf_machine: EM_ARM,
    qemu: Some("qemu-arm"),
    k8s_arch: "arm",
    agent_budget: Some(3 * MIB),
};
const X86_64: Target = Target {
    triple: "x86_64-unknown-linux-musl",
    deb_arch: "amd64",
    elf_machine: EM_X86_64,
    qemu: None,
    k8s_arch: "amd64",
    agent_budget: None,
};

fn dist() -> PathBuf {
    std::env::var_os("FLUIDOS_DIST").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist"),
        PathBuf::from,
    )
}

fn skipping_allowed() -> bool {
    std::env::var("FLUIDOS_SKIP_CROSS").is_ok_and(|v| v == "1")
}

/// `false` (after saying so) when a prerequisite is missing and FLUIDOS_SKIP_CROSS=1; panics
/// with what to run when it is missing otherwise.
fn prerequisite(present: bool, test: &str, what: &str, fix: &str) -> bool {
    if present {
        return true;
    }
    if skipping_allowed() {
        eprintln!("SKIPPED {test}: {what} is missing ({fix}); FLUIDOS_SKIP_CROSS=1 is set");
        return false;
    }
    panic!(
        "{test}: {what} is missing. Run `{fix}` first (CI: `.ci/cross-setup && cross/release.sh`), \
         or set FLUIDOS_SKIP_CROSS=1 to skip the cross-compiled release tests."
    );
}

/// Full path of a program on PATH.
fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// The emulator of `target` (None: native), or None from the outer Option if skipped.
fn emulator(target: &Target, test: &str) -> Option<Option<PathBuf>> {
    let Some(qemu) = target.qemu else {
        return Some(None);
    };
    let found = which(qemu);
    prerequisite(
        found.is_some(),
        test,
        &format!("{qemu} (qemu-user)"),
        ".ci/cross-setup",
    )
    .then_some(found)
}

fn run_checked(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}:\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `file` must be listed in `dist/SHA256SUMS` with its current SHA-256.
fn assert_checksum(dist: &Path, file: &str) {
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS"))
        .unwrap_or_else(|e| panic!("dist/SHA256SUMS: {e} (run cross/release.sh)"));
    let listed = sums
        .lines()
        .find_map(|l| {
            l.split_once("  ")
                .filter(|(_, name)| *name == file)
                .map(|(sum, _)| sum.to_owned())
        })
        .unwrap_or_else(|| panic!("{file} is not in dist/SHA256SUMS:\n{sums}"));
    let out = run_checked(Command::new("sha256sum").arg(dist.join(file)));
    let actual = stdout(&out)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(actual, listed, "{file} does not match dist/SHA256SUMS");
}

/// ELF machine of `path`, and whether it asks for a program interpreter (dynamic linking).
fn elf_machine_and_interp(path: &Path) -> (u16, bool) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        b.get(..4),
        Some(&b"\x7fELF"[..]),
        "{} is not an ELF file",
        path.display()
    );
    let little = b[5] == 1;
    let u16_at = |o: usize| {
        let x = [b[o], b[o + 1]];
        if little {
            u16::from_le_bytes(x)
        } else {
            u16::from_be_bytes(x)
        }
    };
    let u32_at = |o: usize| {
        let x = [b[o], b[o + 1], b[o + 2], b[o + 3]];
        if little {
            u32::from_le_bytes(x)
        } else {
            u32::from_be_bytes(x)
        }
    };
    let (phoff, phentsize, phnum) = if b[4] == 2 {
        let x: [u8; 8] = b[32..40].try_into().expect("8 bytes");
        let off = if little {
            u64::from_le_bytes(x)
        } else {
            u64::from_be_bytes(x)
        };
        (
            usize::try_from(off).expect("offset"),
            u16_at(54),
            u16_at(56),
        )
    } else {
        (u32_at(28) as usize, u16_at(42), u16_at(44))
    };
    const PT_INTERP: u32 = 3;
    let interp =
        (0..usize::from(phnum)).any(|i| u32_at(phoff + i * usize::from(phentsize)) == PT_INTERP);
    (u16_at(18), interp)
}

fn assert_static_binary_of(target: &Target, path: &Path) {
    let (machine, interp) = elf_machine_and_interp(path);
    assert_eq!(
        machine,
        target.elf_machine,
        "{} is not a {} binary",
        path.display(),
        target.triple
    );
    assert!(
        !interp,
        "{} is dynamically linked; the release must be static",
        path.display()
    );
}

/// The agent binary from the release tarball of `target`, extracted into `into`, after
/// checking the tarball against SHA256SUMS. None when skipped.
fn released_agent(target: &Target, test: &str, into: &Path) -> Option<PathBuf> {
    let dist = dist();
    let tarball = format!("fluidos-{VERSION}-{}.tar.gz", target.triple);
    if !prerequisite(
        dist.join(&tarball).is_file(),
        test,
        &format!("dist/{tarball}"),
        "cross/release.sh",
    ) {
        return None;
    }
    assert_checksum(&dist, &tarball);
    run_checked(
        Command::new("tar")
            .arg("-xzf")
            .arg(dist.join(&tarball))
            .arg("-C")
            .arg(into),
    );
    let dir = into.join(format!("fluidos-{VERSION}-{}", target.triple));
    for file in [
        "fluidos-agent",
        "config/agent.example.toml",
        "systemd/fluidos-agent.service",
    ] {
        assert!(dir.join(file).is_file(), "{tarball} has no {file}");
    }
    let agent = dir.join("fluidos-agent");
    assert_static_binary_of(target, &agent);
    Some(agent)
}

/// A command running `binary` natively or under `qemu`.
fn command(qemu: Option<&Path>, binary: &Path) -> Command {
    match qemu {
        Some(q) => {
            let mut c = Command::new(q);
            c.arg(binary);
            c
        }
        None => Command::new(binary),
    }
}

fn assert_version(qemu: Option<&Path>, binary: &Path) {
    let out = run_checked(command(qemu, binary).arg("--version"));
    assert_eq!(
        stdout(&out).trim(),
        format!("fluidos-agent {VERSION}"),
        "{}",
        binary.display()
    );
}

/// The stripped static agent stays within its size budget.
fn assert_within_budget(target: &Target, agent: &Path) {
    let Some(budget) = target.agent_budget else {
        return;
    };
    let size = std::fs::metadata(agent).expect("agent size").len();
    #[allow(clippy::cast_precision_loss, reason = "MiB for a message")]
    let mib = |b: u64| b as f64 / MIB as f64;
    assert!(
        size <= budget,
        "the {} agent is {size} bytes ({:.2} MiB), over its budget of {:.2} MiB \
         (what dominates and what to cut: cross/README.md, Measurements)",
        target.triple,
        mib(size),
        mib(budget)
    );
}

/// The hub of the same tarball (a board can run the whole node): static, and `init` works
/// under the emulator. Tarballs made with `release.sh --agent-only` have no hub.
fn released_hub_runs(target: &Target, qemu: &Path, agent: &Path, scratch: &Path) {
    let hub = agent.with_file_name("fluidos-hub");
    if !hub.is_file() {
        eprintln!(
            "NOTE: the {} tarball has no fluidos-hub (--agent-only); hub not checked",
            target.triple
        );
        return;
    }
    assert_static_binary_of(target, &hub);
    let out = run_checked(command(Some(qemu), &hub).arg("--version"));
    assert_eq!(stdout(&out).trim(), format!("fluidos-hub {VERSION}"));
    let state = scratch.join("arm-hub");
    run_checked(
        command(Some(qemu), &hub)
            .arg("--state-dir")
            .arg(&state)
            .args(["init", "--domain", "arm.test"]),
    );
    assert!(
        state.join("identity.json").is_file(),
        "the emulated hub's init wrote no identity"
    );
}

/// The Flavor the hub made from the emulated agent's real samples.
fn assert_sampled_flavor(flavor: &Flavor, target: &Target, node: &str, daemon: &Daemon) {
    let k8s = flavor
        .spec
        .flavor_type
        .k8slice()
        .expect("K8Slice")
        .expect("typed data");
    assert_eq!(
        k8s.characteristics.architecture,
        target.k8s_arch,
        "the {} agent must report architecture {}: {}",
        target.triple,
        target.k8s_arch,
        daemon.stderr()
    );
    assert!(
        flavor.spec.availability,
        "the Flavor of {node} is available"
    );
    assert!(
        k8s.characteristics.cpu > Quantity::from_milli(0),
        "sampled CPU: {:?}",
        k8s.characteristics.cpu
    );
    assert!(
        k8s.characteristics.memory > Quantity::from_int(0),
        "sampled memory: {:?}",
        k8s.characteristics.memory
    );
}

/// The released ARM agent under qemu: enroll, run with the real sampler, Flavor with its arch.
async fn arm_agent_enrolls_and_reports(target: &Target, test: &str) {
    let scratch = Scratch::new(test);
    let Some(qemu) = emulator(target, test) else {
        return;
    };
    let Some(agent) = released_agent(target, test, scratch.path()) else {
        return;
    };
    let qemu = qemu.expect("an ARM target runs under qemu");
    assert_version(Some(&qemu), &agent);
    assert_within_budget(target, &agent);
    released_hub_runs(target, &qemu, &agent, scratch.path());

    let bins = bins!();
    let mut hub = TestHub::init(&bins, scratch.path(), HEARTBEAT);
    hub.start().await;
    let node = format!("qemu-{}", target.deb_arch);
    let state = scratch.path().join(&node);
    let state_arg = state.to_string_lossy().into_owned();
    let agent_arg = agent.to_string_lossy().into_owned();
    run_checked(command(Some(&qemu), &agent).args([
        "--state-dir",
        &state_arg,
        "enroll",
        "--hub",
        &hub.url(),
        "--token",
        &hub.token("10m", 1),
        "--node-name",
        &node,
    ]));

    // No --fixed-sample: sysinfo inside the emulated binary decides the architecture.
    let args = [
        agent_arg.as_str(),
        "--state-dir",
        &state_arg,
        "run",
        "--sample-interval",
        "1s",
    ];
    let daemon = Daemon::spawn(&qemu, &args, &scratch.path().join(format!("{node}-log")));
    let flavor = eventually(
        Duration::from_secs(120),
        &format!("the Flavor of {node}"),
        || {
            let f = hub.flavor_of(&node);
            async move { f }
        },
    )
    .await;
    assert_sampled_flavor(&flavor, target, &node, &daemon);

    let status = run_checked(command(Some(&qemu), &agent).args([
        "--state-dir",
        &state_arg,
        "status",
        "-o",
        "json",
    ]));
    let status: serde_json::Value =
        serde_json::from_slice(&status.stdout).expect("status -o json is JSON");
    assert_eq!(status["enrolled"], true, "{status}");
    assert_eq!(status["nodeName"], node.as_str(), "{status}");

    let exit = daemon.terminate(Duration::from_secs(30));
    assert!(
        exit.success(),
        "the emulated agent exited with {exit} on SIGTERM"
    );
    hub.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_aarch64_agent_under_qemu_enrolls_and_reports_arm64() {
    arm_agent_enrolls_and_reports(&AARCH64, "cross-aarch64").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_armv7_agent_under_qemu_enrolls_and_reports_arm() {
    arm_agent_enrolls_and_reports(&ARMV7, "cross-armv7").await;
}

/// The agent `.deb` of `target`: contents, conffile, the binary runs, the config parses, the
/// unit verifies, and the binary is the one in the tarball.
fn agent_deb_installs_into_a_scratch_root(target: &Target, test: &str) {
    let scratch = Scratch::new(test);
    let Some(qemu) = emulator(target, test) else {
        return;
    };
    let dist = dist();
    let deb_name = format!("fluidos-agent_{VERSION}-1_{}.deb", target.deb_arch);
    let deb = dist.join(&deb_name);
    if !prerequisite(
        deb.is_file(),
        test,
        &format!("dist/{deb_name}"),
        "cross/release.sh",
    ) {
        return;
    }
    assert_checksum(&dist, &deb_name);

    let field = |name: &str| {
        stdout(&run_checked(
            Command::new("dpkg-deb").arg("--field").arg(&deb).arg(name),
        ))
    };
    assert_eq!(field("Package").trim(), "fluidos-agent");
    assert_eq!(field("Architecture").trim(), target.deb_arch);
    let contents = stdout(&run_checked(
        Command::new("dpkg-deb").arg("--contents").arg(&deb),
    ));
    for path in [
        "./usr/bin/fluidos-agent",
        "./usr/lib/systemd/system/fluidos-agent.service",
        "./etc/fluidos/agent.toml",
    ] {
        assert!(
            contents.lines().any(|l| l.ends_with(&format!(" {path}"))),
            "{deb_name} lacks {path}:\n{contents}"
        );
    }
    let conffiles = stdout(&run_checked(
        Command::new("dpkg-deb")
            .arg("--info")
            .arg(&deb)
            .arg("conffiles"),
    ));
    assert!(
        conffiles
            .lines()
            .any(|l| l.trim() == "/etc/fluidos/agent.toml"),
        "conffiles: {conffiles}"
    );

    let root = scratch.path().join("root");
    run_checked(Command::new("dpkg").arg("-x").arg(&deb).arg(&root));
    let binary = root.join("usr/bin/fluidos-agent");
    assert_static_binary_of(target, &binary);
    assert_version(qemu.as_deref(), &binary);

    // The packaged default config is one the agent accepts (unknown keys would be errors).
    let state = scratch.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let out = run_checked(
        command(qemu.as_deref(), &binary)
            .arg("--config")
            .arg(root.join("etc/fluidos/agent.toml"))
            .arg("--state-dir")
            .arg(&state)
            .args(["status", "-o", "json"]),
    );
    let status: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("status -o json is JSON");
    assert_eq!(status["enrolled"], false, "{status}");

    systemd_verify(&root, test);

    // The .deb ships the binary of the tarball, byte for byte.
    if let Some(tar_agent) = released_agent(target, test, scratch.path()) {
        let same = std::fs::read(&tar_agent).expect("tarball agent")
            == std::fs::read(&binary).expect("deb agent");
        assert!(
            same,
            "{deb_name} and the {} tarball ship different agents",
            target.triple
        );
    }
}

/// `systemd-analyze verify` of the packaged unit inside the extracted root (skipped, with a
/// note, where systemd-analyze is not installed).
fn systemd_verify(root: &Path, test: &str) {
    let Some(analyze) = which("systemd-analyze") else {
        eprintln!("NOTE {test}: systemd-analyze is not installed; the unit was not verified");
        return;
    };
    let out = Command::new(analyze)
        .arg(format!("--root={}", root.display()))
        .args([
            "verify",
            "--recursive-errors=no",
            "--man=no",
            "--generators=no",
        ])
        .arg("/usr/lib/systemd/system/fluidos-agent.service")
        .output()
        .expect("systemd-analyze runs");
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && text.trim().is_empty(),
        "systemd-analyze verify ({}):\n{text}",
        out.status
    );
}

#[test]
fn arm64_deb_installs_into_a_scratch_root_and_its_binary_runs() {
    agent_deb_installs_into_a_scratch_root(&AARCH64, "deb-arm64");
}

#[test]
fn armhf_deb_installs_into_a_scratch_root_and_its_binary_runs() {
    agent_deb_installs_into_a_scratch_root(&ARMV7, "deb-armhf");
}

#[test]
fn amd64_deb_installs_into_a_scratch_root_and_its_binary_runs() {
    agent_deb_installs_into_a_scratch_root(&X86_64, "deb-amd64");
}
