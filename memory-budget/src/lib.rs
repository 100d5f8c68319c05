//! A process-wide cap on the bytes held in memory for instances still
//! arriving: C-STORE data sets being assembled, STOW-RS parts being read.
//! Each is limited on its own by the largest instance accepted; this caps
//! them together, so that many large uploads at once are refused one by
//! one ("out of resources", to be sent again) instead of exhausting the
//! machine and taking every other upload down with it.
//!
//! A receiver [`MemoryBudget::hold`]s a [`Held`] per instance and
//! [`Held::cover`]s its buffer as it grows; what it holds goes back when
//! the `Held` is dropped, which is after the instance is stored. Nothing
//! waits for room: an upload that cannot be covered is refused at once, so
//! uploads holding part of the budget can never wait on one another.

use std::fmt;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes per permit.
const UNIT: u64 = 1024;

/// Growth is taken in steps of at least this many bytes, so that a
/// buffer growing by PDUs does not touch the semaphore for each.
const STEP: u64 = 1 << 20;

/// Bytes that may be held at once, all uploads together. Clones share it.
#[derive(Clone)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    total: u64,
}

impl MemoryBudget {
    /// A budget of `bytes` (rounded down to whole KiB; at least one).
    pub fn new(bytes: u64) -> MemoryBudget {
        // (the semaphore's own limit is far above any machine's memory)
        let units = (bytes / UNIT).clamp(1, u64::from(u32::MAX));
        MemoryBudget {
            permits: Arc::new(Semaphore::new(units as usize)),
            total: units * UNIT,
        }
    }

    /// The whole budget, in bytes.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes not held by anyone now.
    pub fn available(&self) -> u64 {
        self.permits.available_permits() as u64 * UNIT
    }

    /// An empty hold, to cover one upload's buffer.
    pub fn hold(&self) -> Held {
        Held {
            permits: self.permits.clone(),
            total: self.total,
            permit: None,
        }
    }
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.debug_struct("MemoryBudget")
            .field("total", &self.total)
            .field("available", &self.available())
            .finish()
    }
}

/// Part of a [`MemoryBudget`], held for one upload until dropped.
pub struct Held {
    permits: Arc<Semaphore>,
    total: u64,
    permit: Option<OwnedSemaphorePermit>,
}

impl Held {
    /// Makes sure `bytes` are covered. `false` when the budget cannot
    /// cover them now; what was covered stays held.
    pub fn cover(&mut self, bytes: usize) -> bool {
        let need = (bytes as u64).div_ceil(UNIT);
        let have = self.permit.as_ref().map_or(0, |p| p.num_permits() as u64);
        if need <= have {
            return true;
        }
        // A step ahead where there is room, else exactly what is needed.
        let ahead = (have + STEP / UNIT).max(need).min(self.total / UNIT);
        let more = [ahead, need]
            .into_iter()
            .filter(|&want| want >= need)
            .find_map(|want| {
                let extra = u32::try_from(want - have).ok()?;
                self.permits.clone().try_acquire_many_owned(extra).ok()
            });
        match (more, &mut self.permit) {
            (None, _) => false,
            (Some(more), Some(permit)) => {
                permit.merge(more);
                true
            }
            (Some(more), slot) => {
                *slot = Some(more);
                true
            }
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.permit.as_ref().map_or(0, |p| p.num_permits() as u64) * UNIT
    }
}

impl fmt::Debug for Held {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.debug_struct("Held")
            .field("bytes", &self.bytes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_share_the_budget_and_give_it_back_when_dropped() {
        let budget = MemoryBudget::new(8 << 20);
        let mut first = budget.hold();
        assert!(first.cover(5 << 20));
        assert!(first.bytes() >= 5 << 20);
        let mut second = budget.hold();
        assert!(!second.cover(4 << 20), "only 3 MiB are left");
        assert!(second.cover(2 << 20), "what is left is there to take");
        assert!(!first.cover(7 << 20), "nor can the first grow past it");
        assert!(first.bytes() >= 5 << 20, "what it held stays held");
        drop(second);
        assert!(first.cover(7 << 20));
        drop(first);
        assert_eq!(budget.available(), budget.total());
    }

    #[test]
    fn growth_is_taken_in_steps_and_never_past_the_whole() {
        let budget = MemoryBudget::new(4 << 20);
        let mut held = budget.hold();
        assert!(held.cover(16 << 10));
        let after_first = held.bytes();
        assert!(after_first >= STEP, "a step ahead: {after_first}");
        assert!(held.cover(after_first as usize), "no new permits needed");
        assert_eq!(held.bytes(), after_first);
        assert!(held.cover(4 << 20), "exactly the whole");
        assert!(!held.cover((4 << 20) + 1));
    }
}
