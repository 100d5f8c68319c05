//! The audit page's model: events as `GET /api/audit` sends them, and the
//! filter (in the page's address, and sent to the API and to its CSV
//! export alike).

use serde::Deserialize;
use viewer_core::i18n::{Lang, t, t_with};

use crate::time::local_day_bounds;
use crate::url::{build_query, query_value};

/// Events per page.
pub const PAGE_SIZE: u32 = 100;

/// Actions the server records, offered as suggestions in the filter: the
/// names of what was done, or, with the outcome "denied", of what was
/// attempted. Some are only ever refusals (`administer`, `supervise`...).
pub const ACTIONS: [&str; 39] = [
    "login",
    "login_failed",
    "logout",
    "search",
    "study_view",
    "retrieve",
    "store",
    "report_view",
    "report_draft",
    "report_preliminary",
    "report_sign",
    "report_addendum",
    "key_image",
    "key_image_removed",
    "critical_flag",
    "critical_acknowledge",
    "lock_claim",
    "lock_release",
    "lock_break",
    "assign",
    "priority",
    "export",
    "share",
    "report",
    "worklist",
    "referrals",
    "notifications",
    "supervise",
    "audit_read",
    "administer",
    "forwarding",
    "peer_receive",
    "account_saved",
    "password_set",
    "account_disabled",
    "site_saved",
    "token_issued",
    "token_revoked",
    "study_refreshed",
];

/// One audited event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuditEvent {
    pub id: i64,
    pub at: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    pub action: String,
    #[serde(default)]
    pub study_uid: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub outcome: Option<String>,
}

/// One page of events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuditPage {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub events: Vec<AuditEvent>,
}

/// An action in words; the server's own name for one this page does not
/// know.
pub fn action_words(lang: Lang, action: &str) -> String {
    let key = format!("audit.action.{action}");
    let text = t(lang, &key);
    if text == key {
        action.to_owned()
    } else {
        text.to_owned()
    }
}

/// Who acted, in words. Accounts appear by name. The server writes the
/// actors that have no account in English and in parentheses (a user name
/// never holds a space, so none can look like them): the archive before
/// its first account, the identity provider refusing a sign-in, and a
/// command run at the server's console by an operating-system user.
pub fn user_words(lang: Lang, user: &str) -> String {
    match user {
        "(no accounts)" => t(lang, "audit.user.open").to_owned(),
        "(identity provider)" => t(lang, "audit.user.identity_provider").to_owned(),
        _ => match user
            .strip_prefix("(console ")
            .and_then(|rest| rest.strip_suffix(')'))
        {
            Some(operator) => t_with(lang, "audit.user.console", &[("operator", operator)]),
            None => user.to_owned(),
        },
    }
}

/// An outcome in words (`ok`, `denied`, `failed`).
pub fn outcome_words(lang: Lang, outcome: &str) -> String {
    let key = format!("audit.outcome.{outcome}");
    let text = t(lang, &key);
    if text == key {
        outcome.to_owned()
    } else {
        text.to_owned()
    }
}

/// The audit filter. Dates are local calendar days (`YYYY-MM-DD`), both
/// included.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    pub user: String,
    pub action: String,
    pub study: String,
    pub from: String,
    pub to: String,
    pub offset: u32,
}

