//! Certificate renewal over the existing mutual-TLS connection: at about two thirds of the
//! certificate's lifetime, a new key and CSR, `POST /v1/renew`, then the key and certificate
//! are swapped atomically (state.rs) and the caller rebuilds its HTTPS client.
//!
//! The lifetime is measured from `issued_at` (when the current certificate was received,
//! stored in `enrollment.json`) to `not_after`.

use fluidos_protocol::PATH_RENEW;
use fluidos_protocol::agent::{CertificateResponse, RenewRequest};
use rustls::ClientConfig;
use time::OffsetDateTime;

use crate::enroll::{self, EnrollError};
use crate::state::{Enrollment, StateDir, StateError};
use crate::tls::{self, TlsError};
use crate::transport::{Transport, TransportError};

/// Why a renewal failed (the current certificate stays in use).
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    /// Key or CSR generation failed, or the answer is unusable.
    #[error("renewal answer or key is unusable")]
    Answer(#[source] EnrollError),
    /// The request failed.
    #[error("renewal request failed")]
    Request(#[source] TransportError),
    /// The stored CA cannot be read.
    #[error("cannot read the stored hub CA")]
    Ca(#[source] TlsError),
    /// The state directory could not be read or written.
    #[error("cannot store the renewed certificate")]
    State(#[from] StateError),
}

/// When to renew: `issued_at + 2/3 × (not_after − issued_at)`.
pub fn renew_at(issued_at: OffsetDateTime, not_after: OffsetDateTime) -> OffsetDateTime {
    let lifetime = (not_after - issued_at).max(time::Duration::ZERO);
    issued_at + lifetime * 2 / 3
}

/// Whether `enrollment`'s certificate is due for renewal at `now`.
pub fn due(enrollment: &Enrollment, now: OffsetDateTime) -> bool {
    now >= renew_at(enrollment.issued_at, enrollment.not_after)
}

/// Renew the certificate through `transport` (mutual TLS). On success the new key and
/// certificate are installed and `enrollment.json` updated; returns the new enrollment and
/// the TLS configuration to rebuild the client with.
pub async fn renew(
    state: &StateDir,
    transport: &Transport,
    current: &Enrollment,
) -> Result<(Enrollment, ClientConfig), RenewError> {
    let (key_pem, csr_pem) =
        enroll::new_key_and_csr(&current.node_name).map_err(RenewError::Answer)?;
    state.stage_key(&key_pem)?;
    let answer: CertificateResponse = match transport
        .post_json(PATH_RENEW, &RenewRequest { csr_pem })
        .await
    {
        Ok(answer) => answer,
        Err(e) => {
            state.discard_staged_key();
            return Err(RenewError::Request(e));
        }
    };
    install(state, current, &key_pem, answer).inspect_err(|_| state.discard_staged_key())
}

fn install(
    state: &StateDir,
    current: &Enrollment,
    key_pem: &str,
    answer: CertificateResponse,
) -> Result<(Enrollment, ClientConfig), RenewError> {
    let now = OffsetDateTime::now_utc();
    let stored_ca = state.read_credentials()?.ca_pem;
    let ca = tls::first_certificate(&stored_ca, "hub CA").map_err(RenewError::Ca)?;
    // Same checks as enrollment: valid name, same CA as pinned, not expired, matches the key.
    enroll::check_answer(&answer, &ca, key_pem, now).map_err(RenewError::Answer)?;
    let config = tls::mtls_config(
        &stored_ca,
        answer.certificate_pem.as_bytes(),
        key_pem.as_bytes(),
    )
    .map_err(RenewError::Ca)?;
    state.commit_credentials(&answer.certificate_pem)?;
    let enrollment = Enrollment {
        heartbeat_seconds: answer.heartbeat_seconds,
        issued_at: now,
        not_after: answer.not_after,
        ..current.clone()
    };
    state.write_enrollment(&enrollment)?;
    Ok((enrollment, config))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn renewal_is_due_at_two_thirds_of_the_lifetime() {
        let issued = datetime!(2025-01-01 00:00 UTC);
        let not_after = datetime!(2025-01-04 00:00 UTC);
        assert_eq!(renew_at(issued, not_after), datetime!(2025-01-03 00:00 UTC));
        assert_eq!(
            renew_at(not_after, issued),
            not_after,
            "a negative lifetime renews at once"
        );
    }
}
