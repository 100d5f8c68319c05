//! Turning DICOM value formats (PN, DA, TM) and unix times into what a
//! reader expects, and back into DICOM and FHIR forms.

use crate::model::{Lang, UnixMillis};

/// A DICOM person name (`Family^Given^Middle^Prefix^Suffix`, maybe followed
/// by `=`-separated ideographic and phonetic groups) as a reader writes it:
/// `Ivanov^Ivan^Petrovich` → `Ivanov, Ivan Petrovich`; a second form that
/// differs follows in parentheses (`Ivanov, Ivan (Иванов, Иван)`). A name
/// without `^` is taken as free text.
pub fn person_name(pn: &str) -> String {
    person_name_in(pn, |_| true)
}

/// [`person_name`] with only the groups whose every character `renders`:
/// a typeface without CJK glyphs shows the Latin form alone rather than
/// a row of question marks.
pub fn person_name_in(pn: &str, renders: impl Fn(char) -> bool) -> String {
    let mut groups = pn
        .split('=')
        .map(group_name)
        .filter(|g| !g.is_empty() && g.chars().all(|c| c == ' ' || renders(c)));
    let first = groups.next().unwrap_or_default();
    match groups.find(|other| *other != first) {
        Some(other) => format!("{first} ({other})"),
        None => first,
    }
}

