//! Pure reading of Prometheus text: the API server's own count of mutating requests
//! (`apiserver_request_total`, split into the FLUIDOS groups, Leases and everything) and the
//! hub's counters (`fluidos_hub_*`). No IO.

use std::collections::BTreeMap;

/// The request counter of kube-apiserver.
const REQUEST_TOTAL: &str = "apiserver_request_total";
/// Verbs that change state (`APPLY` is server-side apply).
const MUTATING_VERBS: [&str; 6] = [
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "DELETECOLLECTION",
    "APPLY",
];
/// Every FLUIDOS API group ends with this.
const FLUIDOS_GROUP_SUFFIX: &str = ".fluidos.eu";

/// Mutating requests the API server counted (cumulative, or a difference of two scrapes).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct WriteCounts {
    /// To the FLUIDOS groups.
    pub(crate) fluidos: f64,
    /// To `coordination.k8s.io` Leases (leader election, apiserver identity).
    pub(crate) leases: f64,
    /// All mutating requests, any resource, any client (the apiserver's own included).
    pub(crate) all: f64,
    /// FLUIDOS requests by `VERB resource[/subresource] CODE`.
    pub(crate) fluidos_by_request: BTreeMap<String, f64>,
    /// Not a write, for context: LIST requests to the FLUIDOS groups.
    pub(crate) fluidos_lists: f64,
}

impl WriteCounts {
    /// What was counted between `earlier` and `self`.
    pub(crate) fn since(&self, earlier: &WriteCounts) -> WriteCounts {
        let by_request = self
            .fluidos_by_request
            .iter()
            .map(|(k, v)| {
                let before = earlier.fluidos_by_request.get(k).copied().unwrap_or(0.0);
                (k.clone(), v - before)
            })
            .filter(|(_, v)| *v > 0.0)
            .collect();
        WriteCounts {
            fluidos: self.fluidos - earlier.fluidos,
            leases: self.leases - earlier.leases,
            all: self.all - earlier.all,
            fluidos_by_request: by_request,
            fluidos_lists: self.fluidos_lists - earlier.fluidos_lists,
        }
    }
}

/// The hub's counters that matter here, from its `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct HubCounters {
    /// `fluidos_hub_store_writes_total`.
    pub(crate) store_writes: f64,
    /// `fluidos_hub_reports_received_total`.
    pub(crate) reports: f64,
    /// `fluidos_hub_reports_rejected_total`, all reasons.
    pub(crate) rejected: f64,
    /// `fluidos_hub_agents_live`.
    pub(crate) agents_live: f64,
}

/// The hub's counters in a scrape of its `/metrics`.
pub(crate) fn hub_counters(text: &str) -> HubCounters {
    HubCounters {
        store_writes: metric_sum(text, "fluidos_hub_store_writes_total"),
        reports: metric_sum(text, "fluidos_hub_reports_received_total"),
        rejected: metric_sum(text, "fluidos_hub_reports_rejected_total"),
        agents_live: metric_sum(text, "fluidos_hub_agents_live"),
    }
}

/// The mutating requests counted in a scrape of kube-apiserver's `/metrics`.
pub(crate) fn request_writes(text: &str) -> WriteCounts {
    let mut counts = WriteCounts::default();
    for (name, labels, value) in text.lines().filter_map(sample) {
        if name != REQUEST_TOTAL {
            continue;
        }
        let label = |key: &str| {
            labels
                .iter()
                .find(|(k, _)| *k == key)
                .map_or("", |(_, v)| v.as_str())
        };
        let (verb, group, resource) = (label("verb"), label("group"), label("resource"));
        if verb == "LIST" && group.ends_with(FLUIDOS_GROUP_SUFFIX) {
            counts.fluidos_lists += value;
        }
        if !MUTATING_VERBS.contains(&verb) {
            continue;
        }
        counts.all += value;
        if group == "coordination.k8s.io" && resource == "leases" {
            counts.leases += value;
        }
        if group.ends_with(FLUIDOS_GROUP_SUFFIX) {
            counts.fluidos += value;
            let (subresource, code) = (label("subresource"), label("code"));
            let key = if subresource.is_empty() {
                format!("{verb} {resource} {code}")
            } else {
                format!("{verb} {resource}/{subresource} {code}")
            };
            *counts.fluidos_by_request.entry(key).or_default() += value;
        }
    }
    counts
}

