//! When the report draft is saved: about a second after typing stops,
//! one request at a time, again at once if more was typed while one was
//! on its way, and after a failure again with a growing pause until the
//! server confirms. Times are milliseconds from any fixed origin (the
//! page's clock); the page drives this with its timer and `fetch`.
//!
//! The states the page shows (`#report-save-state[data-state]`):
//! `saved` (the server has everything typed), `dirty` (typed, not sent
//! yet), `saving` (a request is on its way), `failed` (the last attempt
//! failed and another will follow).

/// Quiet time after the last keystroke before the draft is sent.
pub const QUIET_MS: f64 = 1000.0;

/// The longest pause between attempts after failures.
pub const MAX_BACKOFF_MS: f64 = 30_000.0;

/// The pause before attempt `failures + 1`: 2 s, 4 s, 8 s, 16 s, then
/// 30 s.
pub fn backoff_ms(failures: u32) -> f64 {
    if failures == 0 {
        return 0.0;
    }
    (1000.0 * 2f64.powi(failures.min(16) as i32)).min(MAX_BACKOFF_MS)
}

/// What the save state reads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveState {
    Saved,
    Dirty,
    Saving,
    Failed,
}

impl SaveState {
    /// The `data-state` value.
    pub fn name(self) -> &'static str {
        match self {
            SaveState::Saved => "saved",
            SaveState::Dirty => "dirty",
            SaveState::Saving => "saving",
            SaveState::Failed => "failed",
        }
    }
}

/// The autosave state machine of one report draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Autosave {
    /// Typed text the server has not confirmed.
    unsaved: bool,
    edited_at: f64,
    in_flight: bool,
    /// Typed after the request on its way was made: it does not carry it.
    edited_during: bool,
    failures: u32,
    retry_at: f64,
    /// Saving is pointless now (the study's lock was lost, the report was
    /// signed): nothing more is sent.
    stopped: bool,
}

impl Default for Autosave {
    fn default() -> Self {
        Autosave::new()
    }
}

impl Autosave {
    /// Nothing typed yet: the server's draft is current.
    pub fn new() -> Autosave {
        Autosave {
            unsaved: false,
            edited_at: 0.0,
            in_flight: false,
            edited_during: false,
            failures: 0,
            retry_at: 0.0,
            stopped: false,
        }
    }

    /// Text was typed (or restored from the browser's copy) at `now`.
    pub fn edited(&mut self, now: f64) {
        self.unsaved = true;
        self.edited_at = now;
        if self.in_flight {
            self.edited_during = true;
        }
    }

    /// When the next save should start, if one should.
    pub fn due_at(&self) -> Option<f64> {
        if self.stopped || self.in_flight || !self.unsaved {
            return None;
        }
        Some((self.edited_at + QUIET_MS).max(self.retry_at))
    }

    /// Whether a save should start at `now`.
    pub fn should_save(&self, now: f64) -> bool {
        self.due_at().is_some_and(|due| now >= due)
    }

    /// Whether something typed is not on the server yet (what leaving the
    /// page must still send).
    pub fn has_unsaved(&self) -> bool {
        self.unsaved && !self.stopped
    }

    /// A save request left now, carrying everything typed so far.
    pub fn started(&mut self) {
        self.in_flight = true;
        self.edited_during = false;
    }

    /// The server confirmed the save.
    pub fn succeeded(&mut self) {
        self.in_flight = false;
        self.failures = 0;
        self.retry_at = 0.0;
        self.unsaved = self.edited_during;
        self.edited_during = false;
    }

    /// The save failed at `now` in a way worth retrying.
    pub fn failed(&mut self, now: f64) {
        self.in_flight = false;
        self.edited_during = false;
        self.failures += 1;
        self.retry_at = now + backoff_ms(self.failures);
    }

    /// Saving can no longer succeed; the text stays unsaved.
    pub fn stop(&mut self) {
        self.in_flight = false;
        self.stopped = true;
    }

