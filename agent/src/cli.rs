//! Command line: `fluidos-agent [--config FILE] [--state-dir DIR] [--log-format plain|json]
//! [--log LEVEL] <run|enroll|status>`.
//!
//! Flags carry `FLUIDOS_AGENT_*` environment variables; none has a clap default when the
//! config file can set it (defaults are applied by [`Config::resolve`]). Exit codes: 0 ok,
//! 64 usage or invalid configuration (before anything is opened), 78 not enrolled or
//! certificate expired, 130 second signal, 1 other errors. anyhow lives here and in main only.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::collect::{FixedSampler, Sampler, SysinfoSampler};
use crate::config::{Config, FileConfig, Overrides};
use crate::enroll::{EnrollError, EnrollOptions, enroll};
use crate::runner::{RunError, run};
use crate::telemetry::{self, LogFormat};
use crate::{shutdown, status};

/// Exit code for bad usage or configuration (sysexits `EX_USAGE`).
pub const EX_USAGE: u8 = 64;

const ENV_CONFIG: &str = "FLUIDOS_AGENT_CONFIG";
const ENV_STATE_DIR: &str = "FLUIDOS_AGENT_STATE_DIR";
const ENV_LOG_FORMAT: &str = "FLUIDOS_AGENT_LOG_FORMAT";
const ENV_LOG: &str = "FLUIDOS_AGENT_LOG";
const ENV_HUB: &str = "FLUIDOS_AGENT_HUB";
const ENV_HEARTBEAT: &str = "FLUIDOS_AGENT_HEARTBEAT";
const ENV_SAMPLE_INTERVAL: &str = "FLUIDOS_AGENT_SAMPLE_INTERVAL";
const ENV_REQUEST_TIMEOUT: &str = "FLUIDOS_AGENT_REQUEST_TIMEOUT";
const ENV_FIXED_SAMPLE: &str = "FLUIDOS_AGENT_FIXED_SAMPLE";
const ENV_TOKEN: &str = "FLUIDOS_AGENT_TOKEN";
const ENV_NODE_NAME: &str = "FLUIDOS_AGENT_NODE_NAME";

/// FLUIDOS edge agent: samples this board and reports it to its hub over mutual TLS.
#[derive(Debug, Parser)]
#[command(name = "fluidos-agent", version)]
pub struct Args {
    /// TOML configuration file (see config/agent.example.toml).
    #[arg(long, global = true, env = ENV_CONFIG, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// State directory [default: /var/lib/fluidos-agent].
    #[arg(long, global = true, env = ENV_STATE_DIR, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Log format [default: plain].
    #[arg(long, global = true, env = ENV_LOG_FORMAT, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `fluidos_agent=debug` [default: info].
    #[arg(long, global = true, env = ENV_LOG, value_name = "LEVEL")]
    pub log: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sample and report until stopped (SIGTERM/SIGINT).
    Run(RunArgs),
    /// Enroll with a hub using a bootstrap token.
    Enroll(EnrollArgs),
    /// Show identity, certificate expiry, last sample and outbox state.
    Status(StatusArgs),
}

/// `run` flags.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Hub URL, overriding the one stored at enrollment.
    #[arg(long, env = ENV_HUB, value_name = "URL")]
    pub hub: Option<String>,
    /// Report interval when nothing changes; pins it (otherwise the hub's value is followed).
    #[arg(long, env = ENV_HEARTBEAT, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub heartbeat: Option<Duration>,
    /// Sample interval [default: 2s].
    #[arg(long, env = ENV_SAMPLE_INTERVAL, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub sample_interval: Option<Duration>,
    /// Timeout of one request to the hub [default: 10s].
    #[arg(long, env = ENV_REQUEST_TIMEOUT, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub request_timeout: Option<Duration>,
    /// Read every sample from this ResourceSample JSON file instead of measuring the board.
    /// For tests and simulations; offered values in the file are used as-is.
    #[arg(long, env = ENV_FIXED_SAMPLE, value_name = "FILE")]
    pub fixed_sample: Option<PathBuf>,
}

/// `enroll` flags.
#[derive(Debug, clap::Args)]
pub struct EnrollArgs {
    /// Hub URL, `https://HOST:PORT`.
    #[arg(long, env = ENV_HUB, value_name = "URL")]
    pub hub: Option<String>,
    /// Bootstrap token from `fluidos-hub token create` (`<id>.<secret>@sha256:<hash>`).
    #[arg(long, env = ENV_TOKEN, hide_env_values = true, value_name = "TOKEN")]
    pub token: String,
    /// Node name (DNS-1123 label) [default: derived from the host name].
    #[arg(long, env = ENV_NODE_NAME, value_name = "NAME")]
    pub node_name: Option<String>,
}

/// `status` flags.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// `status` output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned text.
    Table,
    /// JSON.
    Json,
}

impl Args {
    /// The flag/environment layer of the configuration.
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides {
            state_dir: self.state_dir.clone(),
            log_format: self.log_format,
            log: self.log.clone(),
            ..Overrides::default()
        };
        match &self.command {
            Command::Run(run) => {
                o.hub.clone_from(&run.hub);
                o.heartbeat = run.heartbeat;
                o.sample_interval = run.sample_interval;
                o.request_timeout = run.request_timeout;
            }
            Command::Enroll(enroll) => o.hub.clone_from(&enroll.hub),
            Command::Status(_) => {}
        }
        o
    }
}