/// The sum of every series of metric `name` (with or without labels).
pub(crate) fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter_map(sample)
        .filter(|(n, _, _)| *n == name)
        .map(|(_, _, v)| v)
        .sum()
}

/// A sample line's labels: name and (unescaped) value.
type Labels<'a> = Vec<(&'a str, String)>;

/// One sample line: name, labels, value. `None` for comments, blanks and malformed lines.
fn sample(line: &str) -> Option<(&str, Labels<'_>, f64)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let (labels, rest) = if line[name_end..].starts_with('{') {
        labels(&line[name_end + 1..])?
    } else {
        (Vec::new(), &line[name_end..])
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some((name, labels, value))
}

/// `key="value",...}` → the pairs (escapes resolved) and what follows the `}`.
fn labels(mut text: &str) -> Option<(Labels<'_>, &str)> {
    let mut pairs = Vec::new();
    loop {
        text = text.trim_start_matches([',', ' ']);
        if let Some(rest) = text.strip_prefix('}') {
            return Some((pairs, rest));
        }
        let eq = text.find('=')?;
        let key = text[..eq].trim();
        let mut chars = text[eq + 1..].strip_prefix('"')?.char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        pairs.push((key, value));
        text = &text[eq + 2 + end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APISERVER: &str = r#"# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="nodecore.fluidos.eu",resource="flavors",scope="resource",subresource="",verb="POST",version="v1alpha1"} 10000
apiserver_request_total{code="200",component="apiserver",dry_run="",group="nodecore.fluidos.eu",resource="flavors",scope="resource",subresource="",verb="PUT",version="v1alpha1"} 3
apiserver_request_total{code="200",component="apiserver",dry_run="",group="reservation.fluidos.eu",resource="contracts",scope="resource",subresource="status",verb="PUT",version="v1alpha1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="nodecore.fluidos.eu",resource="flavors",scope="namespace",subresource="",verb="LIST",version="v1alpha1"} 7
apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 40
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 5
apiserver_request_total{code="0",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="WATCH",version="v1"} 9
apiserver_request_duration_seconds_count{verb="POST"} 99
"#;

    #[test]
    fn counts_mutating_requests_by_group() {
        let counts = request_writes(APISERVER);
        assert_eq!(counts.fluidos, 10_005.0);
        assert_eq!(counts.leases, 40.0);
        assert_eq!(counts.all, 10_050.0, "LIST and WATCH are not writes");
        assert_eq!(counts.fluidos_lists, 7.0);
        assert_eq!(counts.fluidos_by_request["POST flavors 201"], 10_000.0);
        assert_eq!(counts.fluidos_by_request["PUT contracts/status 200"], 2.0);
        assert_eq!(counts.fluidos_by_request.len(), 3);
    }

    #[test]
    fn differences_keep_only_what_moved() {
        let before = request_writes(APISERVER);
        let later = APISERVER.replace(
            "verb=\"PUT\",version=\"v1alpha1\"} 3",
            "verb=\"PUT\",version=\"v1alpha1\"} 8",
        );
        let delta = request_writes(&later).since(&before);
        assert_eq!(delta.fluidos, 5.0);
        assert_eq!(delta.all, 5.0);
        assert_eq!(delta.leases, 0.0);
        assert_eq!(delta.fluidos_by_request.len(), 1);
        assert_eq!(delta.fluidos_by_request["PUT flavors 200"], 5.0);
    }

    #[test]
    fn hub_counters_sum_labelled_series() {
        let text = "# TYPE fluidos_hub_store_writes_total counter\nfluidos_hub_store_writes_total 12\n\
                    fluidos_hub_reports_received_total 300\n\
                    fluidos_hub_reports_rejected_total{reason=\"stale\"} 2\n\
                    fluidos_hub_reports_rejected_total{reason=\"a \\\"quoted\\\" one\"} 1\n\
                    fluidos_hub_agents_live 10\nfluidos_hub_agents_lost 0\n";
        let hub = hub_counters(text);
        assert_eq!(hub.store_writes, 12.0);
        assert_eq!(hub.reports, 300.0);
        assert_eq!(hub.rejected, 3.0, "escaped quotes inside a label value");
        assert_eq!(hub.agents_live, 10.0);
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert_eq!(sample("apiserver_request_total{verb=\"POST\" 1"), None);
        assert_eq!(sample("no_value"), None);
        assert_eq!(metric_sum("x 1\nx{a=\"b\"} 2\nxy 5\n", "x"), 3.0);
    }
}
