//! Queries (QIDO-RS, PS3.18 §8.3.4, and C-FIND, PS3.4 C.2.2.2): what can
//! be matched, and how a query string is turned into a typed [`Query`].

use crate::uid::Uid;

/// The level a query returns. QIDO-RS searches studies, series and
/// instances; DIMSE C-FIND (Patient Root) also patients. Ordered from the
/// top of the hierarchy down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Patient,
    Study,
    Series,
    Instance,
}

/// Attributes the index can match on and return without opening an
/// instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attribute {
    PatientName,
    PatientId,
    PatientBirthDate,
    PatientSex,
    StudyInstanceUid,
    StudyDate,
    StudyTime,
    AccessionNumber,
    StudyId,
    StudyDescription,
    ReferringPhysicianName,
    ModalitiesInStudy,
    SeriesInstanceUid,
    Modality,
    SeriesNumber,
    SeriesDescription,
    BodyPartExamined,
    PerformedProcedureStepStartDate,
    PerformedProcedureStepStartTime,
    /// Requested Procedure ID of an item of the series' Request
    /// Attributes Sequence: a series matches when any item does.
    RequestedProcedureId,
    /// Scheduled Procedure Step ID of an item of the series' Request
    /// Attributes Sequence.
    ScheduledProcedureStepId,
    SopInstanceUid,
    SopClassUid,
    InstanceNumber,
}

/// How an attribute is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// Free text: single value or `*`/`?` wildcards.
    Text,
    /// Person name: like text, case-insensitive.
    PersonName,
    /// Date `YYYYMMDD`, or a range `A-B`, `A-`, `-B`.
    Date,
    /// Time `HHMMSS[.F]`, or a range.
    Time,
    /// A UID or a list of UIDs separated by `,` or `\`.
    Uid,
    /// An integer.
    Integer,
}

impl Attribute {
    pub const ALL: [Attribute; 24] = [
        Attribute::PatientName,
        Attribute::PatientId,
        Attribute::PatientBirthDate,
        Attribute::PatientSex,
        Attribute::StudyInstanceUid,
        Attribute::StudyDate,
        Attribute::StudyTime,
        Attribute::AccessionNumber,
        Attribute::StudyId,
        Attribute::StudyDescription,
        Attribute::ReferringPhysicianName,
        Attribute::ModalitiesInStudy,
        Attribute::SeriesInstanceUid,
        Attribute::Modality,
        Attribute::SeriesNumber,
        Attribute::SeriesDescription,
        Attribute::BodyPartExamined,
        Attribute::PerformedProcedureStepStartDate,
        Attribute::PerformedProcedureStepStartTime,
        Attribute::RequestedProcedureId,
        Attribute::ScheduledProcedureStepId,
        Attribute::SopInstanceUid,
        Attribute::SopClassUid,
        Attribute::InstanceNumber,
    ];

    /// Whether the attribute's VR is CS (a code string: upper case
    /// letters, digits, space and underscore).
    pub fn is_code_string(self) -> bool {
        matches!(
            self,
            Attribute::PatientSex
                | Attribute::ModalitiesInStudy
                | Attribute::Modality
                | Attribute::BodyPartExamined
        )
    }