impl AuditFilter {
    pub fn from_pairs(pairs: &[(String, String)]) -> AuditFilter {
        let value = |key| {
            query_value(pairs, key)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        AuditFilter {
            user: value("user"),
            action: value("action"),
            study: value("study"),
            from: value("from"),
            to: value("to"),
            offset: query_value(pairs, "offset")
                .and_then(|o| o.parse().ok())
                .unwrap_or(0),
        }
    }

    /// The page's own query, for the address bar.
    pub fn to_page_query(&self) -> String {
        let offset = if self.offset > 0 {
            self.offset.to_string()
        } else {
            String::new()
        };
        build_query(&[
            ("user", self.user.as_str()),
            ("action", self.action.as_str()),
            ("study", self.study.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("offset", offset.as_str()),
        ])
    }

    /// The filter as the API takes it: the days become RFC 3339 UTC
    /// times (the first second of `from`, the last of `to`) in a zone
    /// `offset_minutes` east of UTC. Days typed the wrong way round mean
    /// the days between them.
    fn api_pairs(&self, offset_minutes: i64) -> Vec<(&'static str, String)> {
        let (mut first, mut last) = (self.from.as_str(), self.to.as_str());
        let bounds = |day: &str| local_day_bounds(day, offset_minutes);
        if bounds(first).is_some() && bounds(last).is_some() && first > last {
            std::mem::swap(&mut first, &mut last);
        }
        let from = bounds(first).map(|(start, _)| start).unwrap_or_default();
        let to = bounds(last).map(|(_, end)| end).unwrap_or_default();
        vec![
            ("user", self.user.clone()),
            ("action", self.action.clone()),
            ("study", self.study.clone()),
            ("from", from),
            ("to", to),
        ]
    }

    /// The query for `GET /api/audit`.
    pub fn to_api_query(&self, offset_minutes: i64) -> String {
        let mut pairs = self.api_pairs(offset_minutes);
        pairs.push(("limit", PAGE_SIZE.to_string()));
        pairs.push(("offset", self.offset.to_string()));
        build_query(&pairs)
    }

    /// The CSV export's address, with the same filter and no paging.
    pub fn export_link(&self, offset_minutes: i64) -> String {
        format!(
            "/api/audit/export?{}",
            build_query(&self.api_pairs(offset_minutes))
        )
    }

    pub fn page(&self, forward: bool) -> AuditFilter {
        let offset = if forward {
            self.offset + PAGE_SIZE
        } else {
            self.offset.saturating_sub(PAGE_SIZE)
        };
        AuditFilter {
            offset,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::parse_query;

    #[test]
    fn events_are_read() {
        let page: AuditPage = serde_json::from_str(
            r#"{"total": 2, "events": [{"id": 1, "at": "2026-11-22T19:04:05Z", "user": "karimov",
                "role": "radiologist", "action": "report_sign", "study_uid": "1.2.3",
                "detail": "version 1", "address": "127.0.0.1", "outcome": "ok"},
               {"id": 2, "at": "2026-11-22T19:05:00Z", "user": null, "role": "",
                "action": "login_failed", "study_uid": null, "detail": "nobody",
                "address": "10.0.0.9", "outcome": "denied"}]}"#,
        )
        .unwrap();
        assert_eq!(page.total, 2);
        assert_eq!(page.events[1].user, None);
        assert_eq!(
            action_words(Lang::En, &page.events[0].action),
            "Report signed"
        );
        assert_eq!(action_words(Lang::Ru, "login_failed"), "Неудачный вход");
        assert_eq!(action_words(Lang::En, "something_new"), "something_new");
        assert_eq!(outcome_words(Lang::En, "denied"), "Denied");
        assert_eq!(outcome_words(Lang::En, "odd"), "odd");
    }

    #[test]
    fn actors_without_an_account_are_named_in_the_readers_language() {
        assert_eq!(
            user_words(Lang::Ru, "(no accounts)"),
            "(без учётных записей)"
        );
        assert_eq!(
            user_words(Lang::Uz, "(identity provider)"),
            "(kirish provayderi)"
        );
        assert_eq!(
            user_words(Lang::Ru, "(console root)"),
            "(консоль сервера: root)"
        );
        assert_eq!(
            user_words(Lang::En, "(console admin)"),
            "(server console: admin)"
        );
        // Account names, and anything else, stay as written.
        assert_eq!(user_words(Lang::Ru, "karimov"), "karimov");
        assert_eq!(user_words(Lang::Ru, "(console"), "(console");
    }

    #[test]
    fn every_known_action_has_words() {
        let mut unique = ACTIONS.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ACTIONS.len(), "each action once");
        for action in ACTIONS {
            for lang in Lang::ALL {
                assert_ne!(action_words(lang, action), action, "{action} {lang:?}");
            }
        }
        for outcome in ["ok", "denied", "failed"] {
            assert_ne!(outcome_words(Lang::Uz, outcome), outcome);
        }
    }

    #[test]
    fn the_filter_goes_to_the_api_and_the_export_alike() {
        let filter = AuditFilter::from_pairs(&parse_query(
            "user=karimov&action=report_sign&study=1.2.3&from=2026-11-22&to=2026-11-23&offset=100",
        ));
        assert_eq!(
            AuditFilter::from_pairs(&parse_query(&filter.to_page_query())),
            filter
        );
        // Tashkent, UTC+5.
        assert_eq!(
            filter.to_api_query(300),
            "user=karimov&action=report_sign&study=1.2.3&from=2026-11-21T19%3A00%3A00Z\
             &to=2026-11-23T18%3A59%3A59Z&limit=100&offset=100"
        );
        assert_eq!(
            filter.export_link(300),
            "/api/audit/export?user=karimov&action=report_sign&study=1.2.3\
             &from=2026-11-21T19%3A00%3A00Z&to=2026-11-23T18%3A59%3A59Z"
        );
        assert_eq!(filter.page(false).offset, 0);
        assert_eq!(AuditFilter::default().export_link(0), "/api/audit/export?");
        assert_eq!(AuditFilter::default().to_api_query(0), "limit=100&offset=0");
    }

    #[test]
    fn days_the_wrong_way_round_mean_the_days_between() {
        let filter = AuditFilter::from_pairs(&parse_query("from=2026-11-23&to=2026-11-22"));
        assert_eq!(
            filter.to_api_query(300),
            "from=2026-11-21T19%3A00%3A00Z&to=2026-11-23T18%3A59%3A59Z&limit=100&offset=0"
        );
    }
}
