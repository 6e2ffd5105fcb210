//! The `fluidos-hub` command line: clap arguments, configuration layering, logging, the
//! runtime, and exit codes (0 ok, 1 runtime error, 64 usage or configuration error).
//!
//! `anyhow` is used here and in the command modules only; everything below returns typed
//! errors.

mod agents;
mod contracts;
mod crds;
#[cfg(test)]
mod fixtures;
mod flavors;
mod init;
mod peers;
mod remote;
pub(crate) mod run;
mod solve;
mod solve_report;
mod state;
mod table;
mod token;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

pub use contracts::{ContractsArgs, ContractsCommand};
pub use crds::CrdsArgs;
pub use peers::PeersArgs;
pub use solve::SolveArgs;

use crate::config::{Config, ConfigArgs, FileConfig, Profile};
use crate::telemetry::{self, LogFormat};

/// Exit status of usage and configuration errors (`EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;

/// FLUIDOS node for the edge: enrolls agents over mutual TLS, keeps one Flavor per board, and
/// buys and sells resources with other FLUIDOS nodes over REAR.
#[derive(Debug, Parser)]
#[command(name = "fluidos-hub", version, propagate_version = true)]
pub struct Args {
    /// TOML config file (see config/hub.example.toml).
    #[arg(long, global = true, env = "FLUIDOS_HUB_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// State directory [default: /var/lib/fluidos-hub; `up`: ./.fluidos/hub].
    #[arg(long, global = true, env = "FLUIDOS_HUB_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Log format [default: plain].
    #[arg(long, global = true, env = "FLUIDOS_HUB_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info,fluidos_hub=debug` [default: info].
    #[arg(long, global = true, env = "FLUIDOS_HUB_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the state directory: identity, CA, server certificate, hub.db.
    Init(InitArgs),
    /// Serve the agent API, the REAR gateway and the admin port until SIGTERM/SIGINT. With
    /// `store = "kubernetes"` in the config, the FLUIDOS objects live on the API server and the
    /// controllers run on the Lease holder (see docs/KUBERNETES.md).
    Run(ListenArgs),
    /// Manage bootstrap tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// List enrolled agents, or revoke one.
    Agents(AgentsArgs),
    /// List the Flavors in the store, or (--remote) those every REAR peer offers.
    Flavors(FlavorsArgs),
    /// Find, reserve and buy a K8Slice from a peer through the running hub, following each
    /// step; prints the Contract bought.
    Solve(SolveArgs),
    /// List the Contracts bought and sold, or terminate one this hub sold.
    Contracts(ContractsArgs),
    /// List the REAR peers (configured and KnownClusters) and the peer trust settings.
    Peers(PeersArgs),
    /// Local demo: init if needed, run the hub, enroll and run a local agent, show its Flavor.
    Up(ListenArgs),
    /// Print the FLUIDOS CustomResourceDefinitions (YAML), or write them to a directory.
    Crds(CrdsArgs),
}

/// `init` options.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// FLUIDOS domain [default: fluidos.eu].
    #[arg(long, env = "FLUIDOS_HUB_DOMAIN")]
    pub domain: Option<String>,
    /// Node id [default: 10 random characters].
    #[arg(long, value_name = "ID")]
    pub node_id: Option<String>,
    /// Extra DNS name or IP address for the server certificate (repeatable).
    #[arg(long = "san", value_name = "NAME")]
    pub sans: Vec<String>,
    /// Do nothing (successfully) when the state directory is already initialised.
    #[arg(long)]
    pub if_missing: bool,
}

/// Listener and heartbeat options of `run` and `up`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListenArgs {
    /// Agent API address [default: 0.0.0.0:7443; `up`: 127.0.0.1:7443].
    #[arg(long, env = "FLUIDOS_HUB_AGENT_LISTEN", value_name = "ADDR")]
    pub agent_listen: Option<SocketAddr>,
    /// Admin address (/healthz, /readyz, /metrics) [default: 127.0.0.1:9090].
    #[arg(long, env = "FLUIDOS_HUB_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
    /// Heartbeat interval expected from agents, e.g. `10s` [default: 10s].
    #[arg(long, env = "FLUIDOS_HUB_HEARTBEAT", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub heartbeat: Option<Duration>,
    /// REAR gateway address (HTTPS, mutual TLS) [default: 0.0.0.0:3004; `up`: 127.0.0.1:3004].
    #[arg(long, env = "FLUIDOS_HUB_REAR_LISTEN", value_name = "ADDR")]
    pub rear_listen: Option<SocketAddr>,
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a bootstrap token; prints only the token on stdout.
    Create {
        /// Validity, e.g. `1h`, `30m`.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        /// Number of enrollments it allows.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        uses: u32,
    },
}

/// `agents` options.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AgentsArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Optional action.
    #[command(subcommand)]
    pub command: Option<AgentsCommand>,
}

/// `agents` subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Revoke every certificate of NODE (effective within a second on a running hub).
    Revoke {
        /// Node name.
        node: String,
    },
}

/// `flavors` options.
#[derive(Debug, clap::Args)]
pub struct FlavorsArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Same as `-o json`.
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
    /// Ask every REAR peer ([rear].peers and KnownClusters) for its Flavors instead.
    #[arg(long)]
    pub remote: bool,
}

impl FlavorsArgs {
    /// The output format, `--json` included.
    pub fn format(&self) -> Output {
        if self.json { Output::Json } else { self.output }
    }
}

/// Output formats of the listing commands (`yaml` only for `flavors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns.
    Table,
    /// JSON array.
    Json,
    /// YAML list.
    Yaml,
}

