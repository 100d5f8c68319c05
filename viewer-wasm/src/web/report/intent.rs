//! Which study this browser tab is reading, kept in `sessionStorage`.
//!
//! The report panel gives the study's lock back when the page is left;
//! a reload or a step back to the study comes soon after, in the same
//! tab, and takes the lock again from this record. The worklist's Open
//! and the panel's "Take for reading" write it.

use super::super::session::session_storage;
use super::super::text::now_ms;

const KEY: &str = "pacs.reading";

/// How long after leaving a study coming back to it takes it again.
const FRESH_MS: i64 = 10 * 60 * 1000;

/// Records that this tab reads `study` from now.
pub fn mark(study: &str) {
    if let Some(storage) = session_storage() {
        let value = serde_json::json!({ "study": study, "at": now_ms() });
        let _ = storage.set_item(KEY, &value.to_string());
    }
}

/// Whether this tab was reading `study` a moment ago.
pub fn is_reading(study: &str) -> bool {
    let Some(text) = session_storage().and_then(|s| s.get_item(KEY).ok().flatten()) else {
        return false;
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    value["study"].as_str() == Some(study)
        && value["at"]
            .as_i64()
            .is_some_and(|at| now_ms() - at < FRESH_MS)
}

/// Forgets the record (the report was signed).
pub fn clear() {
    if let Some(storage) = session_storage() {
        let _ = storage.remove_item(KEY);
    }
}