    /// Keyword and tag (group, element); of an attribute of a sequence's
    /// items ([`Attribute::sequence`]), the item attribute's own.
    pub fn keyword_and_tag(self) -> (&'static str, u16, u16) {
        match self {
            Attribute::PatientName => ("PatientName", 0x0010, 0x0010),
            Attribute::PatientId => ("PatientID", 0x0010, 0x0020),
            Attribute::PatientBirthDate => ("PatientBirthDate", 0x0010, 0x0030),
            Attribute::PatientSex => ("PatientSex", 0x0010, 0x0040),
            Attribute::StudyInstanceUid => ("StudyInstanceUID", 0x0020, 0x000D),
            Attribute::StudyDate => ("StudyDate", 0x0008, 0x0020),
            Attribute::StudyTime => ("StudyTime", 0x0008, 0x0030),
            Attribute::AccessionNumber => ("AccessionNumber", 0x0008, 0x0050),
            Attribute::StudyId => ("StudyID", 0x0020, 0x0010),
            Attribute::StudyDescription => ("StudyDescription", 0x0008, 0x1030),
            Attribute::ReferringPhysicianName => ("ReferringPhysicianName", 0x0008, 0x0090),
            Attribute::ModalitiesInStudy => ("ModalitiesInStudy", 0x0008, 0x0061),
            Attribute::SeriesInstanceUid => ("SeriesInstanceUID", 0x0020, 0x000E),
            Attribute::Modality => ("Modality", 0x0008, 0x0060),
            Attribute::SeriesNumber => ("SeriesNumber", 0x0020, 0x0011),
            Attribute::SeriesDescription => ("SeriesDescription", 0x0008, 0x103E),
            Attribute::BodyPartExamined => ("BodyPartExamined", 0x0018, 0x0015),
            Attribute::PerformedProcedureStepStartDate => {
                ("PerformedProcedureStepStartDate", 0x0040, 0x0244)
            }
            Attribute::PerformedProcedureStepStartTime => {
                ("PerformedProcedureStepStartTime", 0x0040, 0x0245)
            }
            Attribute::RequestedProcedureId => ("RequestedProcedureID", 0x0040, 0x1001),
            Attribute::ScheduledProcedureStepId => ("ScheduledProcedureStepID", 0x0040, 0x0009),
            Attribute::SopInstanceUid => ("SOPInstanceUID", 0x0008, 0x0018),
            Attribute::SopClassUid => ("SOPClassUID", 0x0008, 0x0016),
            Attribute::InstanceNumber => ("InstanceNumber", 0x0020, 0x0013),
        }
    }

    pub fn match_kind(self) -> MatchKind {
        match self {
            Attribute::PatientName | Attribute::ReferringPhysicianName => MatchKind::PersonName,
            Attribute::PatientBirthDate
            | Attribute::StudyDate
            | Attribute::PerformedProcedureStepStartDate => MatchKind::Date,
            Attribute::StudyTime | Attribute::PerformedProcedureStepStartTime => MatchKind::Time,
            Attribute::StudyInstanceUid
            | Attribute::SeriesInstanceUid
            | Attribute::SopInstanceUid
            | Attribute::SopClassUid => MatchKind::Uid,
            Attribute::SeriesNumber | Attribute::InstanceNumber => MatchKind::Integer,
            _ => MatchKind::Text,
        }
    }

    /// The lowest level the attribute belongs to.
    pub fn level(self) -> Level {
        match self {
            Attribute::SeriesInstanceUid
            | Attribute::Modality
            | Attribute::SeriesNumber
            | Attribute::SeriesDescription
            | Attribute::BodyPartExamined
            | Attribute::PerformedProcedureStepStartDate
            | Attribute::PerformedProcedureStepStartTime
            | Attribute::RequestedProcedureId
            | Attribute::ScheduledProcedureStepId => Level::Series,
            Attribute::SopInstanceUid | Attribute::SopClassUid | Attribute::InstanceNumber => {
                Level::Instance
            }
            Attribute::PatientName
            | Attribute::PatientId
            | Attribute::PatientBirthDate
            | Attribute::PatientSex => Level::Patient,
            _ => Level::Study,
        }
    }

    /// The sequence (keyword, group, element) whose items hold the
    /// attribute, for those matched within a sequence (PS3.18 Table
    /// 10.6.1-5 names two such for series).
    pub fn sequence(self) -> Option<(&'static str, u16, u16)> {
        match self {
            Attribute::RequestedProcedureId | Attribute::ScheduledProcedureStepId => {
                Some(("RequestAttributesSequence", 0x0040, 0x0275))
            }
            _ => None,
        }
    }

