//! Times as the archive's own API sends them (RFC 3339, normally UTC:
//! `2026-11-22T19:04:05Z`) and spans of time in words ("1 h 5 min"), for
//! waiting times, deadlines and lockouts.

use viewer_core::i18n::{Lang, t_with};

/// Milliseconds since the Unix epoch of an RFC 3339 date-time
/// (`2026-11-22T19:04:05Z`, `…05.250Z`, `…05+05:00`); `None` for anything
/// else, so a malformed time shows as unknown rather than as 1970.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first3: String = fraction[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        millis = first3.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = &rest[1..];
            if zone.len() != 5 || zone.as_bytes()[2] != b':' {
                return None;
            }
            let h: i64 = zone[..2].parse().ok()?;
            let m: i64 = zone[3..].parse().ok()?;
            sign * (h * 60 + m)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 UTC time for milliseconds since the epoch
/// (`2026-11-22T19:04:05Z`).
pub fn format_rfc3339(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The UTC bounds of a local calendar day (`YYYY-MM-DD`, as a date input
/// gives it), for a zone `offset_minutes` east of UTC: its first second
/// and its last. `None` for anything but a valid date.
pub fn local_day_bounds(date: &str, offset_minutes: i64) -> Option<(String, String)> {
    let start = parse_rfc3339(&format!("{}T00:00:00Z", date.trim()))?;
    let start = start - offset_minutes * 60_000;
    Some((
        format_rfc3339(start),
        format_rfc3339(start + 86_400_000 - 1000),
    ))
}

/// A span of time in words: "under a minute", "25 min", "1 h 5 min",
/// "2 d 3 h". Negative spans read as their length.
pub fn duration_words(lang: Lang, ms: i64) -> String {
    let minutes = ms.unsigned_abs() / 60_000;
    if minutes == 0 {
        return viewer_core::i18n::t(lang, "time.under_minute").to_owned();
    }
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    if days > 0 {
        t_with(
            lang,
            "time.days_hours",
            &[("d", &days.to_string()), ("h", &hours.to_string())],
        )
    } else if hours > 0 && mins == 0 {
        t_with(lang, "time.hours", &[("h", &hours.to_string())])
    } else if hours > 0 {
        t_with(
            lang,
            "time.hours_minutes",
            &[("h", &hours.to_string()), ("m", &mins.to_string())],
        )
    } else {
        t_with(lang, "time.minutes", &[("m", &mins.to_string())])
    }
}

/// Seconds to wait in words, rounded up to whole minutes past a minute
/// ("40 s", "5 min"): how long a locked-out sign-in must wait.
pub fn wait_words(lang: Lang, seconds: u64) -> String {
    if seconds < 60 {
        t_with(lang, "time.seconds", &[("s", &seconds.max(1).to_string())])
    } else {
        duration_words(lang, (seconds.div_ceil(60) * 60_000) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_are_read() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-11-22T19:04:05Z"),
            Some(1_795_374_245_000)
        );
        assert_eq!(
            parse_rfc3339("2026-11-22T19:04:05.25Z"),
            Some(1_795_374_245_250)
        );
        // The same instant written in Tashkent time.
        assert_eq!(
            parse_rfc3339("2026-11-23T00:04:05+05:00"),
            parse_rfc3339("2026-11-22T19:04:05Z")
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T12:00:00Z"),
            Some(1_709_208_000_000)
        );
    }

    #[test]
    fn malformed_times_are_unknown() {
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T19:04:05",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T19:04:05.Z",
            "2026-11-22T19:04:05+0500",
            "yesterday at noon, UTC",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn formatting_reverses_parsing() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2026-11-22T19:04:05Z",
            "2000-02-29T23:59:59Z",
            "1969-12-31T23:59:59Z",
        ] {
            let ms = parse_rfc3339(text).unwrap();
            assert_eq!(format_rfc3339(ms), text);
        }
    }

    #[test]
    fn a_local_day_in_tashkent_starts_the_evening_before_in_utc() {
        assert_eq!(
            local_day_bounds("2026-11-22", 300),
            Some((
                "2026-11-21T19:00:00Z".to_owned(),
                "2026-11-22T18:59:59Z".to_owned()
            ))
        );
        assert_eq!(
            local_day_bounds("2026-01-01", 0),
            Some((
                "2026-01-01T00:00:00Z".to_owned(),
                "2026-01-01T23:59:59Z".to_owned()
            ))
        );
        assert_eq!(local_day_bounds("not a date", 0), None);
    }

    #[test]
    fn spans_read_as_words() {
        let min = 60_000;
        assert_eq!(duration_words(Lang::En, 20_000), "under a minute");
        assert_eq!(duration_words(Lang::En, 25 * min), "25 min");
        assert_eq!(duration_words(Lang::En, -(65 * min)), "1 h 5 min");
        assert_eq!(
            duration_words(Lang::En, (2 * 1440 + 3 * 60) * min),
            "2 d 3 h"
        );
        assert_eq!(duration_words(Lang::Ru, 65 * min), "1 ч 5 мин");
        assert_eq!(duration_words(Lang::Uz, 25 * min), "25 daqiqa");
        assert_eq!(duration_words(Lang::En, 120 * min), "2 h");
        assert_eq!(wait_words(Lang::En, 40), "40 s");
        assert_eq!(wait_words(Lang::En, 0), "1 s");
        assert_eq!(wait_words(Lang::En, 61), "2 min");
        assert_eq!(wait_words(Lang::Ru, 300), "5 мин");
    }
}
