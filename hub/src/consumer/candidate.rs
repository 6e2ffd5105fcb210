//! Which PeeringCandidate a Solver buys, and the Reservation that buys it. Pure: the full
//! selector (regex filters included, which never travel on the wire) is re-applied locally
//! here, and this is the authoritative filter (§3.4).

use std::collections::BTreeMap;

use fluidos_protocol::configuration::Configuration;
use fluidos_protocol::discovery::PeeringCandidate;
use fluidos_protocol::discovery::{ADVERTISEMENT_API_VERSION, PEERING_CANDIDATE_KIND};
use fluidos_protocol::flavor::{Flavor, TYPE_K8SLICE};
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::node::NodeIdentity;
use fluidos_protocol::phase::GenericRef;
use fluidos_protocol::reservation::{Reservation, ReservationSpec, reservation_name};
use fluidos_protocol::selector::{Matcher, Selector};
use fluidos_protocol::service::{ServiceTypeData, TYPE_SERVICE, default_service_configuration};
use fluidos_protocol::solver::Solver;

use super::{ADDRESS_ANNOTATION, ROLE_CONSUMER, ROLE_LABEL};

/// Whether `pc` can be bought by a Solver whose compiled selector is `matcher` (`None`: no
/// selector, anything goes).
pub fn is_candidate(pc: &PeeringCandidate, matcher: Option<&Matcher>) -> bool {
    pc.spec.available && matcher.is_none_or(|m| m.matches(&pc.spec.flavor))
}

/// The candidate `solver` should buy: available, accepted by `matcher`; candidates that list
/// the solver among their interested solvers first (its own discovery found them), then by
/// name, so the choice is deterministic.
pub fn choose<'a>(
    pcs: &'a [PeeringCandidate],
    solver: &str,
    matcher: Option<&Matcher>,
) -> Option<&'a PeeringCandidate> {
    pcs.iter()
        .filter(|pc| is_candidate(pc, matcher))
        .min_by_key(|pc| {
            let interested = pc.spec.interested_solver_ids.iter().any(|s| s == solver);
            (!interested, pc.metadata.name.as_str())
        })
}

/// The configuration to reserve `flavor` with (§3.4): the K8Slice partition the selector
/// implies (none without filters: the whole flavor), or the default Service configuration of
/// the flavor's category.
///
/// # Errors
/// A message when the selector or the flavor data do not decode, or the Service category has
/// no default configuration.
pub fn configuration(
    selector: Option<&Selector>,
    flavor: &Flavor,
) -> Result<Option<Configuration>, String> {
    let flavor_type = &flavor.spec.flavor_type;
    match flavor_type.type_identifier.as_str() {
        TYPE_K8SLICE => {
            let Some(selector) = selector else {
                return Ok(None);
            };
            let data = flavor_type
                .k8slice()
                .transpose()
                .map_err(|e| format!("flavor data does not decode: {e}"))?
                .ok_or("not a K8Slice flavor")?;
            let partition = selector
                .k8slice_partition(&data.characteristics)
                .map_err(|e| format!("invalid selector: {e}"))?;
            partition
                .map(|p| Configuration::k8slice(&p).map_err(|e| e.to_string()))
                .transpose()
        }
        TYPE_SERVICE => service_configuration(flavor).map(Some),
        other => Err(format!("flavor type {other} cannot be reserved")),
    }
}

/// Upstream's default Service configuration for the flavor's category.
fn service_configuration(flavor: &Flavor) -> Result<Configuration, String> {
    let data = ServiceTypeData::from_flavor_type(&flavor.spec.flavor_type)
        .transpose()
        .map_err(|e| format!("service data does not decode: {e}"))?
        .ok_or("not a Service flavor")?;
    let defaults = default_service_configuration(&data.category).ok_or_else(|| {
        format!(
            "no default configuration for service category {:?}",
            data.category
        )
    })?;
    Ok(Configuration {
        type_identifier: TYPE_SERVICE.to_owned(),
        data: serde_json::json!({ "configurationData": defaults }),
    })
}

/// The seller of `pc`: the flavor's owner, reached at the address the flavor was discovered
/// at when known (the owner's advertised `ip` may lack the scheme we reached it with).
pub fn seller_of(pc: &PeeringCandidate) -> NodeIdentity {
    let mut seller = pc.spec.flavor.spec.owner.clone();
    if let Some(address) = pc.metadata.annotations.get(ADDRESS_ANNOTATION)
        && !address.is_empty()
    {
        seller.ip.clone_from(address);
    }
    seller
}

