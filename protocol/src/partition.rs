//! Partition arithmetic on K8Slice capacity (§3.3 partitionability, §4.8 and §8 item 23 of the
//! reference), pure and checked: what a buyer's request becomes under the flavor's policy,
//! whether it fits, and what remains after selling or releasing it.
//!
//! **Policy** ([`effective`]): each of cpu, memory, pods (and GPU cores, with `gpuMin` /
//! `gpuStep`) is first raised to at least its minimum, then rounded **up** to a multiple of its
//! step when the step is positive (a step of zero, or a negative one, means any amount). A zero
//! request therefore stays zero only when the minimum is zero. We round up rather than refuse
//! so that upstream consumers, which ignore partitionability (e.g. memory `1Gi` against a
//! `100Mi` step), still get a partition. Storage and GPU memory have no policy.
//!
//! **Capacity** ([`fits`], [`subtract`], [`add`]): unlike upstream, nothing ever goes negative;
//! a request that does not fit is an error naming the resource. Storage or a GPU in the
//! partition is taken from the flavor's storage or GPU (which must then exist); a zero storage
//! or an all-zero GPU request counts as "not requested". Without them in the partition, the
//! flavor's storage and GPU are kept unchanged, and a subtracted GPU keeps its model.

use std::fmt;

use crate::configuration::K8SliceConfiguration;
use crate::flavor::{Characteristics, Gpu, Partitionability};
use crate::quantity::Quantity;

/// A partitionable resource, as named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// CPU.
    Cpu,
    /// Memory.
    Memory,
    /// Pods.
    Pods,
    /// Storage.
    Storage,
    /// GPU cores.
    GpuCores,
    /// GPU memory.
    GpuMemory,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Memory => "memory",
            Self::Pods => "pods",
            Self::Storage => "storage",
            Self::GpuCores => "gpu cores",
            Self::GpuMemory => "gpu memory",
        })
    }
}

/// Why a partition cannot be taken from (or returned to) some capacity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    /// More is requested than is available.
    #[error("{resource} does not fit: requested {requested}, available {available}")]
    DoesNotFit {
        /// The resource.
        resource: Resource,
        /// Requested amount.
        requested: Quantity,
        /// Available amount.
        available: Quantity,
    },
    /// Storage or a GPU is requested from a flavor that has none.
    #[error("{resource} requested ({requested}) but not offered")]
    NotOffered {
        /// The resource.
        resource: Resource,
        /// Requested amount.
        requested: Quantity,
    },
    /// A negative amount is requested (or released).
    #[error("negative {resource} amount {requested}")]
    Negative {
        /// The resource.
        resource: Resource,
        /// The negative amount.
        requested: Quantity,
    },
    /// The sum does not fit in a quantity.
    #[error("{resource} overflows")]
    Overflow {
        /// The resource.
        resource: Resource,
    },
}

/// `value` raised to `min`, then rounded up to a multiple of a positive `step`. Keeps the
/// unrounded value if rounding would overflow (beyond 10²⁰ units, not a real request).
fn round(value: Quantity, min: Quantity, step: Quantity) -> Quantity {
    let raised = value.max(min);
    let step_nanos = step.as_nanos();
    if step_nanos <= 0 {
        return raised;
    }
    let rest = raised.as_nanos().rem_euclid(step_nanos);
    if rest == 0 {
        return raised;
    }
    raised
        .as_nanos()
        .checked_add(step_nanos - rest)
        .map_or(raised, |n| Quantity::from_nanos(n, raised.format()))
}

/// The partition actually sold for `part` under `policy` (see the module docs).
pub fn effective(part: &K8SliceConfiguration, policy: &Partitionability) -> K8SliceConfiguration {
    let p = policy;
    K8SliceConfiguration {
        cpu: round(part.cpu, p.cpu_min, p.cpu_step),
        memory: round(part.memory, p.memory_min, p.memory_step),
        pods: round(part.pods, p.pods_min, p.pods_step),
        gpu: part.gpu.as_ref().map(|g| Gpu {
            cores: round(g.cores, p.gpu_min, p.gpu_step),
            ..g.clone()
        }),
        storage: part.storage,
    }
}