    /// Looks an attribute up by keyword or by tag as 8 hex digits; one
    /// of a sequence's items by its path, `Sequence.Attribute` (PS3.18
    /// §8.3.4.1), each part a keyword or a tag.
    pub fn from_key(key: &str) -> Option<Attribute> {
        let names = |(kw, g, e): (&str, u16, u16), part: &str| {
            kw == part || format!("{g:04X}{e:04X}").eq_ignore_ascii_case(part)
        };
        let (sequence, own) = match key.split_once('.') {
            Some((sequence, own)) => (Some(sequence), own),
            None => (None, key),
        };
        Attribute::ALL.into_iter().find(|a| {
            let in_sequence = match (sequence, a.sequence()) {
                (None, None) => true,
                (Some(part), Some(seq)) => names(seq, part),
                _ => false,
            };
            in_sequence && names(a.keyword_and_tag(), own)
        })
    }
}

/// A matching value, already validated for its attribute's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchValue {
    /// Exact match (case-insensitive for person names).
    Exact(String),
    /// `*` and `?` wildcards.
    Wildcard(String),
    /// One of these UIDs.
    UidList(Vec<String>),
    /// Any of these values, each exact or with wildcards: a text key with
    /// several values (`CT\\MR`, and `CT,MR` for code strings).
    AnyOf(Vec<String>),
    /// Inclusive range; either end may be open. Dates as `YYYYMMDD`,
    /// times as `HHMMSS`.
    Range(Option<String>, Option<String>),
}

/// One matching key of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub attribute: Attribute,
    pub value: MatchValue,
}

/// How a query's matches are split into pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Paging {
    /// The level's reading order (newest study first), [`Query::offset`]
    /// matches skipped: QIDO-RS `limit` and `offset`, where the client
    /// asks for each page. A study stored between two pages shifts the
    /// later ones by one.
    #[default]
    Offset,
    /// A walk through every match, each page resuming after the
    /// [`Position`] of the last match before it (C-FIND, which answers
    /// with all matches while the archive goes on storing). No match is
    /// repeated and none that was indexed when the walk began is left
    /// out, whatever is stored meanwhile (an instance replaced meanwhile
    /// is a new match, and may come again in its new version). The order
    /// is the index's own: studies newest first, series and instances in
    /// the order they were stored, patients by Patient ID.
    Walk { after: Option<Position> },
}

/// Where a match lies in a [`Paging::Walk`]: taken from a result
/// ([`crate::index::SearchRow::position`]) and given back to resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position(pub(crate) Key);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    /// A study, series or instance: the index's row key at that level.
    Row(Level, i64),
    /// A patient: the Patient ID, `None` for the studies without one.
    Patient(Option<String>),
}

/// A validated QIDO-RS query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub level: Level,
    /// Scope from the path (`/studies/{s}/series`, ...).
    pub study: Option<Uid>,
    pub series: Option<Uid>,
    pub matches: Vec<Match>,
    /// `includefield=all`.
    pub include_all: bool,
    /// Extra attributes asked for by `includefield`, as (group, element).
    pub include: Vec<(u16, u16)>,
    pub limit: usize,
    /// Matches skipped before the page; only for [`Paging::Offset`].
    pub offset: usize,
    pub paging: Paging,
    /// `fuzzymatching=true`: person names match on any name component prefix.
    pub fuzzy: bool,
    /// The studies the caller may see; nothing outside is matched.
    pub scope: crate::workflow::StudyScope,
}

/// Default and maximum number of results per query.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 10_000;

/// Why a query string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("{key}: {reason}")]
    BadValue { key: String, reason: String },
    #[error("{0} is not a number")]
    BadNumber(String),
    /// A key that names no attribute: a typing slip (`PatientNmae`) that,
    /// ignored, would widen the search to every patient.
    #[error(
        "{0} is not a DICOM attribute keyword or tag (such as PatientName or 00100010), \
         nor one of limit, offset, fuzzymatching, includefield"
    )]
    UnknownKey(String),
    #[error("{key} is {value:?}; it takes {takes}")]
    BadParameter {
        key: &'static str,
        value: String,
        takes: &'static str,
    },
}

impl Query {
    pub fn new(level: Level) -> Query {
        Query {
            level,
            study: None,
            series: None,
            matches: Vec::new(),
            include_all: false,
            include: Vec::new(),
            limit: DEFAULT_LIMIT,
            offset: 0,
            paging: Paging::Offset,
            fuzzy: false,
            scope: Default::default(),
        }
    }