    /// Saving is possible again (the lock was taken back): what is still
    /// unsaved is sent at once.
    pub fn resume(&mut self, now: f64) {
        self.stopped = false;
        self.failures = 0;
        self.retry_at = 0.0;
        self.edited_at = now - QUIET_MS;
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Whether the request on its way is a retry after failures.
    pub fn is_retrying(&self) -> bool {
        self.in_flight && self.failures > 0
    }

    /// Attempts failed in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn state(&self) -> SaveState {
        if self.in_flight {
            SaveState::Saving
        } else if self.unsaved && (self.failures > 0 || self.stopped) {
            SaveState::Failed
        } else if self.unsaved {
            SaveState::Dirty
        } else {
            SaveState::Saved
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_is_saved_a_second_after_typing_stops() {
        let mut a = Autosave::new();
        assert_eq!(a.state(), SaveState::Saved);
        assert_eq!(a.due_at(), None);
        a.edited(0.0);
        a.edited(600.0);
        assert_eq!(a.state(), SaveState::Dirty);
        assert!(!a.should_save(1500.0), "typing went on at 600 ms");
        assert!(a.should_save(1600.0));
        a.started();
        assert_eq!(a.state(), SaveState::Saving);
        assert!(!a.should_save(5000.0), "one request at a time");
        a.succeeded();
        assert_eq!(a.state(), SaveState::Saved);
        assert!(!a.has_unsaved());
        assert_eq!(a.due_at(), None);
    }

    #[test]
    fn typing_during_a_save_is_saved_after_it() {
        let mut a = Autosave::new();
        a.edited(0.0);
        a.started();
        a.edited(1200.0);
        assert_eq!(a.state(), SaveState::Saving);
        a.succeeded();
        assert_eq!(a.state(), SaveState::Dirty);
        assert!(a.has_unsaved());
        assert_eq!(a.due_at(), Some(2200.0));
    }

    #[test]
    fn failures_are_retried_with_growing_pauses() {
        let mut a = Autosave::new();
        a.edited(0.0);
        a.started();
        a.failed(1000.0);
        assert_eq!(a.state(), SaveState::Failed);
        assert!(a.has_unsaved());
        assert_eq!(a.due_at(), Some(3000.0));
        a.started();
        assert!(a.is_retrying());
        a.failed(3000.0);
        assert_eq!(a.due_at(), Some(7000.0));
        // Typing during the pause does not shorten it (the network is
        // still down), and does not hide that saving failed.
        a.edited(3500.0);
        assert_eq!(a.state(), SaveState::Failed);
        assert_eq!(a.due_at(), Some(7000.0));
        a.started();
        a.succeeded();
        assert_eq!(a.state(), SaveState::Saved);
        assert_eq!(a.failures(), 0);
        a.edited(10_000.0);
        assert_eq!(a.due_at(), Some(11_000.0), "the pause is forgotten");
    }

    #[test]
    fn the_pause_stops_growing_at_thirty_seconds() {
        let pauses: Vec<f64> = (0..8).map(backoff_ms).collect();
        assert_eq!(
            pauses,
            [
                0.0, 2000.0, 4000.0, 8000.0, 16_000.0, 30_000.0, 30_000.0, 30_000.0
            ]
        );
        assert_eq!(backoff_ms(u32::MAX), MAX_BACKOFF_MS);
    }

    #[test]
    fn a_stopped_draft_sends_nothing_more_and_says_so() {
        let mut a = Autosave::new();
        a.edited(0.0);
        a.started();
        a.stop();
        assert!(a.is_stopped());
        assert_eq!(a.state(), SaveState::Failed);
        assert_eq!(a.due_at(), None);
        assert!(!a.has_unsaved());
        a.resume(5000.0);
        assert_eq!(a.state(), SaveState::Dirty);
        assert!(a.should_save(5000.0), "sent as soon as saving is possible");
        let mut clean = Autosave::new();
        clean.stop();
        assert_eq!(clean.state(), SaveState::Saved);
        clean.resume(0.0);
        assert_eq!(clean.due_at(), None);
    }

    #[test]
    fn states_have_their_attribute_names() {
        assert_eq!(SaveState::Saved.name(), "saved");
        assert_eq!(SaveState::Dirty.name(), "dirty");
        assert_eq!(SaveState::Saving.name(), "saving");
        assert_eq!(SaveState::Failed.name(), "failed");
    }
}
