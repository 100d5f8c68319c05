//! The worklist's model: reading tasks as `GET /api/worklist` (and
//! `GET /api/referrals`) send them, the filter held in the page's
//! address, and what each role may do with a task.

use serde::Deserialize;
use viewer_core::i18n::{Lang, t, t_with};

use crate::session::{Me, Role};
use crate::time::{duration_words, parse_rfc3339};
use crate::url::{build_query, query_value};

/// Tasks per page.
pub const PAGE_SIZE: u32 = 50;

/// Report statuses, in the order of the workflow (and of the filter).
pub const STATUSES: [&str; 5] = [
    "scheduled",
    "in_progress",
    "preliminary",
    "final",
    "amended",
];

/// Priorities, most urgent first.
pub const PRIORITIES: [&str; 3] = ["stat", "urgent", "routine"];

/// Who holds a study for reading, and until when.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Lock {
    pub holder: String,
    #[serde(default)]
    pub holder_name: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    /// How long the lock lasts without being renewed.
    #[serde(default)]
    pub lease_seconds: Option<u64>,
}

/// How often a page renews a lock when the server does not say how long
/// it lasts: it lasts five minutes by default.
pub const RENEW_EVERY_MS: f64 = 60_000.0;

impl Lock {
    /// How often the holder's page renews it: five times per lease, so
    /// that a few failed renewals on a poor link do not lose it, and at
    /// least every minute.
    pub fn renew_every_ms(&self) -> f64 {
        self.lease_seconds.map_or(RENEW_EVERY_MS, |s| {
            (s as f64 * 1000.0 / 5.0).clamp(5_000.0, RENEW_EVERY_MS)
        })
    }

    /// The holder as people know them.
    pub fn shown_name(&self) -> &str {
        self.holder_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.holder)
    }
}

/// Whether a critical finding is waiting to be acknowledged.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CriticalFlag {
    #[serde(default)]
    pub open: bool,
}

/// A study to be read (or, for referrers, one of their patients').
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Task {
    pub study_uid: String,
    #[serde(default)]
    pub patient_name: Option<String>,
    #[serde(default)]
    pub patient_id: Option<String>,
    #[serde(default)]
    pub accession_number: Option<String>,
    /// `YYYYMMDD`.
    #[serde(default)]
    pub study_date: Option<String>,
    #[serde(default)]
    pub study_description: Option<String>,
    #[serde(default)]
    pub modalities: Vec<String>,
    #[serde(default)]
    pub num_instances: Option<i64>,
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default = "routine")]
    pub priority: String,
    pub status: String,
    #[serde(default)]
    pub received_at: Option<String>,
    #[serde(default)]
    pub deadline: Option<String>,
    #[serde(default)]
    pub overdue: bool,
    #[serde(default)]
    pub assigned_to: Option<String>,
    #[serde(default)]
    pub lock: Option<Lock>,
    /// Images arrived after the report was made.
    #[serde(default)]
    pub new_images: bool,
    #[serde(default)]
    pub critical: Option<CriticalFlag>,
}

fn routine() -> String {
    "routine".to_owned()
}

/// One page of the worklist.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskPage {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub tasks: Vec<Task>,
}

/// One page of a referring doctor's studies.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReferralPage {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub studies: Vec<Task>,
}

/// The interface string key of a report status.
pub fn status_key(status: &str) -> String {
    format!("status.{status}")
}

/// The interface string key of a priority.
pub fn priority_key(priority: &str) -> String {
    format!("priority.{priority}")
}

/// A patient name as people write it ("Doe^John" → "Doe John"); a dash
/// when there is none.
pub fn patient_name(raw: Option<&str>) -> String {
    raw.and_then(viewer_core::dicom_json::readable_person_name)
        .unwrap_or_else(|| "—".to_owned())
}

/// `YYYYMMDD` as `YYYY-MM-DD`.
pub fn study_date(raw: Option<&str>) -> String {
    raw.and_then(viewer_core::dicom_json::format_date)
        .unwrap_or_default()
}

/// What the deadline cell says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineWords {
    /// The task is past its deadline: the row says "Overdue" in words.
    pub overdue: bool,
    /// "overdue by 25 min" or "due in 1 h 5 min"; empty without a deadline.
    pub detail: String,
}

impl Task {
    /// Whether the report is signed (final, or amended after).
    pub fn is_reported(&self) -> bool {
        matches!(self.status.as_str(), "final" | "amended")
    }