/// Storage the partition really asks for (zero = none).
fn storage_request(part: &K8SliceConfiguration) -> Option<Quantity> {
    part.storage.filter(|s| !s.is_zero())
}

/// GPU the partition really asks for (all zero = none).
fn gpu_request(part: &K8SliceConfiguration) -> Option<&Gpu> {
    part.gpu
        .as_ref()
        .filter(|g| !g.cores.is_zero() || !g.memory.is_zero())
}

/// Checks one amount: non-negative and at most `available`.
fn fit_one(
    resource: Resource,
    requested: Quantity,
    available: Quantity,
) -> Result<(), PartitionError> {
    if requested.is_negative() {
        return Err(PartitionError::Negative {
            resource,
            requested,
        });
    }
    if requested > available {
        return Err(PartitionError::DoesNotFit {
            resource,
            requested,
            available,
        });
    }
    Ok(())
}

/// Checks that `part` fits in `available`, naming the first resource that does not (cpu,
/// memory, pods, storage, GPU cores, GPU memory).
///
/// # Errors
/// [`PartitionError::DoesNotFit`], [`PartitionError::NotOffered`] or
/// [`PartitionError::Negative`].
pub fn fits(
    part: &K8SliceConfiguration,
    available: &Characteristics,
) -> Result<(), PartitionError> {
    fit_one(Resource::Cpu, part.cpu, available.cpu)?;
    fit_one(Resource::Memory, part.memory, available.memory)?;
    fit_one(Resource::Pods, part.pods, available.pods)?;
    if let Some(requested) = storage_request(part) {
        let offered = available.storage.ok_or(PartitionError::NotOffered {
            resource: Resource::Storage,
            requested,
        })?;
        fit_one(Resource::Storage, requested, offered)?;
    }
    if let Some(gpu) = gpu_request(part) {
        let offered = available.gpu.as_ref().ok_or(PartitionError::NotOffered {
            resource: Resource::GpuCores,
            requested: gpu.cores,
        })?;
        fit_one(Resource::GpuCores, gpu.cores, offered.cores)?;
        fit_one(Resource::GpuMemory, gpu.memory, offered.memory)?;
    }
    Ok(())
}

/// `a - b`, known not to overflow once [`fits`] passed; checked anyway.
fn sub(resource: Resource, a: Quantity, b: Quantity) -> Result<Quantity, PartitionError> {
    a.checked_sub(b)
        .ok_or(PartitionError::Overflow { resource })
}

/// `a + b`, checked.
fn plus(resource: Resource, a: Quantity, b: Quantity) -> Result<Quantity, PartitionError> {
    a.checked_add(b)
        .ok_or(PartitionError::Overflow { resource })
}

/// What remains of `available` once `part` is sold; never negative.
///
/// # Errors
/// As [`fits`].
pub fn subtract(
    available: &Characteristics,
    part: &K8SliceConfiguration,
) -> Result<Characteristics, PartitionError> {
    fits(part, available)?;
    let mut rest = available.clone();
    rest.cpu = sub(Resource::Cpu, available.cpu, part.cpu)?;
    rest.memory = sub(Resource::Memory, available.memory, part.memory)?;
    rest.pods = sub(Resource::Pods, available.pods, part.pods)?;
    if let (Some(requested), Some(offered)) = (storage_request(part), available.storage) {
        rest.storage = Some(sub(Resource::Storage, offered, requested)?);
    }
    if let (Some(gpu), Some(offered)) = (gpu_request(part), available.gpu.as_ref()) {
        rest.gpu = Some(Gpu {
            model: offered.model.clone(),
            cores: sub(Resource::GpuCores, offered.cores, gpu.cores)?,
            memory: sub(Resource::GpuMemory, offered.memory, gpu.memory)?,
        });
    }
    Ok(rest)
}

