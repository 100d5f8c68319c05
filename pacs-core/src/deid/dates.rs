//! Shifting DA and DT values by whole days, for the Retain Longitudinal
//! Temporal Information with Modified Dates option.
//!
//! Only the calendar date moves: the time of day, fractions and a UTC
//! offset are kept as written, so intervals between events of one patient
//! are preserved to the second. A value that is not a valid date comes
//! back as `None`, and the caller empties it rather than let an unshifted
//! date through.

/// Days since 1970-01-01 of a proleptic Gregorian date, or `None` when the
/// month or day does not exist.
fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    // Count from 0000-03-01 so that the leap day ends a year.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let day_of_year = (153 * i64::from(m) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The date `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A DA value (`YYYYMMDD`, or the old `YYYY.MM.DD`) moved by `days`,
/// written as `YYYYMMDD`.
pub fn shift_da(value: &str, days: i64) -> Option<String> {
    let value = value.trim_matches([' ', '\0']);
    let compact: String;
    let value = if value.len() == 10 && value.as_bytes()[4] == b'.' && value.as_bytes()[7] == b'.' {
        compact = value.replace('.', "");
        compact.as_str()
    } else {
        value
    };
    if value.len() != 8 {
        return None;
    }
    let year = digits(&value[0..4])?;
    let month = digits(&value[4..6])?;
    let day = digits(&value[6..8])?;
    let shifted = days_from_civil(i64::from(year), month, day)? + days;
    format_date(shifted, 8)
}

/// A DT value (`YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]`) with its date moved
/// by `days`; what follows the date is kept. A value of year or month
/// precision moves its first day and keeps its precision.
pub fn shift_dt(value: &str, days: i64) -> Option<String> {
    let value = value.trim_matches([' ', '\0']);
    if value.len() < 4 || !value.is_ascii() {
        return None;
    }
    // The date part is the leading digits, at most eight; a UTC offset
    // may follow a year or month directly.
    let date_len = value.bytes().take(8).take_while(u8::is_ascii_digit).count();
    if !matches!(date_len, 4 | 6 | 8) {
        return None;
    }
    let (date, rest) = value.split_at(date_len);
    let year = digits(&date[0..4])?;
    let month = if date_len >= 6 {
        digits(&date[4..6])?
    } else {
        1
    };
    let day = if date_len == 8 {
        digits(&date[6..8])?
    } else {
        1
    };
    let shifted = days_from_civil(i64::from(year), month, day)? + days;
    Some(format!("{}{rest}", format_date(shifted, date_len)?))
}

/// `days` since 1970-01-01 as `YYYYMMDD` cut to `len` digits, or `None`
/// outside the years DICOM can write.
fn format_date(days: i64, len: usize) -> Option<String> {
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let full = format!("{year:04}{month:02}{day:02}");
    Some(full[..len].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_across_leap_years_and_eras() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(2000, 3, 1), Some(11_017));
        assert_eq!(days_from_civil(1900, 2, 29), None);
        assert_eq!(days_from_civil(2000, 2, 29), Some(11_016));
        assert_eq!(days_from_civil(2023, 13, 1), None);
        for days in [-800_000, -1, 0, 1, 59, 60, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days), "{y}-{m}-{d}");
        }
    }

    #[test]
    fn shifts_dates_across_month_year_and_leap_day() {
        assert_eq!(shift_da("20240301", -1).as_deref(), Some("20240229"));
        assert_eq!(shift_da("20230301", -1).as_deref(), Some("20230228"));
        assert_eq!(shift_da("20250101", -1).as_deref(), Some("20241231"));
        assert_eq!(shift_da("20250101", -3653).as_deref(), Some("20150101"));
        assert_eq!(shift_da("2025.01.01", 31).as_deref(), Some("20250201"));
        assert_eq!(shift_da("20250101 ", 0).as_deref(), Some("20250101"));
    }

    #[test]
    fn invalid_dates_are_not_shifted() {
        for bad in ["", "2025", "20251301", "20250230", "2025-01-01", "abcdefgh"] {
            assert_eq!(shift_da(bad, -10), None, "{bad:?}");
        }
        assert_eq!(shift_da("00000105", -10), None);
    }

    #[test]
    fn shifts_the_date_of_a_datetime_and_keeps_the_rest() {
        assert_eq!(
            shift_dt("20240301083015.123456+0500", -1).as_deref(),
            Some("20240229083015.123456+0500")
        );
        assert_eq!(shift_dt("20240301", -1).as_deref(), Some("20240229"));
        assert_eq!(shift_dt("202403", -1).as_deref(), Some("202402"));
        assert_eq!(shift_dt("2024-0500", -1).as_deref(), Some("2023-0500"));
        assert_eq!(shift_dt("20240230120000", -1), None);
        assert_eq!(shift_dt("20240", -1), None);
    }
}