    /// Whether the critical finding is still open.
    pub fn critical_open(&self) -> bool {
        self.critical.as_ref().is_some_and(|c| c.open)
    }

    /// The holder of the study's lock, if anyone reads it now.
    pub fn lock_holder(&self) -> Option<&str> {
        self.lock.as_ref().map(|l| l.holder.as_str())
    }

    /// The deadline in words at `now_ms`. The server's `overdue` decides
    /// (its clock is the one that counts), the local clock only the
    /// phrasing; a signed report is never overdue.
    pub fn deadline_words(&self, lang: Lang, now_ms: i64) -> DeadlineWords {
        let deadline = self.deadline.as_deref().and_then(parse_rfc3339);
        let overdue =
            !self.is_reported() && (self.overdue || deadline.is_some_and(|d| d <= now_ms));
        let detail = match deadline {
            None => String::new(),
            Some(_) if self.is_reported() => String::new(),
            Some(d) if overdue => t_with(
                lang,
                "worklist.overdue_by",
                &[("time", &duration_words(lang, now_ms - d))],
            ),
            Some(d) => t_with(
                lang,
                "worklist.due_in",
                &[("time", &duration_words(lang, d - now_ms))],
            ),
        };
        DeadlineWords { overdue, detail }
    }

    /// How long the study has waited since it arrived, in words.
    pub fn waiting_words(&self, lang: Lang, now_ms: i64) -> String {
        match self.received_at.as_deref().and_then(parse_rfc3339) {
            Some(at) if !self.is_reported() => t_with(
                lang,
                "worklist.waiting",
                &[("time", &duration_words(lang, now_ms - at))],
            ),
            _ => String::new(),
        }
    }

    /// The actions the row offers `me`.
    pub fn actions(&self, me: &Me) -> Vec<TaskAction> {
        let mut actions = Vec::new();
        match (me.open, me.role) {
            (false, Role::Radiologist) => actions.push(TaskAction::Open),
            _ => actions.push(TaskAction::View),
        }
        let admin = me.open || me.role == Role::Admin;
        if admin && !self.is_reported() {
            actions.push(TaskAction::Assign);
            if self.lock.is_some() {
                actions.push(TaskAction::BreakLock);
            }
        }
        if (admin || me.role == Role::Site) && !self.is_reported() {
            actions.push(TaskAction::Priority);
        }
        actions
    }
}

/// What a worklist row offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAction {
    /// Claim the study and open it for reading (radiologists).
    Open,
    /// Open the images without claiming (everyone else).
    View,
    /// Give the study to a radiologist (admins).
    Assign,
    /// Take the lock from its holder, with a reason (admins).
    BreakLock,
    /// Change the priority (the study's site, admins).
    Priority,
}

impl TaskAction {
    /// The control's `data-action`.
    pub fn name(self) -> &'static str {
        match self {
            TaskAction::Open => "open",
            TaskAction::View => "view",
            TaskAction::Assign => "assign",
            TaskAction::BreakLock => "break-lock",
            TaskAction::Priority => "priority",
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            TaskAction::Open => "worklist.open",
            TaskAction::View => "worklist.view",
            TaskAction::Assign => "worklist.assign",
            TaskAction::BreakLock => "worklist.break_lock",
            TaskAction::Priority => "worklist.priority",
        }
    }
}

/// The worklist's filter, held in the address (`/worklist?status=all`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorklistFilter {
    /// Empty: the active studies (not yet final); `all`; or one status.
    pub status: String,
    pub site: String,
    pub modality: String,
    /// Only the studies assigned to the user.
    pub mine: bool,
    pub offset: u32,
}

impl WorklistFilter {
    /// Reads the filter from the page address's query pairs; unknown
    /// statuses are dropped.
    pub fn from_pairs(pairs: &[(String, String)]) -> WorklistFilter {
        let status = query_value(pairs, "status")
            .filter(|s| *s == "all" || STATUSES.contains(s))
            .unwrap_or_default()
            .to_owned();
        WorklistFilter {
            status,
            site: query_value(pairs, "site")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            modality: query_value(pairs, "modality")
                .unwrap_or_default()
                .trim()
                .to_ascii_uppercase(),
            mine: matches!(query_value(pairs, "mine"), Some("1" | "true")),
            offset: query_value(pairs, "offset")
                .and_then(|o| o.parse().ok())
                .unwrap_or(0),
        }
    }

