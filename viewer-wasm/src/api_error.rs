//! Why a call to the archive's own API (`/api/...`) failed, read from the
//! status and the `{"error": "..."}` body, and said in the page's
//! language.
//!
//! 401 is not an error the page shows: it means "not signed in", and the
//! pages answer it with the sign-in form.

use serde::Deserialize;
use viewer_core::i18n::{Lang, t, t_with};

/// The error body every API route sends with a non-2xx status.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    /// On 409 from claim: who holds the study.
    #[serde(default)]
    holder: Option<String>,
    /// On 409: why, in a word (`idle`: the study went back to the
    /// worklist after the page stood unused).
    #[serde(default)]
    reason: Option<String>,
    /// On 429 from sign-in: what is refused (`name` when only browsers
    /// that signed in under the name before may).
    #[serde(default)]
    refused: Option<String>,
}

/// A failed API call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// `fetch` failed: no connection, server down.
    #[error("the archive server cannot be reached")]
    Unreachable,
    /// 401: no session, or it expired.
    #[error("not signed in")]
    SignedOut,
    /// 403: signed in, but the role or site does not allow it.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// 409: someone else holds the study, or the report changed state.
    #[error("conflict: {message}")]
    Conflict {
        message: String,
        holder: Option<String>,
        /// Why, in a word the page chooses its own sentence by (`idle`).
        reason: Option<String>,
    },
    /// 429: too many attempts; wait `retry_after` seconds, unless
    /// `known_browsers_pass` (a browser that signed in under the name
    /// before may sign in now).
    #[error("too many attempts: {message}")]
    TooMany {
        message: String,
        retry_after: Option<u64>,
        known_browsers_pass: bool,
    },
    /// Any other error status, with the server's sentence when it sent one.
    #[error("the archive answered {status}")]
    Status { status: u16, message: String },
    /// A 2xx answer whose body could not be read.
    #[error("the archive's answer could not be read: {0}")]
    Body(String),
}

impl ApiError {
    /// The error for a non-2xx answer: its status, body and `Retry-After`.
    pub fn from_response(status: u16, body: &str, retry_after: Option<&str>) -> ApiError {
        let parsed: ErrorBody = serde_json::from_str(body).unwrap_or_default();
        let message = parsed.error.unwrap_or_default();
        match status {
            401 => ApiError::SignedOut,
            403 => ApiError::Forbidden(message),
            409 => ApiError::Conflict {
                message,
                holder: parsed.holder,
                reason: parsed.reason,
            },
            429 => {
                let retry_after = retry_after
                    .and_then(|v| v.trim().parse().ok())
                    .or_else(|| seconds_in(&message));
                ApiError::TooMany {
                    message,
                    retry_after,
                    known_browsers_pass: parsed.refused.as_deref() == Some("name"),
                }
            }
            _ => ApiError::Status { status, message },
        }
    }

    /// Whether trying the same request again later may succeed (the
    /// network or the server, not the request, failed).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Unreachable | ApiError::Body(_) => true,
            ApiError::Status { status, .. } => *status >= 500 || *status == 408,
            ApiError::TooMany { .. } => true,
            _ => false,
        }
    }

    /// What the page says, in `lang`: a sentence of its own for what it
    /// recognises, followed by the server's own sentence where that adds
    /// something.
    pub fn words(&self, lang: Lang) -> String {
        let with_detail = |own: String, detail: &str| {
            if detail.trim().is_empty() {
                own
            } else {
                format!("{own}: {}", detail.trim())
            }
        };
        match self {
            ApiError::Unreachable => t(lang, "error.server_unreachable").to_owned(),
            ApiError::SignedOut => t(lang, "error.signed_out").to_owned(),
            ApiError::Forbidden(detail) => with_detail(t(lang, "error.forbidden").into(), detail),
            ApiError::Conflict { message, .. } => {
                with_detail(t(lang, "error.conflict").into(), message)
            }
            ApiError::TooMany {
                retry_after,
                known_browsers_pass,
                ..
            } => {
                let wait = match retry_after {
                    Some(s) => t_with(
                        lang,
                        "login.locked",
                        &[("wait", &crate::time::wait_words(lang, *s))],
                    ),
                    None => t(lang, "login.locked_later").to_owned(),
                };
                if *known_browsers_pass {
                    format!("{wait} {}", t(lang, "login.locked_known_browsers"))
                } else {
                    wait
                }
            }
            ApiError::Status { status, message } => with_detail(
                t_with(lang, "error.server", &[("status", &status.to_string())]),
                message,
            ),
            ApiError::Body(detail) => with_detail(t(lang, "error.unreadable").into(), detail),
        }
    }
}