impl Args {
    /// The flag/env layer of the configuration.
    pub fn config_args(&self) -> ConfigArgs {
        let listen = match &self.command {
            Command::Run(l) | Command::Up(l) => l.clone(),
            _ => ListenArgs::default(),
        };
        ConfigArgs {
            profile: if matches!(self.command, Command::Up(_)) {
                Profile::Up
            } else {
                Profile::Run
            },
            state_dir: self.state_dir.clone(),
            domain: match &self.command {
                Command::Init(i) => i.domain.clone(),
                _ => None,
            },
            agent_listen: listen.agent_listen,
            admin_listen: listen.admin_listen,
            rear_listen: listen.rear_listen,
            heartbeat: listen.heartbeat,
            log_format: self.log_format,
            log: self.log.clone(),
        }
    }
}

/// Run the command line; the whole of `main`.
pub fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let config = match FileConfig::load(args.config.as_deref())
        .and_then(|f| Config::resolve(&args.config_args(), f))
    {
        Ok(config) => config,
        Err(e) => {
            eprintln!("fluidos-hub: {}", telemetry::chain(&e));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(e) = telemetry::init(&config.log, config.log_format) {
        eprintln!("fluidos-hub: {}", telemetry::chain(&e));
        return ExitCode::from(EXIT_USAGE);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("fluidos-hub: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(execute(args.command, config));
    // Do not wait on a blocking task that is stuck (e.g. on a locked database) forever.
    runtime.shutdown_timeout(Duration::from_secs(2));
    result.unwrap_or_else(|e| {
        eprintln!("fluidos-hub: {e:#}");
        ExitCode::FAILURE
    })
}

async fn execute(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init(args) => init::run(&config, &args).await,
        Command::Run(_) => run::run(config).await,
        Command::Token(TokenCommand::Create { ttl, uses }) => {
            token::create(&config, ttl, uses).await
        }
        Command::Agents(args) => agents::run(&config, &args).await,
        Command::Flavors(args) if args.remote => remote::run(&config, args.format()).await,
        Command::Flavors(args) => flavors::run(&config, args.format()).await,
        Command::Solve(args) => solve::run(&config, &args).await,
        Command::Contracts(args) => contracts::run(&config, &args).await,
        Command::Peers(args) => peers::run(&config, &args).await,
        Command::Up(_) => crate::up::run(config).await,
        Command::Crds(args) => crds::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }

    #[test]
    fn global_flags_work_before_and_after_the_subcommand() {
        let a = Args::try_parse_from(["fluidos-hub", "--state-dir", "/a", "init"]).unwrap();
        let b = Args::try_parse_from(["fluidos-hub", "init", "--state-dir", "/a"]).unwrap();
        assert_eq!(a.config_args().state_dir, b.config_args().state_dir);
    }

    #[test]
    fn run_and_up_flags_reach_the_config_layer() {
        let args = Args::try_parse_from([
            "fluidos-hub",
            "run",
            "--agent-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--heartbeat",
            "1s",
        ])
        .unwrap();
        let c = args.config_args();
        assert_eq!(
            (c.heartbeat, c.profile),
            (Some(Duration::from_secs(1)), Profile::Run)
        );
        assert_eq!(c.agent_listen.map(|a| a.port()), Some(0));
        let up = Args::try_parse_from(["fluidos-hub", "up"]).unwrap();
        assert_eq!(up.config_args().profile, Profile::Up);
    }

    #[test]
    fn agents_accepts_an_output_or_a_revoke() {
        let a = Args::try_parse_from(["fluidos-hub", "agents", "-o", "json"]).unwrap();
        assert!(matches!(
            a.command,
            Command::Agents(AgentsArgs {
                output: Output::Json,
                command: None
            })
        ));
        let r = Args::try_parse_from(["fluidos-hub", "agents", "revoke", "pi-1"]).unwrap();
        assert!(matches!(
            r.command,
            Command::Agents(AgentsArgs {
                command: Some(AgentsCommand::Revoke { .. }),
                ..
            })
        ));
        assert!(Args::try_parse_from(["fluidos-hub", "token", "create", "--uses", "0"]).is_err());
    }

    #[test]
    fn rear_commands_parse() {
        let parse = |argv: &[&str]| Args::try_parse_from(argv).map(|a| a.command);
        let f = parse(&["fluidos-hub", "flavors", "--remote", "--json"]).unwrap();
        assert!(matches!(f, Command::Flavors(ref a) if a.remote && a.format() == Output::Json));
        assert!(parse(&["fluidos-hub", "flavors", "--json", "-o", "yaml"]).is_err());
        let c = parse(&["fluidos-hub", "contracts", "--json"]).unwrap();
        assert!(matches!(
            c,
            Command::Contracts(ContractsArgs {
                json: true,
                command: None
            })
        ));
        let t = parse(&["fluidos-hub", "contracts", "terminate", "contract-x"]).unwrap();
        assert!(matches!(
            t,
            Command::Contracts(ContractsArgs {
                command: Some(ContractsCommand::Terminate { ref name }),
                ..
            }) if name == "contract-x"
        ));
        assert!(matches!(
            parse(&["fluidos-hub", "peers"]).unwrap(),
            Command::Peers(PeersArgs { json: false })
        ));
        assert!(matches!(
            parse(&["fluidos-hub", "crds", "--out", "config/crds"]).unwrap(),
            Command::Crds(CrdsArgs { out: Some(ref dir) }) if dir.ends_with("crds")
        ));
        let s = parse(&[
            "fluidos-hub",
            "solve",
            "--cpu",
            "2",
            "--memory",
            "4Gi",
            "--timeout",
            "5s",
        ]);
        assert!(matches!(s, Ok(Command::Solve(ref a)) if a.timeout == Duration::from_secs(5)));
    }
}