/// Refuses a negative amount to release.
fn non_negative(resource: Resource, q: Quantity) -> Result<Quantity, PartitionError> {
    if q.is_negative() {
        return Err(PartitionError::Negative {
            resource,
            requested: q,
        });
    }
    Ok(q)
}

/// `available` with `part` given back (a released partition). Storage or a GPU returned to
/// a flavor without one becomes its storage or GPU.
///
/// # Errors
/// [`PartitionError::Negative`] or [`PartitionError::Overflow`].
pub fn add(
    available: &Characteristics,
    part: &K8SliceConfiguration,
) -> Result<Characteristics, PartitionError> {
    let mut total = available.clone();
    total.cpu = plus(
        Resource::Cpu,
        available.cpu,
        non_negative(Resource::Cpu, part.cpu)?,
    )?;
    total.memory = plus(
        Resource::Memory,
        available.memory,
        non_negative(Resource::Memory, part.memory)?,
    )?;
    total.pods = plus(
        Resource::Pods,
        available.pods,
        non_negative(Resource::Pods, part.pods)?,
    )?;
    if let Some(storage) = storage_request(part) {
        let storage = non_negative(Resource::Storage, storage)?;
        total.storage = Some(match available.storage {
            Some(have) => plus(Resource::Storage, have, storage)?,
            None => storage,
        });
    }
    if let Some(gpu) = gpu_request(part) {
        total.gpu = Some(add_gpu(available.gpu.as_ref(), gpu)?);
    }
    Ok(total)
}

/// `have + gpu` (or `gpu` when there is none), keeping `have`'s model.
fn add_gpu(have: Option<&Gpu>, gpu: &Gpu) -> Result<Gpu, PartitionError> {
    let cores = non_negative(Resource::GpuCores, gpu.cores)?;
    let memory = non_negative(Resource::GpuMemory, gpu.memory)?;
    Ok(match have {
        Some(have) => Gpu {
            model: have.model.clone(),
            cores: plus(Resource::GpuCores, have.cores, cores)?,
            memory: plus(Resource::GpuMemory, have.memory, memory)?,
        },
        None => gpu.clone(),
    })
}

/// The total of `parts` (e.g. everything sold from one flavor). Storage and GPU are present
/// when any part has them; the GPU model is the first part's.
///
/// # Errors
/// [`PartitionError::Overflow`].
pub fn sum<'a>(
    parts: impl IntoIterator<Item = &'a K8SliceConfiguration>,
) -> Result<K8SliceConfiguration, PartitionError> {
    let mut total = K8SliceConfiguration::default();
    for part in parts {
        total.cpu = plus(Resource::Cpu, total.cpu, part.cpu)?;
        total.memory = plus(Resource::Memory, total.memory, part.memory)?;
        total.pods = plus(Resource::Pods, total.pods, part.pods)?;
        if let Some(storage) = part.storage {
            let have = total.storage.unwrap_or_else(Quantity::zero);
            total.storage = Some(plus(Resource::Storage, have, storage)?);
        }
        if let Some(gpu) = &part.gpu {
            total.gpu = Some(match total.gpu.take() {
                Some(have) => Gpu {
                    cores: plus(Resource::GpuCores, have.cores, gpu.cores)?,
                    memory: plus(Resource::GpuMemory, have.memory, gpu.memory)?,
                    model: have.model,
                },
                None => gpu.clone(),
            });
        }
    }
    Ok(total)
}

/// Whether nothing is sellable any more: cpu, memory or pods is zero (or below).
pub fn is_exhausted(chars: &Characteristics) -> bool {
    [chars.cpu, chars.memory, chars.pods]
        .iter()
        .any(|q| q.as_nanos() <= 0)
}

#[cfg(test)]
#[path = "partition/tests.rs"]
mod tests;
