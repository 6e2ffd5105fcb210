//! `fluidos-hub contracts`: list the Contracts in the store (bought and sold), or terminate one
//! this hub sold (`contracts terminate NAME`: status phase `Inactive`; the running provider
//! releases the capacity when it sees it).

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use fluidos_protocol::phase::{Phase, PhaseStatus};
use fluidos_protocol::reservation::{Contract, ContractStatus};
use serde::Serialize;
use time::OffsetDateTime;

use super::table::{self, rfc3339};
use crate::config::Config;
use crate::store::{Store, StoreError, list_typed, update_status_typed};

/// Status message of a Contract terminated with `contracts terminate`.
pub(crate) const TERMINATED_MESSAGE: &str = "Terminated by the operator";

/// `contracts` options.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ContractsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Optional action.
    #[command(subcommand)]
    pub command: Option<ContractsCommand>,
}

/// `contracts` subcommands.
#[derive(Debug, Subcommand)]
pub enum ContractsCommand {
    /// End a Contract this hub sold (status Inactive); the provider releases its capacity.
    Terminate {
        /// Contract name.
        name: String,
    },
}

/// One Contract as listed (`--json` keys are part of the CLI contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContractView {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `sold` (we are the seller) or `bought`.
    pub role: &'static str,
    /// The other party's node id.
    pub peer: String,
    /// Flavor id.
    pub flavor: String,
    /// CPU bought, or `whole`.
    pub cpu: String,
    /// Memory bought, or `whole`.
    pub memory: String,
    /// Pods bought, or `whole`.
    pub pods: String,
    /// Status phase (`Active` when unset).
    pub status: String,
    /// Expiration (RFC 3339) or `-`.
    pub expires: String,
    /// The transaction the purchase closed.
    #[serde(rename = "transactionID")]
    pub transaction_id: String,
}

/// CPU, memory and pods of the partition bought; `None` for the whole flavor (or a
/// configuration that is not a K8Slice one).
pub(crate) fn contract_size(contract: &Contract) -> Option<(String, String, String)> {
    let data = contract.spec.configuration.as_ref()?.k8slice_data()?.ok()?;
    Some((
        data.cpu.to_string(),
        data.memory.to_string(),
        data.pods.to_string(),
    ))
}

/// Whether we (`my_node_id`) sold `contract`.
fn sold(contract: &Contract, my_node_id: &str) -> bool {
    contract.spec.seller.node_id == my_node_id
}

/// The listed view of `contract`.
pub(crate) fn view(contract: &Contract, my_node_id: &str) -> ContractView {
    let sold = sold(contract, my_node_id);
    let whole = || ("whole".to_owned(), "whole".to_owned(), "whole".to_owned());
    let (cpu, memory, pods) = contract_size(contract).unwrap_or_else(whole);
    let phase = contract
        .status
        .as_ref()
        .map_or(Phase::Empty, |s| s.phase.phase);
    let spec = &contract.spec;
    ContractView {
        name: contract.metadata.name.clone(),
        namespace: contract.metadata.namespace.clone(),
        role: if sold { "sold" } else { "bought" },
        peer: if sold { &spec.buyer } else { &spec.seller }
            .node_id
            .clone(),
        flavor: spec.flavor.metadata.name.clone(),
        cpu,
        memory,
        pods,
        status: match phase {
            Phase::Empty => Phase::Active.to_string(),
            p => p.to_string(),
        },
        expires: if spec.expiration_time.is_empty() {
            "-".to_owned()
        } else {
            spec.expiration_time.clone()
        },
        transaction_id: spec.transaction_id.clone(),
    }
}

/// Run `contracts` / `contracts terminate`.
pub(super) async fn run(config: &Config, args: &ContractsArgs) -> anyhow::Result<ExitCode> {
    let me = super::state::identity(&config.state_dir)?;
    if let Some(ContractsCommand::Terminate { name }) = &args.command {
        let store = super::state::open_read_write(config).await?;
        terminate(&*store, name, &me.node_id).await?;
        if super::state::running_hub(&config.state_dir).is_none() {
            eprintln!("the hub is not running: it releases the capacity when it starts");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let store = super::state::open_read_only(config).await?;
    let contracts = list_typed::<Contract>(&*store, None)
        .await
        .context("cannot list Contracts")?;
    let views: Vec<ContractView> = contracts.iter().map(|c| view(c, &me.node_id)).collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&views)?);
    } else {
        print!("{}", render(&views));
    }
    Ok(ExitCode::SUCCESS)
}

