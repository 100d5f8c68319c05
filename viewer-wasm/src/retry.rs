//! When a failed request is worth sending again, and how long to wait
//! first.
//!
//! District hospitals and reading rooms sit behind slow links that drop
//! connections: a VPN that reconnects, a radio hop that fades, a proxy
//! restarted at night. A slice whose request broke that way is asked for
//! again, after a wait that doubles up to [`MAX_DELAY_MS`], for as long as
//! its series is open; the page says meanwhile that the connection was
//! lost. An answer that will not change by asking again (not found,
//! forbidden, a bad request) is an error at once.

/// The first wait, in milliseconds.
pub const FIRST_DELAY_MS: i32 = 500;

/// The longest wait between two attempts, in milliseconds: a link that
/// comes back is used within this long.
pub const MAX_DELAY_MS: i32 = 8_000;

/// Whether an HTTP status says "not now" rather than "no": the server or
/// a proxy in front of it is overloaded, restarting or timed out.
pub fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 502 | 503 | 504)
}

/// How long to wait before attempt `attempt` (1 for the first retry):
/// `FIRST_DELAY_MS` doubled for each earlier retry, at most
/// `MAX_DELAY_MS`.
pub fn delay_ms(attempt: u32) -> i32 {
    let doublings = attempt.saturating_sub(1).min(16);
    FIRST_DELAY_MS
        .saturating_mul(1 << doublings)
        .min(MAX_DELAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passing_troubles_are_retried() {
        for status in [408, 429, 502, 503, 504] {
            assert!(transient_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 406, 410, 500, 501] {
            assert!(!transient_status(status), "{status}");
        }
    }

    #[test]
    fn waits_double_up_to_the_cap() {
        let waits: Vec<i32> = (1..=7).map(delay_ms).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(delay_ms(0), FIRST_DELAY_MS);
        assert_eq!(delay_ms(u32::MAX), MAX_DELAY_MS);
    }
}
