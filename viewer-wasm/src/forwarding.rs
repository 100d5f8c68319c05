//! The forwarding page's model: jobs and destinations as
//! `/api/forwarding` sends them, and what the page shows and offers for
//! each.

use serde::Deserialize;

/// A forwarding job, as the API lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Job {
    pub id: i64,
    pub study_uid: String,
    pub patient_name: Option<String>,
    pub patient_id: Option<String>,
    pub study_description: Option<String>,
    pub destination: String,
    pub priority: String,
    pub state: String,
    pub attempts: i64,
    pub instances_total: i64,
    pub instances_sent: i64,
    pub bytes_sent: i64,
    pub last_error: Option<String>,
    pub not_before: Option<i64>,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

/// One entry of a job's history.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    pub at: i64,
    pub event: String,
    pub detail: Option<String>,
}

/// A job with its history (`GET /api/forwarding/jobs/{id}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobHistory {
    pub job: Job,
    pub events: Vec<Event>,
}

/// A destination and its jobs by state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Destination {
    pub name: String,
    pub kind: String,
    pub address: String,
    pub concurrency: u32,
    #[serde(default)]
    pub jobs: std::collections::BTreeMap<String, i64>,
}

/// States a job may be filtered by, in the order the page offers them.
pub const STATES: [&str; 5] = ["queued", "sending", "delivered", "failed", "cancelled"];

/// What an operator may do with a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Put it back in the queue now (a dead letter, a cancelled or a
    /// waiting job).
    Retry,
    /// Send everything again (a delivered job).
    SendAgain,
    Cancel,
}

impl Action {
    /// The API verb.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Retry | Action::SendAgain => "retry",
            Action::Cancel => "cancel",
        }
    }

    /// The interface string key of its button.
    pub fn label_key(self) -> &'static str {
        match self {
            Action::Retry => "forward.retry",
            Action::SendAgain => "forward.send_again",
            Action::Cancel => "forward.cancel",
        }
    }
}

impl Job {
    /// The actions the API accepts for the job's state.
    pub fn actions(&self) -> Vec<Action> {
        match self.state.as_str() {
            "queued" => vec![Action::Retry, Action::Cancel],
            "sending" => vec![Action::Cancel],
            "failed" => vec![Action::Retry, Action::Cancel],
            "cancelled" => vec![Action::Retry],
            "delivered" => vec![Action::SendAgain],
            _ => Vec::new(),
        }
    }

    /// `sent / total`, and the share sent in percent.
    pub fn progress(&self) -> (String, u32) {
        let total = self.instances_total.max(0);
        let sent = self.instances_sent.clamp(0, total);
        let percent = if total == 0 {
            0
        } else {
            (sent * 100 / total) as u32
        };
        (format!("{sent} / {total}"), percent)
    }

    /// Whether the job needs an operator's eye.
    pub fn is_problem(&self) -> bool {
        self.state == "failed" || (self.state == "queued" && self.last_error.is_some())
    }
}

/// The interface string key of a job state.
pub fn state_key(state: &str) -> String {
    format!("forward.state.{state}")
}

/// The interface string key of a priority.
pub fn priority_key(priority: &str) -> String {
    format!("forward.priority.{priority}")
}

/// The interface string key of a history event.
pub fn event_key(event: &str) -> String {
    format!("forward.event.{event}")
}

/// Events the server records, for the check that each has words.
pub const EVENTS: [&str; 9] = [
    "queued",
    "sending",
    "delivered",
    "failed",
    "dead-letter",
    "requeued",
    "reopened",
    "retry",
    "cancelled",
];

/// Bytes as the page shows them: `812 kB`, `1.4 MB`.
pub fn format_bytes(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1e3 {
        format!("{bytes} B")
    } else if b < 1e6 {
        format!("{:.0} kB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.2} GB", b / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: &str, sent: i64, total: i64) -> Job {
        Job {
            id: 1,
            study_uid: "1.2.3".into(),
            patient_name: Some("Иванов^Иван".into()),
            patient_id: Some("P1".into()),
            study_description: None,
            destination: "centre".into(),
            priority: "routine".into(),
            state: state.into(),
            attempts: 0,
            instances_total: total,
            instances_sent: sent,
            bytes_sent: 0,
            last_error: None,
            not_before: None,
            updated_at: 0,
            delivered_at: None,
        }
    }

    #[test]
    fn the_api_list_is_read() {
        let text = r#"[{"id":7,"study_uid":"1.2","patient_name":null,"patient_id":"X",
            "study_description":"CT HEAD","destination":"centre","priority":"stat",
            "state":"failed","attempts":3,"instances_total":10,"instances_sent":4,
            "bytes_sent":123456,"last_error":"refused","not_before":null,
            "lease_owner":null,"created_at":1,"updated_at":2,"delivered_at":null}]"#;
        let jobs: Vec<Job> = serde_json::from_str(text).unwrap();
        assert_eq!(jobs[0].id, 7);
        assert_eq!(jobs[0].progress(), ("4 / 10".into(), 40));
        assert!(jobs[0].is_problem());
        assert_eq!(jobs[0].actions(), vec![Action::Retry, Action::Cancel]);
    }

    #[test]
    fn actions_follow_the_state() {
        assert_eq!(job("sending", 1, 2).actions(), vec![Action::Cancel]);
        assert_eq!(job("delivered", 2, 2).actions(), vec![Action::SendAgain]);
        assert_eq!(Action::SendAgain.verb(), "retry");
        assert_eq!(job("cancelled", 0, 2).actions(), vec![Action::Retry]);
        assert!(job("unknown", 0, 0).actions().is_empty());
    }

    #[test]
    fn every_state_priority_event_and_action_has_words() {
        use viewer_core::i18n::{Lang, t};
        let mut keys: Vec<String> = STATES.iter().map(|s| state_key(s)).collect();
        keys.extend(["stat", "urgent", "routine"].map(priority_key));
        keys.extend(EVENTS.map(event_key));
        keys.extend(
            [Action::Retry, Action::SendAgain, Action::Cancel].map(|a| a.label_key().to_owned()),
        );
        for key in keys {
            assert_ne!(t(Lang::Ru, &key), key, "{key} has no text");
        }
    }

    #[test]
    fn progress_and_sizes_read_well() {
        assert_eq!(job("queued", 0, 0).progress(), ("0 / 0".into(), 0));
        assert_eq!(job("queued", 5, 3).progress(), ("3 / 3".into(), 100));
        assert_eq!(format_bytes(999), "999 B");
        assert_eq!(format_bytes(812_000), "812 kB");
        assert_eq!(format_bytes(1_400_000), "1.4 MB");
        assert_eq!(format_bytes(2_500_000_000), "2.50 GB");
    }
}