/// Mark the Contract `name` (which we sold) Inactive, retrying on concurrent updates.
async fn terminate(store: &dyn Store, name: &str, my_node_id: &str) -> anyhow::Result<()> {
    for _ in 0..5 {
        let contract = find(store, name).await?;
        anyhow::ensure!(
            sold(&contract, my_node_id),
            "contract {name} was bought from {}, not sold by this hub: only its seller can \
             terminate it",
            contract.spec.seller.node_id
        );
        let Some(inactive) = terminated(&contract, OffsetDateTime::now_utc()) else {
            eprintln!("contract {name} is already Inactive");
            return Ok(());
        };
        match update_status_typed(store, &inactive).await {
            Ok(_) => {
                eprintln!(
                    "terminated contract {name} (buyer {})",
                    contract.spec.buyer.node_id
                );
                return Ok(());
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot terminate {name}")),
        }
    }
    anyhow::bail!("contract {name} keeps changing; try again")
}

/// The one Contract named `name`, in any namespace.
async fn find(store: &dyn Store, name: &str) -> anyhow::Result<Contract> {
    let mut matching: Vec<Contract> = list_typed::<Contract>(store, None)
        .await
        .context("cannot list Contracts")?
        .into_iter()
        .filter(|c| c.metadata.name == name)
        .collect();
    match matching.len() {
        0 => anyhow::bail!("no contract named {name:?}"),
        1 => Ok(matching.remove(0)),
        n => anyhow::bail!("{n} contracts are named {name:?} (in different namespaces)"),
    }
}

/// `contract` with status Inactive ("Terminated by the operator"), or `None` if it already is.
pub(crate) fn terminated(contract: &Contract, now: OffsetDateTime) -> Option<Contract> {
    let old = contract.status.clone().unwrap_or_default();
    if old.phase.phase == Phase::Inactive {
        return None;
    }
    let now = rfc3339(now);
    let mut out = contract.clone();
    out.status = Some(ContractStatus {
        phase: PhaseStatus {
            phase: Phase::Inactive,
            message: TERMINATED_MESSAGE.to_owned(),
            last_change_time: now.clone(),
            end_time: now,
            ..old.phase
        },
    });
    Some(out)
}

fn render(views: &[ContractView]) -> String {
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|v| {
            vec![
                v.name.clone(),
                v.role.to_owned(),
                v.peer.clone(),
                v.flavor.clone(),
                v.cpu.clone(),
                v.memory.clone(),
                v.pods.clone(),
                v.status.clone(),
                v.expires.clone(),
            ]
        })
        .collect();
    let headers = [
        "NAME", "ROLE", "PEER", "FLAVOR", "CPU", "MEMORY", "PODS", "STATUS", "EXPIRES",
    ];
    table::render(&headers, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::fixtures::contract;

    #[test]
    fn views_tell_sold_from_bought() {
        let sold = view(&contract("c-1", "me", "them", true), "me");
        assert_eq!((sold.role, sold.peer.as_str()), ("sold", "them"));
        assert_eq!((sold.cpu.as_str(), sold.pods.as_str()), ("2", "10"));
        assert_eq!(sold.status, "Active");
        let bought = view(&contract("c-2", "them", "me", false), "me");
        assert_eq!((bought.role, bought.peer.as_str()), ("bought", "them"));
        assert_eq!(bought.memory, "whole");
        let v = serde_json::to_value(&bought).unwrap();
        assert_eq!(v["transactionID"], "tx-1");
        assert_eq!(v["expires"], "2030-01-01T00:00:00Z");
    }

    #[test]
    fn the_table_has_the_documented_columns() {
        let out = render(&[view(&contract("c-1", "me", "them", true), "me")]);
        let mut lines = out.lines();
        let header: Vec<_> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            [
                "NAME", "ROLE", "PEER", "FLAVOR", "CPU", "MEMORY", "PODS", "STATUS", "EXPIRES"
            ]
        );
        let row: Vec<_> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(row[..3], ["c-1", "sold", "them"]);
        assert_eq!(row[7], "Active");
    }

    #[test]
    fn terminating_sets_inactive_once() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let c = terminated(&contract("c-1", "me", "them", true), now).unwrap();
        let phase = &c.status.as_ref().unwrap().phase;
        assert_eq!(phase.phase, Phase::Inactive);
        assert_eq!(phase.message, TERMINATED_MESSAGE);
        assert_eq!(phase.end_time, "1970-01-01T00:00:00Z");
        assert!(terminated(&c, now).is_none());
        assert_eq!(view(&c, "me").status, "Inactive");
    }
}