    /// The page's own query (without defaults), for the address bar.
    pub fn to_page_query(&self) -> String {
        let offset = if self.offset > 0 {
            self.offset.to_string()
        } else {
            String::new()
        };
        build_query(&[
            ("status", self.status.as_str()),
            ("site", self.site.as_str()),
            ("modality", self.modality.as_str()),
            ("mine", if self.mine { "1" } else { "" }),
            ("offset", offset.as_str()),
        ])
    }

    /// The query for `GET /api/worklist`.
    pub fn to_api_query(&self) -> String {
        let limit = PAGE_SIZE.to_string();
        let offset = self.offset.to_string();
        build_query(&[
            ("status", self.status.as_str()),
            ("site", self.site.as_str()),
            ("modality", self.modality.as_str()),
            ("mine", if self.mine { "true" } else { "" }),
            ("limit", limit.as_str()),
            ("offset", offset.as_str()),
        ])
    }

    /// The same filter one page further (`forward`) or back.
    pub fn page(&self, forward: bool) -> WorklistFilter {
        let offset = if forward {
            self.offset + PAGE_SIZE
        } else {
            self.offset.saturating_sub(PAGE_SIZE)
        };
        WorklistFilter {
            offset,
            ..self.clone()
        }
    }
}

/// "Studies 51–100 of 123", or the empty-list sentence.
pub fn range_words(lang: Lang, offset: u32, shown: usize, total: u64) -> String {
    if shown == 0 {
        return t(lang, "worklist.empty").to_owned();
    }
    t_with(
        lang,
        "paging.range_of",
        &[
            ("from", &(offset + 1).to_string()),
            ("to", &(offset as usize + shown).to_string()),
            ("total", &total.to_string()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::parse_query;

    const TASK: &str = r#"{"study_uid": "1.2.3", "patient_name": "Петров^Пётр^Иванович",
        "patient_id": "P-17", "accession_number": "A1", "study_date": "20261122",
        "study_description": "КТ головы", "modalities": ["CT"], "num_instances": 300,
        "site": "andijan", "priority": "stat", "status": "in_progress",
        "received_at": "2026-11-22T18:00:00Z", "deadline": "2026-11-22T19:00:00Z",
        "overdue": true, "assigned_to": null,
        "lock": {"holder": "karimov", "holder_name": "Dr Karimov", "expires_at": "2026-11-22T19:09:00Z"},
        "new_images": true, "critical": {"open": true}}"#;

    fn task() -> Task {
        serde_json::from_str(TASK).unwrap()
    }

    fn me(role: Role) -> Me {
        Me {
            username: Some("u".into()),
            display_name: None,
            role,
            site: None,
            open: false,
            read_only_link: false,
        }
    }

    #[test]
    fn the_api_page_is_read() {
        let page: TaskPage =
            serde_json::from_str(&format!(r#"{{"total": 1, "tasks": [{TASK}]}}"#)).unwrap();
        let t = &page.tasks[0];
        assert_eq!(page.total, 1);
        assert_eq!(
            patient_name(t.patient_name.as_deref()),
            "Петров Пётр Иванович"
        );
        assert_eq!(study_date(t.study_date.as_deref()), "2026-11-22");
        assert_eq!(t.lock_holder(), Some("karimov"));
        assert_eq!(t.lock.as_ref().unwrap().shown_name(), "Dr Karimov");
        assert_eq!(t.lock.as_ref().unwrap().renew_every_ms(), RENEW_EVERY_MS);
        assert!(t.critical_open());
        assert!(t.new_images);
        // A minimal task: everything optional may be missing.
        let minimal: Task =
            serde_json::from_str(r#"{"study_uid": "9", "status": "scheduled"}"#).unwrap();
        assert_eq!(minimal.priority, "routine");
        assert_eq!(patient_name(minimal.patient_name.as_deref()), "—");
        assert!(!minimal.critical_open());
        let referrals: ReferralPage =
            serde_json::from_str(&format!(r#"{{"total": 1, "studies": [{TASK}]}}"#)).unwrap();
        assert_eq!(referrals.studies.len(), 1);
    }

    #[test]
    fn overdue_is_said_in_words() {
        let t = task();
        let at_1925 = parse_rfc3339("2026-11-22T19:25:00Z").unwrap();
        let words = t.deadline_words(Lang::En, at_1925);
        assert!(words.overdue);
        assert_eq!(words.detail, "overdue by 25 min");
        assert_eq!(
            t.deadline_words(Lang::Ru, at_1925).detail,
            "просрочено на 25 мин"
        );
        let mut early = task();
        early.overdue = false;
        let at_1800 = parse_rfc3339("2026-11-22T18:00:00Z").unwrap();
        let words = early.deadline_words(Lang::En, at_1800);
        assert!(!words.overdue);
        assert_eq!(words.detail, "due in 1 h");
        assert_eq!(early.waiting_words(Lang::En, at_1925), "waiting 1 h 25 min");
        // The local clock running late does not hide the server's verdict.
        assert!(t.deadline_words(Lang::En, at_1800).overdue);
        // A signed report is never overdue.
        let mut signed = task();
        signed.status = "final".into();
        assert_eq!(
            signed.deadline_words(Lang::En, at_1925),
            DeadlineWords {
                overdue: false,
                detail: String::new()
            }
        );
    }

    #[test]
    fn each_role_gets_its_row_actions() {
        use TaskAction::*;
        let t = task();
        assert_eq!(t.actions(&me(Role::Radiologist)), vec![Open]);
        assert_eq!(
            t.actions(&me(Role::Admin)),
            vec![View, Assign, BreakLock, Priority]
        );
        assert_eq!(t.actions(&me(Role::Site)), vec![View, Priority]);
        assert_eq!(t.actions(&me(Role::Referrer)), vec![View]);
        let mut unlocked = task();
        unlocked.lock = None;
        assert_eq!(
            unlocked.actions(&me(Role::Admin)),
            vec![View, Assign, Priority]
        );
        let mut signed = task();
        signed.status = "final".into();
        assert_eq!(signed.actions(&me(Role::Admin)), vec![View]);
        assert_eq!(signed.actions(&me(Role::Radiologist)), vec![Open]);
    }

    #[test]
    fn the_filter_round_trips_through_the_address() {
        let filter = WorklistFilter::from_pairs(&parse_query(
            "?status=preliminary&site=andijan&modality=ct&mine=1&offset=50",
        ));
        assert_eq!(
            filter,
            WorklistFilter {
                status: "preliminary".into(),
                site: "andijan".into(),
                modality: "CT".into(),
                mine: true,
                offset: 50,
            }
        );
        assert_eq!(
            WorklistFilter::from_pairs(&parse_query(&filter.to_page_query())),
            filter
        );
        assert_eq!(
            filter.to_api_query(),
            "status=preliminary&site=andijan&modality=CT&mine=true&limit=50&offset=50"
        );
        assert_eq!(filter.page(false).offset, 0);
        assert_eq!(filter.page(true).offset, 100);
        assert_eq!(WorklistFilter::default().to_page_query(), "");
        assert_eq!(
            WorklistFilter::default().to_api_query(),
            "limit=50&offset=0"
        );
        assert_eq!(
            WorklistFilter::from_pairs(&parse_query("status=bogus")).status,
            ""
        );
    }

    #[test]
    fn every_status_priority_and_action_has_words() {
        let mut keys: Vec<String> = STATUSES.iter().map(|s| status_key(s)).collect();
        keys.extend(PRIORITIES.map(priority_key));
        keys.extend(
            [
                TaskAction::Open,
                TaskAction::View,
                TaskAction::Assign,
                TaskAction::BreakLock,
                TaskAction::Priority,
            ]
            .map(|a| a.label_key().to_owned()),
        );
        for key in keys {
            for lang in Lang::ALL {
                assert_ne!(t(lang, &key), key, "{key} has no text");
            }
        }
        assert_eq!(range_words(Lang::En, 50, 10, 60), "Studies 51–60 of 60");
        assert_eq!(range_words(Lang::En, 0, 0, 0), "No studies to read");
    }

    #[test]
    fn a_lock_is_renewed_five_times_per_lease_and_at_least_every_minute() {
        let lock = |lease: Option<u64>| Lock {
            holder: "karimov".into(),
            holder_name: None,
            expires_at: None,
            lease_seconds: lease,
        };
        assert_eq!(lock(Some(300)).renew_every_ms(), 60_000.0);
        assert_eq!(lock(Some(60)).renew_every_ms(), 12_000.0);
        assert_eq!(lock(Some(3600)).renew_every_ms(), 60_000.0);
        assert_eq!(lock(Some(1)).renew_every_ms(), 5_000.0);
        assert_eq!(lock(None).renew_every_ms(), 60_000.0);
    }
}