/// The Reservation `reservation-<solver>` that reserves (and, with `reserveAndBuy`, buys)
/// `pc` for `buyer`.
pub fn reservation_for(
    solver: &Solver,
    pc: &PeeringCandidate,
    buyer: NodeIdentity,
    configuration: Option<Configuration>,
) -> Reservation {
    let metadata = ObjectMeta {
        name: reservation_name(&solver.metadata.name),
        namespace: solver.metadata.namespace.clone(),
        labels: BTreeMap::from([(ROLE_LABEL.to_owned(), ROLE_CONSUMER.to_owned())]),
        ..ObjectMeta::default()
    };
    let spec = ReservationSpec {
        solver_id: solver.metadata.name.clone(),
        buyer,
        seller: seller_of(pc),
        configuration,
        reserve: true,
        purchase: solver.spec.reserve_and_buy,
        peering_candidate: Some(GenericRef {
            name: pc.metadata.name.clone(),
            namespace: pc.metadata.namespace.clone(),
            api_version: ADVERTISEMENT_API_VERSION.to_owned(),
            kind: PEERING_CANDIDATE_KIND.to_owned(),
        }),
        ingress_telemetry_endpoint: None,
    };
    Reservation::new(metadata, spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::fixtures::{k8s_selector, me, pc, solver};
    use fluidos_protocol::Quantity;
    use serde_json::json;

    fn regex_amd() -> Selector {
        k8s_selector(Some(json!({
            "architectureFilter": {"name": "Range", "data": {"regex": "amd"}},
            "cpuFilter": {"name": "Range", "data": {"min": "2"}}
        })))
    }

    #[test]
    fn choice_reapplies_the_full_selector_including_regex() {
        let pcs = [
            pc("a-arm", "p1", "arm64", "8", true),
            pc("b-small", "p1", "amd64", "1", true),
            pc("c-taken", "p1", "amd64", "8", false),
            pc("d-good", "p2", "amd64", "4", true),
        ];
        let matcher = Matcher::from_selector(&regex_amd()).unwrap();
        let chosen = choose(&pcs, "s1", Some(&matcher)).unwrap();
        assert_eq!(chosen.metadata.name, "peeringcandidate-d-good");
        assert!(choose(&pcs[..3], "s1", Some(&matcher)).is_none());
    }

    #[test]
    fn choice_prefers_the_solvers_own_candidates_then_names() {
        let mut pcs = vec![
            pc("a", "p1", "amd64", "4", true),
            pc("b", "p1", "amd64", "4", true),
        ];
        assert_eq!(
            choose(&pcs, "s1", None).unwrap().metadata.name,
            "peeringcandidate-a"
        );
        pcs[1].spec.interested_solver_ids = vec!["s1".into()];
        assert_eq!(
            choose(&pcs, "s1", None).unwrap().metadata.name,
            "peeringcandidate-b"
        );
    }

    #[test]
    fn k8slice_configuration_comes_from_the_selector() {
        let pc = pc("f", "p1", "amd64", "4", true);
        let flavor = &pc.spec.flavor;
        assert_eq!(configuration(None, flavor).unwrap(), None);
        assert_eq!(
            configuration(Some(&k8s_selector(None)), flavor).unwrap(),
            None,
            "absent filters: the whole flavor"
        );
        let config = configuration(Some(&regex_amd()), flavor).unwrap().unwrap();
        let part = config.k8slice_data().unwrap().unwrap();
        assert_eq!(part.cpu, Quantity::parse("2").unwrap(), "range min");
        assert_eq!(
            part.memory,
            Quantity::parse("8Gi").unwrap(),
            "no filter: whole"
        );
        assert_eq!(part.pods, Quantity::parse("110").unwrap());
    }

    #[test]
    fn service_configuration_needs_a_known_category() {
        let mut pc = pc("svc", "p1", "amd64", "4", true);
        pc.spec.flavor.spec.flavor_type.type_identifier = TYPE_SERVICE.into();
        pc.spec.flavor.spec.flavor_type.type_data = json!({"category": "database"});
        let config = configuration(None, &pc.spec.flavor).unwrap().unwrap();
        assert_eq!(config.data["configurationData"]["database"], "mydb");
        pc.spec.flavor.spec.flavor_type.type_data = json!({"category": "cache"});
        assert!(configuration(None, &pc.spec.flavor).is_err());
    }

    #[test]
    fn reservation_targets_the_owner_at_the_discovered_address() {
        let mut pc = pc("f", "p1", "amd64", "4", true);
        pc.metadata
            .annotations
            .insert(ADDRESS_ANNOTATION.into(), "http://10.0.0.9:3004".into());
        let s = solver("s1", None, [true, true, true]);
        let r = reservation_for(&s, &pc, me(), None);
        assert_eq!(r.metadata.name, "reservation-s1");
        assert_eq!(r.spec.solver_id, "s1");
        assert!(r.spec.reserve && r.spec.purchase);
        assert_eq!(r.spec.seller.node_id, "p1");
        assert_eq!(r.spec.seller.ip, "http://10.0.0.9:3004");
        assert_eq!(r.spec.buyer, me());
        let pc_ref = r.spec.peering_candidate.unwrap();
        assert_eq!(pc_ref.name, "peeringcandidate-f");
        assert_eq!(pc_ref.kind, "PeeringCandidate");
    }
}
