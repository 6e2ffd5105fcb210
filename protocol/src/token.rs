//! Bootstrap tokens, like kubeadm's token plus discovery hash in one string:
//! `<id>.<secret>@sha256:<hex of SHA-256 of the hub CA certificate (DER)>`.
//!
//! The `<id>.<secret>` part authenticates the agent to the hub (the hub stores only a hash of
//! the secret); the CA hash lets the agent refuse a hub whose CA does not match.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// Length of the public token id.
pub const ID_LEN: usize = 6;
/// Length of the token secret.
pub const SECRET_LEN: usize = 16;

/// A parsed bootstrap token.
#[derive(Clone, PartialEq, Eq)]
pub struct BootstrapToken {
    /// Public id (`[a-z0-9]{6}`), used to look the token up.
    pub id: String,
    /// Secret (`[a-z0-9]{16}`).
    pub secret: String,
    /// SHA-256 of the hub CA certificate, DER.
    pub ca_hash: [u8; 32],
}

impl fmt::Debug for BootstrapToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("BootstrapToken")
            .field("id", &self.id)
            .field("ca_hash", &hex::encode(self.ca_hash))
            .finish_non_exhaustive()
    }
}

/// Why a token string is not a bootstrap token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not `<id>.<secret>@sha256:<hex>`.
    #[error("token is not of the form <id>.<secret>@sha256:<64 hex digits>")]
    Shape,
    /// The id or secret has the wrong length or characters.
    #[error("token id must be {ID_LEN} and secret {SECRET_LEN} characters of [a-z0-9]")]
    Credentials,
    /// The CA hash is not 64 hex digits.
    #[error("token CA hash must be 64 hex digits")]
    CaHash,
}

impl BootstrapToken {
    /// The `<id>.<secret>` part sent to the hub.
    pub fn credentials(&self) -> String {
        format!("{}.{}", self.id, self.secret)
    }

    /// Whether `ca_der` is the CA this token pins.
    pub fn matches_ca(&self, ca_der: &[u8]) -> bool {
        ca_hash(ca_der) == self.ca_hash
    }
}

/// SHA-256 of a CA certificate (DER), as pinned by tokens.
pub fn ca_hash(ca_der: &[u8]) -> [u8; 32] {
    Sha256::digest(ca_der).into()
}

/// SHA-256 of a token secret, as the hub stores it.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Split `<id>.<secret>` into its parts, validating both.
pub fn parse_credentials(s: &str) -> Result<(&str, &str), TokenError> {
    let (id, secret) = s.split_once('.').ok_or(TokenError::Shape)?;
    let ok = |p: &str, n: usize| {
        p.len() == n
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if ok(id, ID_LEN) && ok(secret, SECRET_LEN) {
        Ok((id, secret))
    } else {
        Err(TokenError::Credentials)
    }
}

impl FromStr for BootstrapToken {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (creds, hash) = s.trim().split_once("@sha256:").ok_or(TokenError::Shape)?;
        let (id, secret) = parse_credentials(creds)?;
        let mut ca_hash = [0u8; 32];
        hex::decode_to_slice(hash, &mut ca_hash).map_err(|_| TokenError::CaHash)?;
        Ok(Self {
            id: id.to_owned(),
            secret: secret.to_owned(),
            ca_hash,
        })
    }
}

impl fmt::Display for BootstrapToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}@sha256:{}",
            self.id,
            self.secret,
            hex::encode(self.ca_hash)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_and_pins_the_ca() {
        let ca = b"a CA certificate in DER";
        let t = BootstrapToken {
            id: "abc123".into(),
            secret: "0123456789abcdef".into(),
            ca_hash: ca_hash(ca),
        };
        let s = t.to_string();
        assert!(s.starts_with("abc123.0123456789abcdef@sha256:"));
        let back: BootstrapToken = s.parse().unwrap();
        assert_eq!(back, t);
        assert!(back.matches_ca(ca));
        assert!(!back.matches_ca(b"another CA"));
        assert_eq!(back.credentials(), "abc123.0123456789abcdef");
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        let hash = "0".repeat(64);
        assert_eq!("".parse::<BootstrapToken>(), Err(TokenError::Shape));
        assert_eq!(
            format!("abc123.0123456789abcdef{hash}").parse::<BootstrapToken>(),
            Err(TokenError::Shape)
        );
        assert_eq!(
            format!("abc12.0123456789abcdef@sha256:{hash}").parse::<BootstrapToken>(),
            Err(TokenError::Credentials)
        );
        assert_eq!(
            format!("ABC123.0123456789abcdef@sha256:{hash}").parse::<BootstrapToken>(),
            Err(TokenError::Credentials)
        );
        assert_eq!(
            "abc123.0123456789abcdef@sha256:zz".parse::<BootstrapToken>(),
            Err(TokenError::CaHash)
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let t: BootstrapToken = format!("abc123.0123456789abcdef@sha256:{}", "1".repeat(64))
            .parse()
            .unwrap();
        assert!(!format!("{t:?}").contains("0123456789abcdef"));
    }
}
