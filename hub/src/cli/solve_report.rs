//! What `fluidos-hub solve` prints once its Solver is Solved: the Contract bought (found
//! through `status.contract` or the consumer Reservation `reservation-<solver>`), or with
//! `--no-purchase` the PeeringCandidates the Solver picked.
//!
//! The last line of a purchase is stable (end-to-end tests read it):
//! `contract <name> from <seller nodeID> (<seller ip>): flavor <id>, cpu <q>, memory <q>, pods <q>`.

use anyhow::Context as _;
use fluidos_protocol::DEFAULT_NAMESPACE;
use fluidos_protocol::discovery::PeeringCandidate;
use fluidos_protocol::flavor::Flavor;
use fluidos_protocol::phase::GenericRef;
use fluidos_protocol::reservation::{Contract, Reservation, reservation_name};
use fluidos_protocol::solver::Solver;

use super::contracts::contract_size;
use super::solve::SolveArgs;
use crate::store::{Store, get_typed, list_typed};

/// Print the result of the Solved `solver`.
pub(super) async fn solved(
    store: &dyn Store,
    solver: &Solver,
    args: &SolveArgs,
) -> anyhow::Result<()> {
    if args.no_purchase {
        return candidates(store, &solver.metadata.name, args.json).await;
    }
    let contract = contract_of(store, solver).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&contract)?);
    } else {
        let expires = if contract.spec.expiration_time.is_empty() {
            "-"
        } else {
            &contract.spec.expiration_time
        };
        println!(
            "  expires {expires} (transaction {})",
            contract.spec.transaction_id
        );
        println!("{}", contract_line(&contract));
    }
    Ok(())
}

/// The Contract the Solver bought: `status.contract`, else the Reservation's.
async fn contract_of(store: &dyn Store, solver: &Solver) -> anyhow::Result<Contract> {
    let name = &solver.metadata.name;
    let namespace = or_default(&solver.metadata.namespace);
    let from_status = solver
        .status
        .as_ref()
        .and_then(|s| s.contract.clone())
        .filter(|r| !r.name.is_empty());
    let reference = match from_status {
        Some(r) => r,
        None => reservation_contract(store, namespace, name).await?,
    };
    get_typed::<Contract>(store, or_default(&reference.namespace), &reference.name)
        .await
        .with_context(|| format!("cannot read Contract {}", reference.name))?
        .with_context(|| format!("Contract {} of solver {name} not found", reference.name))
}

async fn reservation_contract(
    store: &dyn Store,
    namespace: &str,
    solver: &str,
) -> anyhow::Result<GenericRef> {
    let reservation = reservation_name(solver);
    get_typed::<Reservation>(store, namespace, &reservation)
        .await
        .with_context(|| format!("cannot read Reservation {reservation}"))?
        .and_then(|r| r.status)
        .and_then(|s| s.contract)
        .filter(|r| !r.name.is_empty())
        .with_context(|| format!("solver {solver} is Solved but {reservation} names no Contract"))
}

fn or_default(namespace: &str) -> &str {
    if namespace.is_empty() {
        DEFAULT_NAMESPACE
    } else {
        namespace
    }
}

/// `contract <name> from <seller> (<ip>): flavor <id>, cpu <q>, memory <q>, pods <q>`.
pub(crate) fn contract_line(contract: &Contract) -> String {
    let seller = &contract.spec.seller;
    let size = contract_size(contract)
        .or_else(|| flavor_size(&contract.spec.flavor).map(|(_, cpu, mem, pods)| (cpu, mem, pods)));
    let (cpu, memory, pods) = size.unwrap_or_else(|| ("?".into(), "?".into(), "?".into()));
    format!(
        "contract {} from {} ({}): flavor {}, cpu {cpu}, memory {memory}, pods {pods}",
        contract.metadata.name, seller.node_id, seller.ip, contract.spec.flavor.metadata.name
    )
}

/// Architecture, CPU, memory and pods of a K8Slice flavor.
pub(crate) fn flavor_size(flavor: &Flavor) -> Option<(String, String, String, String)> {
    let data = flavor.spec.flavor_type.k8slice()?.ok()?;
    let c = data.characteristics;
    Some((
        c.architecture,
        c.cpu.to_string(),
        c.memory.to_string(),
        c.pods.to_string(),
    ))
}

/// Print the PeeringCandidates `solver` is interested in.
async fn candidates(store: &dyn Store, solver: &str, json: bool) -> anyhow::Result<()> {
    let all = list_typed::<PeeringCandidate>(store, None)
        .await
        .context("cannot list PeeringCandidates")?;
    let mine: Vec<PeeringCandidate> = all
        .into_iter()
        .filter(|c| c.spec.interested_solver_ids.iter().any(|s| s == solver))
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&mine)?);
        return Ok(());
    }
    if mine.is_empty() {
        eprintln!("fluidos-hub: no PeeringCandidate names solver {solver}");
    }
    for candidate in &mine {
        println!("{}", candidate_line(candidate));
    }
    Ok(())
}

/// `candidate <flavor id> from <owner> (<ip>): arch <a>, cpu <q>, memory <q>, pods <q>`.
pub(crate) fn candidate_line(candidate: &PeeringCandidate) -> String {
    let flavor = &candidate.spec.flavor;
    let owner = &flavor.spec.owner;
    let size = flavor_size(flavor).map_or_else(
        || format!("type {}", flavor.spec.flavor_type.type_identifier),
        |(arch, cpu, memory, pods)| format!("arch {arch}, cpu {cpu}, memory {memory}, pods {pods}"),
    );
    format!(
        "candidate {} from {} ({}): {size}",
        flavor.metadata.name, owner.node_id, owner.ip
    )
}

#[cfg(test)]
mod tests {
    use fluidos_protocol::discovery::PeeringCandidateSpec;
    use fluidos_protocol::meta::ObjectMeta;

    use super::*;
    use crate::cli::fixtures::{contract, k8slice_flavor};

    #[test]
    fn the_contract_line_is_stable() {
        let c = contract("contract-a", "seller1", "buyer1", true);
        assert_eq!(
            contract_line(&c),
            "contract contract-a from seller1 (10.0.0.9:3004): flavor fluidos.eu-k8slice-0a1b, \
             cpu 2, memory 4Gi, pods 10"
        );
        let whole = contract("contract-b", "seller1", "buyer1", false);
        assert!(
            contract_line(&whole).ends_with("cpu 4, memory 8Gi, pods 110"),
            "{}",
            contract_line(&whole)
        );
    }

    #[test]
    fn candidate_lines_name_the_flavor_and_its_owner() {
        let meta = ObjectMeta {
            name: "peeringcandidate-x".into(),
            ..ObjectMeta::default()
        };
        let spec = PeeringCandidateSpec {
            interested_solver_ids: vec!["solver-1".into()],
            flavor: k8slice_flavor("seller1"),
            available: true,
        };
        assert_eq!(
            candidate_line(&PeeringCandidate::new(meta, spec)),
            "candidate fluidos.eu-k8slice-0a1b from seller1 (10.0.0.9:3004): arch arm64, \
             cpu 4, memory 8Gi, pods 110"
        );
    }
}
