//! Names and labels of the objects a contract's peering owns: the contract namespace (a
//! DNS-1123 label derived from the contract name) and label values. Pure; a name that has to
//! be rewritten to fit gets a hash of the original, so distinct contracts never share a
//! namespace.

use sha2::{Digest, Sha256};

/// Name of the ServiceAccount (and of its RoleBinding) in each contract namespace.
pub const PEER_SERVICE_ACCOUNT: &str = "fluidos-peer";
/// Label key marking what manages an object.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Our value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "fluidos-hub";
/// Label (value: the contract name made label-safe) and annotation (value: the exact
/// contract name) on every object of a contract.
pub const CONTRACT_KEY: &str = "fluidos.eu/contract";

/// Longest DNS-1123 label, and longest label value.
const MAX_LABEL: usize = 63;
/// Hex digits of SHA-256 appended to a rewritten name.
const HASH_DIGITS: usize = 10;

/// The namespace of contract `contract`: `<prefix><contract>` when that is a DNS-1123 label,
/// else lowercased, other characters → `-`, truncated, with `-<hash of prefix+contract>`.
pub fn contract_namespace(prefix: &str, contract: &str) -> String {
    fit(&format!("{prefix}{contract}"), is_dns_label, |c| {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() { c } else { '-' }
    })
}

/// `value` as a label value: unchanged when valid, else rewritten like
/// [`contract_namespace`] (characters outside `[A-Za-z0-9._-]` → `-`).
pub fn label_value(value: &str) -> String {
    fit(value, is_label_value, |c| {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
            c
        } else {
            '-'
        }
    })
}

/// `wanted` if `valid`, else its characters mapped by `map` (which must map to ASCII),
/// trimmed to alphanumeric ends, truncated, and suffixed with a hash of `wanted`.
fn fit(wanted: &str, valid: fn(&str) -> bool, map: impl Fn(char) -> char) -> String {
    if valid(wanted) {
        return wanted.to_owned();
    }
    let hash = short_hash(wanted);
    let mapped: String = wanted.chars().map(map).collect();
    let room = MAX_LABEL - HASH_DIGITS - 1;
    let head: String = mapped.chars().take(room).collect();
    let head = head.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if head.is_empty() {
        hash
    } else {
        format!("{head}-{hash}")
    }
}

/// The first [`HASH_DIGITS`] hex digits of SHA-256 of `s`.
fn short_hash(s: &str) -> String {
    let mut hex = hex::encode(Sha256::digest(s.as_bytes()));
    hex.truncate(HASH_DIGITS);
    hex
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_dns_label(s: &str) -> bool {
    let inner = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    let end = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    bounded(s, inner, end) && !s.is_empty()
}

/// `(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?`, at most 63 characters.
pub fn is_label_value(s: &str) -> bool {
    let inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    bounded(s, inner, |c: char| c.is_ascii_alphanumeric())
}

/// At most 63 characters, all `inner`, first and last `end` (true when empty).
fn bounded(s: &str, inner: impl Fn(char) -> bool, end: impl Fn(char) -> bool) -> bool {
    s.len() <= MAX_LABEL
        && s.chars().all(inner)
        && s.chars().next().is_none_or(&end)
        && s.chars().last().is_none_or(&end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "fluidos-peer-";

    #[test]
    fn valid_names_are_kept_verbatim() {
        let ns = contract_namespace(PREFIX, "contract-fluidos-eu-k8slice-9b1c-3a4b5c6d");
        assert_eq!(ns, "fluidos-peer-contract-fluidos-eu-k8slice-9b1c-3a4b5c6d");
        assert_eq!(label_value("contract-a.b_c"), "contract-a.b_c");
    }

    #[test]
    fn long_names_are_truncated_hashed_and_distinct() {
        let a = format!("contract-{}-aaaa", "x".repeat(80));
        let b = format!("contract-{}-bbbb", "x".repeat(80));
        let (na, nb) = (
            contract_namespace(PREFIX, &a),
            contract_namespace(PREFIX, &b),
        );
        assert_ne!(na, nb);
        for n in [&na, &nb] {
            assert!(is_dns_label(n), "{n}");
            assert_eq!(n.len(), 63);
            assert!(n.starts_with("fluidos-peer-contract-xxx"));
        }
        assert_eq!(na, contract_namespace(PREFIX, &a), "deterministic");
        let (la, lb) = (label_value(&a), label_value(&b));
        assert_ne!(la, lb);
        assert!(is_label_value(&la) && is_label_value(&lb));
    }

    #[test]
    fn rewritten_names_do_not_collide_with_their_look_alikes() {
        let dotted = contract_namespace(PREFIX, "contract-a.b");
        let dashed = contract_namespace(PREFIX, "contract-a-b");
        let upper = contract_namespace(PREFIX, "Contract-A-B");
        assert_eq!(dashed, "fluidos-peer-contract-a-b");
        assert!(is_dns_label(&dotted) && is_dns_label(&upper));
        assert!(dotted.starts_with("fluidos-peer-contract-a-b-"));
        assert!(upper.starts_with("fluidos-peer-contract-a-b-"));
        assert_ne!(dotted, dashed);
        assert_ne!(upper, dashed);
        assert_ne!(upper, dotted);
    }

    #[test]
    fn hostile_names_still_give_valid_labels() {
        for name in ["", "---", "ÄÖÜ", "a/b/../c", "-x-", &"é".repeat(100)] {
            let ns = contract_namespace(PREFIX, name);
            assert!(is_dns_label(&ns), "{name:?} → {ns:?}");
            let ns = contract_namespace("", name);
            assert!(is_dns_label(&ns), "no prefix: {name:?} → {ns:?}");
            let value = label_value(name);
            assert!(is_label_value(&value), "{name:?} → {value:?}");
        }
        assert_eq!(label_value(""), "", "empty is a valid label value");
    }

    #[test]
    fn validators_match_the_kubernetes_grammar() {
        assert!(is_dns_label("a") && is_dns_label("0-a") && is_dns_label(&"a".repeat(63)));
        assert!(!is_dns_label("") && !is_dns_label("-a") && !is_dns_label("a-"));
        assert!(!is_dns_label("A") && !is_dns_label("a.b") && !is_dns_label(&"a".repeat(64)));
        assert!(is_label_value("") && is_label_value("A.b_c-D"));
        assert!(!is_label_value("_a") && !is_label_value("a.") && !is_label_value("a/b"));
    }
}
