//! Selector → partition (§3.4, upstream's `ForgeK8SliceConfiguration`): the K8Slice
//! configuration a consumer sends when it reserves a flavor chosen with a selector.

use super::{K8SliceFilters, QuantityRule, Selector, SelectorError};
use crate::configuration::K8SliceConfiguration;
use crate::flavor::{Characteristics, TYPE_K8SLICE};
use crate::quantity::Quantity;

/// The partition implied by `filters` on a flavor offering `offered`.
///
/// * `filters` absent → `None`: no configuration is sent, the whole flavor is bought.
/// * cpu, memory, pods: the `Match` value or the `Range` min (zero for a range with only a
///   max); with no filter for the resource, the flavor's whole value.
/// * storage: the `Match` value or the `Range` min; omitted when there is no storage filter.
/// * GPU: never requested.
pub fn k8slice_partition(
    filters: Option<&K8SliceFilters>,
    offered: &Characteristics,
) -> Option<K8SliceConfiguration> {
    let f = filters?;
    let amount =
        |rule: Option<&QuantityRule>, whole: Quantity| rule.map_or(whole, QuantityRule::requested);
    Some(K8SliceConfiguration {
        cpu: amount(f.cpu.as_ref(), offered.cpu),
        memory: amount(f.memory.as_ref(), offered.memory),
        pods: amount(f.pods.as_ref(), offered.pods),
        gpu: None,
        storage: f.storage.as_ref().map(QuantityRule::requested),
    })
}

impl Selector {
    /// The partition this selector implies on a K8Slice flavor offering `offered` (see
    /// [`k8slice_partition`]); `None` when `filters` is absent or the selector is not K8Slice.
    ///
    /// # Errors
    /// [`SelectorError`] when the filters do not decode.
    pub fn k8slice_partition(
        &self,
        offered: &Characteristics,
    ) -> Result<Option<K8SliceConfiguration>, SelectorError> {
        if self.flavor_type != TYPE_K8SLICE || !self.has_filters() {
            return Ok(None);
        }
        match self.filter_set()? {
            super::FilterSet::K8Slice(f) => Ok(k8slice_partition(Some(&f), offered)),
            _ => Ok(None),
        }
    }
}