/// The first whole number in a sentence ("try again in 42 s" → 42).
fn seconds_in(message: &str) -> Option<u64> {
    let start = message.find(|c: char| c.is_ascii_digit())?;
    let digits: String = message[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_become_what_the_page_does() {
        assert_eq!(
            ApiError::from_response(401, r#"{"error":"sign in"}"#, None),
            ApiError::SignedOut
        );
        assert_eq!(
            ApiError::from_response(403, r#"{"error":"admins only"}"#, None),
            ApiError::Forbidden("admins only".into())
        );
        assert_eq!(
            ApiError::from_response(
                409,
                r#"{"error":"1.2.3 is being read by Dr Karimov","holder":"karimov"}"#,
                None
            ),
            ApiError::Conflict {
                message: "1.2.3 is being read by Dr Karimov".into(),
                holder: Some("karimov".into()),
                reason: None,
            }
        );
        assert_eq!(
            ApiError::from_response(
                409,
                r#"{"error":"the study went back to the worklist","reason":"idle"}"#,
                None
            ),
            ApiError::Conflict {
                message: "the study went back to the worklist".into(),
                holder: None,
                reason: Some("idle".into()),
            }
        );
        assert_eq!(
            ApiError::from_response(502, "<html>bad gateway</html>", None),
            ApiError::Status {
                status: 502,
                message: String::new()
            }
        );
    }

    #[test]
    fn a_lockout_says_how_long_to_wait() {
        let header = ApiError::from_response(
            429,
            r#"{"error":"too many failed sign-ins; try again in 300 s"}"#,
            Some("120"),
        );
        assert_eq!(
            header,
            ApiError::TooMany {
                message: "too many failed sign-ins; try again in 300 s".into(),
                retry_after: Some(120),
                known_browsers_pass: false,
            }
        );
        assert_eq!(
            header.words(Lang::En),
            "Too many failed sign-ins. Try again in 2 min."
        );
        let body_only = ApiError::from_response(
            429,
            r#"{"error":"too many failed sign-ins; try again in 45 s"}"#,
            None,
        );
        assert_eq!(
            body_only.words(Lang::Ru),
            "Слишком много неудачных попыток входа. Повторите через 45 с."
        );
        let unknown = ApiError::from_response(429, "", None);
        assert!(unknown.words(Lang::Uz).contains("Keyinroq"));
        // Guessed at from many places: the person's own browser may sign in.
        let guessed = ApiError::from_response(
            429,
            r#"{"error":"too many failed sign-ins; try again in 60 s","refused":"name"}"#,
            Some("60"),
        );
        assert_eq!(
            guessed.words(Lang::En),
            "Too many failed sign-ins. Try again in 1 min. \
             A browser that has signed in under this name before can sign in now."
        );
    }

    #[test]
    fn transient_failures_are_retried_and_refusals_are_not() {
        assert!(ApiError::Unreachable.is_transient());
        assert!(ApiError::from_response(503, "", None).is_transient());
        assert!(!ApiError::from_response(409, "{}", None).is_transient());
        assert!(!ApiError::from_response(400, "{}", None).is_transient());
        assert!(!ApiError::SignedOut.is_transient());
    }

    #[test]
    fn words_keep_the_servers_sentence_as_detail() {
        let e = ApiError::from_response(403, r#"{"error":"not your site"}"#, None);
        assert_eq!(
            e.words(Lang::En),
            "Your account is not allowed to do this: not your site"
        );
        let e = ApiError::from_response(403, "{}", None);
        assert_eq!(e.words(Lang::Ru), "Вашей учётной записи это не разрешено");
        let e = ApiError::from_response(500, r#"{"error":"disk full"}"#, None);
        assert_eq!(
            e.words(Lang::En),
            "The server answered with an error (500): disk full"
        );
    }
}