/// One component group of a person name, as [`person_name`] writes it.
fn group_name(group: &str) -> String {
    let group = group.trim();
    if !group.contains('^') {
        return collapse_spaces(group);
    }
    let mut parts = group.split('^').map(collapse_spaces);
    let family = parts.next().unwrap_or_default();
    let given = parts.next().unwrap_or_default();
    let middle = parts.next().unwrap_or_default();
    let prefix = parts.next().unwrap_or_default();
    let suffix = parts.next().unwrap_or_default();

    let forenames = [prefix.as_str(), given.as_str(), middle.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    [family.as_str(), forenames.as_str(), suffix.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Year, month, day of a DICOM DA (`YYYYMMDD`), if it is one.
pub fn parse_da(da: &str) -> Option<(i32, u32, u32)> {
    let da = da.trim();
    if da.len() != 8 || !da.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y = da[0..4].parse().ok()?;
    let m = da[4..6].parse().ok()?;
    let d = da[6..8].parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// Hour, minute, second of a DICOM TM (`HH`, `HHMM`, `HHMMSS`, with an
/// optional fraction, or the older `HH:MM:SS`).
pub fn parse_tm(tm: &str) -> Option<(u32, u32, u32)> {
    let digits: String = tm
        .trim()
        .split('.')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| *c != ':')
        .collect();
    if !matches!(digits.len(), 2 | 4 | 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |i: usize| {
        digits
            .get(i..i + 2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    let (h, m, s) = (field(0), field(2), field(4));
    (h < 24 && m < 60 && s < 61).then_some((h, m, s))
}

/// A DA for readers of `lang`: ISO for English (unambiguous on both sides
/// of the Atlantic), `DD.MM.YYYY` for Russian and Uzbek. A malformed value is
/// shown as it is.
pub fn display_date(da: &str, lang: Lang) -> String {
    match parse_da(da) {
        Some((y, m, d)) => match lang {
            Lang::En => format!("{y:04}-{m:02}-{d:02}"),
            Lang::Ru | Lang::Uz => format!("{d:02}.{m:02}.{y:04}"),
        },
        None => da.trim().to_string(),
    }
}

/// A TM as `HH:MM`; a malformed value is shown as it is.
pub fn display_time(tm: &str) -> String {
    match parse_tm(tm) {
        Some((h, m, _)) => format!("{h:02}:{m:02}"),
        None => tm.trim().to_string(),
    }
}

/// A moment split into civil fields at a fixed offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub offset_minutes: i32,
}

impl Civil {
    pub fn at(t: UnixMillis, offset_minutes: i32) -> Civil {
        let secs = t.div_euclid(1000) + i64::from(offset_minutes) * 60;
        let days = secs.div_euclid(86_400);
        let in_day = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        // in_day < 86 400, so these fit.
        let in_day = u32::try_from(in_day).unwrap_or(0);
        Civil {
            year,
            month,
            day,
            hour: in_day / 3600,
            minute: in_day / 60 % 60,
            second: in_day % 60,
            offset_minutes,
        }
    }

    /// `YYYYMMDD`.
    pub fn dicom_date(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// `HHMMSS`.
    pub fn dicom_time(&self) -> String {
        format!("{:02}{:02}{:02}", self.hour, self.minute, self.second)
    }

    /// `+HHMM`, as Timezone Offset From UTC wants it.
    pub fn dicom_offset(&self) -> String {
        let (sign, h, m) = self.offset_parts();
        format!("{sign}{h:02}{m:02}")
    }

    /// RFC 3339 with the offset, e.g. `2026-03-01T14:05:00+05:00`.
    pub fn rfc3339(&self) -> String {
        let (sign, h, m) = self.offset_parts();
        let zone = if self.offset_minutes == 0 {
            "Z".to_string()
        } else {
            format!("{sign}{h:02}:{m:02}")
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// Date and time for readers of `lang`, with the offset spelled out:
    /// `2026-03-01 14:05 (UTC+05:00)`.
    pub fn display(&self, lang: Lang) -> String {
        let date = match lang {
            Lang::En => format!("{:04}-{:02}-{:02}", self.year, self.month, self.day),
            Lang::Ru | Lang::Uz => format!("{:02}.{:02}.{:04}", self.day, self.month, self.year),
        };
        let (sign, h, m) = self.offset_parts();
        format!(
            "{date} {:02}:{:02} (UTC{sign}{h:02}:{m:02})",
            self.hour, self.minute
        )
    }

    fn offset_parts(&self) -> (char, u32, u32) {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let abs = self.offset_minutes.unsigned_abs();
        (sign, abs / 60, abs % 60)
    }
}

/// Proleptic Gregorian date of a day count from 1970-01-01, by splitting
/// time into 400-year eras (146 097 days each) whose years start in March,
/// so that the leap day is the last day of a year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468; // days from 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_names_read_family_first() {
        assert_eq!(person_name("Ivanov^Ivan"), "Ivanov, Ivan");
        assert_eq!(
            person_name("Ivanov^Ivan^Petrovich"),
            "Ivanov, Ivan Petrovich"
        );
        assert_eq!(person_name("Smith^John^^Dr^Jr"), "Smith, Dr John, Jr");
        assert_eq!(person_name("Ivanov"), "Ivanov");
        assert_eq!(person_name("Ivanov^"), "Ivanov");
        assert_eq!(person_name("^Ivan"), "Ivan");
        assert_eq!(person_name("Иванов^Иван=Иванов^Иван"), "Иванов, Иван");
        assert_eq!(
            person_name("Ivanov^Ivan=Иванов^Иван"),
            "Ivanov, Ivan (Иванов, Иван)"
        );
        assert_eq!(
            person_name("Yamada^Tarou=山田^太郎=やまだ^たろう"),
            "Yamada, Tarou (山田, 太郎)"
        );
        assert_eq!(
            person_name_in("Yamada^Tarou=山田^太郎", |c| c.is_ascii()),
            "Yamada, Tarou"
        );
        assert_eq!(person_name("Karimova^Oʻgʻiloy "), "Karimova, Oʻgʻiloy");
        assert_eq!(person_name("  John   Smith "), "John Smith");
        assert_eq!(person_name(""), "");
        assert_eq!(person_name("^^^^"), "");
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(display_date("19800514", Lang::En), "1980-05-14");
        assert_eq!(display_date("19800514", Lang::Ru), "14.05.1980");
        assert_eq!(display_date("1980", Lang::Ru), "1980");
        assert_eq!(display_date("19801314", Lang::En), "19801314");
        assert_eq!(display_time("143005.123"), "14:30");
        assert_eq!(display_time("14:30:05"), "14:30");
        assert_eq!(display_time("0930"), "09:30");
        assert_eq!(display_time("9"), "9");
        assert_eq!(parse_tm("2460"), None);
    }

    #[test]
    fn civil_times() {
        // 2026-03-01T09:05:07Z
        let t = 1_772_355_907_000;
        let utc = Civil::at(t, 0);
        assert_eq!(utc.rfc3339(), "2026-03-01T09:05:07Z");
        let tashkent = Civil::at(t, 300);
        assert_eq!(tashkent.rfc3339(), "2026-03-01T14:05:07+05:00");
        assert_eq!(tashkent.dicom_date(), "20260301");
        assert_eq!(tashkent.dicom_time(), "140507");
        assert_eq!(tashkent.dicom_offset(), "+0500");
        assert_eq!(tashkent.display(Lang::Ru), "01.03.2026 14:05 (UTC+05:00)");
        let west = Civil::at(t, -630);
        assert_eq!(west.rfc3339(), "2026-02-28T22:35:07-10:30");
        assert_eq!(Civil::at(0, 0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Civil::at(-1, 0).rfc3339(), "1969-12-31T23:59:59Z");
        // Leap day.
        assert_eq!(Civil::at(951_782_400_000, 0).dicom_date(), "20000229");
    }
}