    /// Builds a query from URL query pairs. Attributes the archive does
    /// not match on are returned as warnings (PS3.18 lets the server
    /// ignore them); a key that names no attribute at all is an error.
    pub fn from_pairs<'a>(
        level: Level,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(Query, Vec<String>), QueryError> {
        let mut q = Query::new(level);
        let mut warnings = Vec::new();
        for (key, value) in pairs {
            match key {
                "limit" => {
                    let asked = value
                        .parse::<usize>()
                        .map_err(|_| QueryError::BadNumber(value.into()))?;
                    if asked == 0 {
                        return Err(QueryError::BadParameter {
                            key: "limit",
                            value: value.into(),
                            takes: "a number of results from 1",
                        });
                    }
                    if asked > MAX_LIMIT {
                        warnings.push(format!(
                            "limit {asked} is more than the {MAX_LIMIT} results this archive \
                             answers at once: ask for the rest with offset"
                        ));
                    }
                    q.limit = asked.min(MAX_LIMIT)
                }
                "offset" => {
                    q.offset = value
                        .parse()
                        .map_err(|_| QueryError::BadNumber(value.into()))?
                }
                "fuzzymatching" => {
                    q.fuzzy = match value.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(QueryError::BadParameter {
                                key: "fuzzymatching",
                                value: value.into(),
                                takes: "true or false",
                            });
                        }
                    }
                }
                "includefield" => {
                    for field in value.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                        if field == "all" {
                            q.include_all = true;
                        } else if let Some(t) = parse_tag(field) {
                            q.include.push(t);
                        } else {
                            return Err(QueryError::BadParameter {
                                key: "includefield",
                                value: field.into(),
                                takes: "all, or attribute keywords or tags",
                            });
                        }
                    }
                }
                _ => match Attribute::from_key(key) {
                    Some(attribute) => {
                        if value.is_empty() {
                            // an empty matching key only asks for the attribute to be returned
                            continue;
                        }
                        let value = parse_value(attribute, value).map_err(|reason| {
                            QueryError::BadValue {
                                key: key.into(),
                                reason,
                            }
                        })?;
                        // (a series' modality at study level asks for the
                        // studies with such a series)
                        let modality_of_study =
                            level == Level::Study && attribute == Attribute::Modality;
                        if attribute.level() > level && !modality_of_study {
                            warnings.push(format!(
                                "matching on {key} (of each {}) is not supported in a search \
                                 for {} and was ignored",
                                level_noun(attribute.level()),
                                level_plural(level)
                            ));
                            continue;
                        }
                        q.matches.push(Match { attribute, value });
                    }
                    None if key.split('.').all(|part| parse_tag(part).is_some()) => warnings.push(
                        format!("matching on {key} is not supported and was ignored"),
                    ),
                    None => return Err(QueryError::UnknownKey(key.into())),
                },
            }
        }
        Ok((q, warnings))
    }
}

/// The form of a person's name (PN) that matching compares, so that the
/// ways one name gets typed at a district hospital's console find each
/// other:
/// - upper case, each component trimmed, and empty trailing components
///   and groups dropped, since PS3.5 §6.2 lets a sender leave them out or
///   not: `Yusupov^Akmal^^^` and `yusupov ^ akmal` are `YUSUPOV^AKMAL`;
/// - words within a component (split by spaces or hyphens) are
///   components of their own: `Иванов Иван` is `ИВАНОВ^ИВАН`, as is
///   `Иванов^Иван`, and `Ivanov^Ivan Petrovich` is `IVANOV^IVAN^PETROVICH`;
/// - apostrophes of any form, which Uzbek Latin spells `oʻ` and `gʻ` with
///   (U+02BB, typed as `'`, `‘`, `’` or `` ` `` or left out), are
///   dropped: `Oʻrinboyeva` and `O'rinboyeva` are `ORINBOYEVA`;
/// - `Ё` is `Е`, as Russian is mostly written.
///
/// Groups (`Latin=ideographic=phonetic`) stay apart.
pub fn person_name_key(name: &str) -> String {
    let groups: Vec<String> = name
        .split('=')
        .map(|group| {
            let components: Vec<String> = group.split('^').map(component_key).collect();
            let kept = components
                .iter()
                .rposition(|c| !c.is_empty())
                .map_or(0, |last| last + 1);
            components[..kept].join("^")
        })
        .collect();
    let kept = groups
        .iter()
        .rposition(|g| !g.is_empty())
        .map_or(0, |last| last + 1);
    groups[..kept].join("=")
}

