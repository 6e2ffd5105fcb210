//! `fluidos-agent`: samples an edge board and reports it to its FLUIDOS hub over mutual TLS,
//! through a durable SQLite outbox (docs/ARCHITECTURE.md is the contract with the hub).
//!
//! Component map:
//!
//! * [`cli`]: clap arguments, exit codes, the `run` / `enroll` / `status` commands.
//! * [`config`]: TOML file + flags + environment → validated [`Config`] (pure `resolve`).
//! * [`collect`]: [`Sampler`] trait, [`SysinfoSampler`] (the only sysinfo user),
//!   [`FixedSampler`], GPU detection in `collect::gpu`.
//! * [`change`]: pure "is this sample worth a report" thresholds.
//! * [`outbox`]: SQLite outbox (sync core + async handle on its own thread).
//! * [`report`]: upload loop (batches, acks, backoff, renewal trigger).
//! * [`backoff`]: exponential backoff with full jitter.
//! * [`mod@enroll`] / [`renew`]: certificate enrollment and renewal.
//! * [`tls`]: rustls client configurations; [`transport`]: the hyper HTTPS client.
//! * [`state`]: state directory files (0600 key, atomic writes, `enrollment.json`).
//! * [`runner`]: the `run` wiring and ordered shutdown; [`shutdown`]: signals.
//! * [`status`]: the `status` report; [`telemetry`]: tracing setup.
//!
//! For in-process tests: [`enroll()`] with [`EnrollOptions`], then [`run()`] with a [`Config`]
//! (from [`Config::resolve`]), any [`Sampler`] and a `CancellationToken`.

pub mod backoff;
pub mod change;
pub mod cli;
pub mod collect;
pub mod config;
pub mod enroll;
pub mod outbox;
pub mod renew;
pub mod report;
pub mod runner;
pub mod shutdown;
pub mod state;
pub mod status;
pub mod telemetry;
pub mod tls;
pub mod transport;

#[cfg(test)]
mod fakehub;

pub use collect::{FixedSampler, SampleError, SampleSettings, Sampler, SysinfoSampler};
pub use config::{Config, FileConfig, Overrides};
pub use enroll::{EnrollError, EnrollOptions, enroll};
pub use runner::{RunError, run};
pub use state::Enrollment;
pub use transport::HubUrl;