/// The program: parse, validate, set up logging, dispatch.
pub fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EX_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let config = match load_config(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("fluidos-agent: {e:#}");
            return ExitCode::from(EX_USAGE);
        }
    };
    if let Err(e) = telemetry::init(&config.log, config.log_format) {
        eprintln!("fluidos-agent: {e}");
        return ExitCode::from(EX_USAGE);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Sampling is the only blocking work: one or two threads are plenty on a board.
        .max_blocking_threads(2)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("fluidos-agent: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(dispatch(args.command, config));
    // A sample may still be running on a blocking thread; do not wait for it long.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

fn load_config(args: &Args) -> anyhow::Result<Config> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    Ok(Config::resolve(&args.overrides(), file)?)
}

async fn dispatch(command: Command, config: Config) -> ExitCode {
    let result = match command {
        Command::Run(args) => run_command(args, config).await,
        Command::Enroll(args) => enroll_command(args, config).await,
        Command::Status(args) => status_command(&args, &config),
    };
    result.unwrap_or_else(|e| {
        eprintln!("fluidos-agent: {e:#}");
        ExitCode::from(exit_code(&e))
    })
}

/// 78 to re-enroll, 64 for a malformed token or node name, 1 otherwise.
fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(run) = e.downcast_ref::<RunError>() {
        return run.exit_code();
    }
    match e.downcast_ref::<EnrollError>() {
        Some(EnrollError::Token(_) | EnrollError::NodeName(_) | EnrollError::NoNodeName(_)) => {
            EX_USAGE
        }
        _ => 1,
    }
}

async fn run_command(args: RunArgs, config: Config) -> anyhow::Result<ExitCode> {
    // hub, heartbeat, sample interval and request timeout are already merged into `config`.
    let RunArgs { fixed_sample, .. } = args;
    let sampler: Box<dyn Sampler + Send> = match fixed_sample {
        Some(path) => Box::new(FixedSampler::new(path)),
        None => {
            let settings = config.sample.clone();
            Box::new(tokio::task::spawn_blocking(move || SysinfoSampler::new(settings)).await??)
        }
    };
    let shutdown = CancellationToken::new();
    shutdown::spawn_signal_handler(shutdown.clone());
    run(config, sampler, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

async fn enroll_command(args: EnrollArgs, config: Config) -> anyhow::Result<ExitCode> {
    let EnrollArgs {
        hub: _,
        token,
        node_name,
    } = args;
    let Some(hub) = config.hub else {
        eprintln!("fluidos-agent: enroll needs the hub URL: --hub https://HOST:PORT");
        return Ok(ExitCode::from(EX_USAGE));
    };
    let options = EnrollOptions {
        hub: hub.clone(),
        token,
        node_name,
        state_dir: config.state_dir,
        request_timeout: config.request_timeout,
    };
    let enrollment = enroll(options).await?;
    println!(
        "enrolled {} in domain {} with hub {hub}; certificate valid until {}",
        enrollment.node_name,
        enrollment.domain,
        crate::state::format_time(enrollment.not_after)
    );
    Ok(ExitCode::SUCCESS)
}

fn status_command(args: &StatusArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let status = status::read(&config.state_dir, OffsetDateTime::now_utc())?;
    match args.output {
        OutputFormat::Table => print!("{}", status::render_table(&status)),
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&status).context("cannot encode the status")?
        ),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    fn parse(argv: &[&str]) -> Args {
        Args::try_parse_from(argv).unwrap()
    }

    #[test]
    fn no_setting_the_file_can_provide_has_a_clap_default() {
        let args = parse(&["fluidos-agent", "run"]);
        assert_eq!(args.overrides(), Overrides::default());
    }

    #[test]
    fn subcommand_flags_reach_the_overrides() {
        let args = parse(&[
            "fluidos-agent",
            "run",
            "--heartbeat",
            "3s",
            "--hub",
            "https://h:1",
            "--state-dir",
            "/s",
        ]);
        let o = args.overrides();
        assert_eq!(o.heartbeat, Some(Duration::from_secs(3)));
        assert_eq!(o.hub.as_deref(), Some("https://h:1"));
        assert_eq!(o.state_dir, Some(PathBuf::from("/s")));
        let args = parse(&[
            "fluidos-agent",
            "enroll",
            "--hub",
            "https://h:1",
            "--token",
            "t",
        ]);
        assert_eq!(args.overrides().hub.as_deref(), Some("https://h:1"));
    }

    #[test]
    fn a_flag_beats_its_environment_variable_which_beats_the_file() {
        // PATH is always set in the test process: borrow it as --state-dir's variable
        // (setting variables is unsafe in edition 2024, and racy).
        let path = std::env::var_os("PATH").unwrap();
        let parse_with_env = |argv: &[&str]| {
            let matches = Args::command()
                .mut_arg("state_dir", |a| a.env("PATH"))
                .try_get_matches_from(argv)
                .unwrap();
            Args::from_arg_matches(&matches).unwrap()
        };
        let file = FileConfig {
            state_dir: Some("/file".into()),
            ..Default::default()
        };
        let from_env = parse_with_env(&["fluidos-agent", "status"]);
        let config = Config::resolve(&from_env.overrides(), file.clone()).unwrap();
        assert_eq!(config.state_dir, PathBuf::from(&path));
        let from_flag = parse_with_env(&["fluidos-agent", "--state-dir", "/flag", "status"]);
        let config = Config::resolve(&from_flag.overrides(), file).unwrap();
        assert_eq!(config.state_dir, PathBuf::from("/flag"));
    }

    #[test]
    fn status_output_defaults_to_a_table_and_accepts_json() {
        let Command::Status(s) = parse(&["fluidos-agent", "status"]).command else {
            panic!("not status")
        };
        assert_eq!(s.output, OutputFormat::Table);
        let Command::Status(s) = parse(&["fluidos-agent", "status", "-o", "json"]).command else {
            panic!("not status")
        };
        assert_eq!(s.output, OutputFormat::Json);
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Args::command().debug_assert();
    }
}