/// One component of a name as [`person_name_key`] compares it: its words
/// joined by `^`.
fn component_key(component: &str) -> String {
    let folded: String = component
        .chars()
        .filter(|c| !is_apostrophe(*c))
        .flat_map(char::to_uppercase)
        .map(|c| if c == 'Ё' { 'Е' } else { c })
        .collect();
    folded
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("^")
}

/// The characters names are written with for an apostrophe or the Uzbek
/// okina: ASCII `'` and `` ` ``, U+2018/U+2019 quotation marks, U+02BB
/// modifier turned comma, U+02BC modifier apostrophe, U+00B4 acute.
fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '`' | '\u{2018}' | '\u{2019}' | '\u{02BB}' | '\u{02BC}' | '\u{00B4}'
    )
}

fn level_noun(level: Level) -> &'static str {
    match level {
        Level::Patient => "patient",
        Level::Study => "study",
        Level::Series => "series",
        Level::Instance => "instance",
    }
}

fn level_plural(level: Level) -> &'static str {
    match level {
        Level::Patient => "patients",
        Level::Study => "studies",
        Level::Series => "series",
        Level::Instance => "instances",
    }
}

/// A tag given as keyword or 8 hex digits.
pub fn parse_tag(field: &str) -> Option<(u16, u16)> {
    if let Some(a) = Attribute::from_key(field) {
        let (_, g, e) = a.keyword_and_tag();
        return Some((g, e));
    }
    if field.len() == 8 && field.bytes().all(|b| b.is_ascii_hexdigit()) {
        let g = u16::from_str_radix(&field[..4], 16).ok()?;
        let e = u16::from_str_radix(&field[4..], 16).ok()?;
        return Some((g, e));
    }
    let tag = dicom_dictionary_std::StandardDataDictionary.by_name(field)?;
    Some((tag.tag.inner().group(), tag.tag.inner().element()))
}

use dicom_core::dictionary::DataDictionary;

/// Reads a matching value for `attribute` (the syntax QIDO-RS and C-FIND
/// share: wildcards, ranges, UID lists).
pub fn parse_value(attribute: Attribute, raw: &str) -> Result<MatchValue, String> {
    match attribute.match_kind() {
        MatchKind::Uid => {
            let list: Vec<String> = raw
                .split([',', '\\'])
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            for u in &list {
                Uid::parse(u).map_err(|e| e.to_string())?;
            }
            Ok(if list.len() == 1 {
                MatchValue::Exact(list.into_iter().next().unwrap_or_default())
            } else {
                MatchValue::UidList(list)
            })
        }
        MatchKind::Date => range(raw, 8, "a date YYYYMMDD"),
        MatchKind::Time => time_range(raw),
        MatchKind::Integer => raw
            .trim()
            .parse::<i64>()
            .map(|i| MatchValue::Exact(i.to_string()))
            .map_err(|_| "expected an integer".to_owned()),
        MatchKind::Text | MatchKind::PersonName => {
            // A backslash separates values in every text VR; a comma only
            // in code strings, where it cannot be part of a value.
            let list: Vec<&str> = if attribute.is_code_string() {
                raw.split(['\\', ',']).collect()
            } else {
                raw.split('\\').collect()
            };
            let list: Vec<&str> = list.into_iter().filter(|v| !v.is_empty()).collect();
            let value = match list[..] {
                [_, _, ..] => {
                    return Ok(MatchValue::AnyOf(
                        list.into_iter().map(str::to_owned).collect(),
                    ));
                }
                [one] => one,
                [] => raw,
            };
            if value.contains(['*', '?']) {
                Ok(MatchValue::Wildcard(value.to_owned()))
            } else {
                Ok(MatchValue::Exact(value.to_owned()))
            }
        }
    }
}

fn range(raw: &str, exact_len: usize, what: &str) -> Result<MatchValue, String> {
    let raw = raw.trim().replace('.', "").replace('-', "~");
    let valid = |s: &str| {
        s.bytes().all(|b| b.is_ascii_digit())
            && (exact_len == 0 || s.len() == exact_len)
            && (exact_len != 8 || is_calendar_date(s))
    };
    // dates in ISO form (2024-01-31) are accepted too: re-join their parts
    let raw = if raw.matches('~').count() == 2 || raw.matches('~').count() == 5 {
        iso_dates(&raw)
    } else {
        raw
    };
    match raw.split_once('~') {
        None if valid(&raw) => Ok(MatchValue::Exact(raw)),
        Some((a, b)) if (a.is_empty() || valid(a)) && (b.is_empty() || valid(b)) => {
            if a.is_empty() && b.is_empty() {
                return Err(format!("expected {what} or a range"));
            }
            Ok(MatchValue::Range(
                (!a.is_empty()).then(|| a.to_owned()),
                (!b.is_empty()).then(|| b.to_owned()),
            ))
        }
        _ => Err(format!("expected {what} or a range of them")),
    }
}

/// A time or a range of times (`HHMMSS.FFFFFF`, shorter forms, or
/// `HH:MM:SS`). A time matches the whole of its last unit: `1643` is any
/// time in that minute, `164332` any in that second, however precisely
/// stored; a fraction's trailing zeros say nothing, so `164332.000` is
/// `164332`. Times are stored as sent and compared as text.
fn time_range(raw: &str) -> Result<MatchValue, String> {
    fn time(t: &str) -> Option<String> {
        let t = t.trim().replace(':', "");
        let (whole, fraction) = t.split_once('.').unwrap_or((&t, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 6
            || whole.len() % 2 == 1
            || !digits(whole)
            || fraction.len() > 6
            || !digits(fraction)
            || (!fraction.is_empty() && whole.len() != 6)
        {
            return None;
        }
        // Hours, minutes and seconds in range (60: a leap second).
        let limits = [23, 59, 60];
        for (i, limit) in limits.iter().enumerate().take(whole.len() / 2) {
            let unit: u32 = whole[2 * i..2 * i + 2].parse().ok()?;
            if unit > *limit {
                return None;
            }
        }
        let fraction = fraction.trim_end_matches('0');
        Some(if fraction.is_empty() {
            whole.to_owned()
        } else {
            format!("{whole}.{fraction}")
        })
    }
    let what = "expected a time HHMMSS[.FFFFFF] or a range of them";
    match raw.split_once('-') {
        None => {
            let t = time(raw).ok_or(what)?;
            Ok(MatchValue::Range(Some(t.clone()), Some(t)))
        }
        Some((a, b)) => {
            let end = |s: &str| match s.trim() {
                "" => Ok(None),
                s => time(s).map(Some).ok_or(what),
            };
            match (end(a)?, end(b)?) {
                (None, None) => Err(what.to_owned()),
                (lo, hi) => Ok(MatchValue::Range(lo, hi)),
            }
        }
    }
}

/// Whether `yyyymmdd` (eight digits) is a day of the calendar: a search
/// for 20251301 is a mistake to say, not a search that finds nothing.
fn is_calendar_date(yyyymmdd: &str) -> bool {
    let part = |r: std::ops::Range<usize>| yyyymmdd.get(r).and_then(|p| p.parse::<u32>().ok());
    let (Some(year), Some(month), Some(day)) = (part(0..4), part(4..6), part(6..8)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// `2024~01~31` → `20240131`; `2024~01~01~2024~12~31` → `20240101~20241231`.
fn iso_dates(s: &str) -> String {
    let parts: Vec<&str> = s.split('~').collect();
    match parts.len() {
        3 => parts.concat(),
        6 => format!("{}~{}", parts[..3].concat(), parts[3..].concat()),
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests;
