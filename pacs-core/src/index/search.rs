//! QIDO-RS search as SQL.

use rusqlite::Connection;

use super::sqlite::name_key;
use super::{RequestItem, SearchRow};
use crate::error::IndexError;
use crate::query::{Attribute, Key, Level, MatchKind, MatchValue, Paging, Position, Query};

/// The SQL expression holding an attribute (tables: `st` studies,
/// `se` series, `i` instances).
fn column(a: Attribute) -> &'static str {
    match a {
        Attribute::PatientName => "st.patient_name",
        Attribute::PatientId => "st.patient_id",
        Attribute::PatientBirthDate => "st.patient_birth_date",
        Attribute::PatientSex => "st.patient_sex",
        Attribute::StudyInstanceUid => "st.study_uid",
        Attribute::StudyDate => "st.study_date",
        Attribute::StudyTime => "st.study_time",
        Attribute::AccessionNumber => "st.accession_number",
        Attribute::StudyId => "st.study_id",
        Attribute::StudyDescription => "st.study_description",
        Attribute::ReferringPhysicianName => "st.referring_physician_name",
        Attribute::ModalitiesInStudy => "st.modalities",
        Attribute::SeriesInstanceUid => "se.series_uid",
        Attribute::Modality => "se.modality",
        Attribute::SeriesNumber => "se.series_number",
        Attribute::SeriesDescription => "se.series_description",
        Attribute::BodyPartExamined => "se.body_part_examined",
        Attribute::PerformedProcedureStepStartDate => "se.pps_start_date",
        Attribute::PerformedProcedureStepStartTime => "se.pps_start_time",
        // within `EXISTS (... series_requests rq ...)`, see `conditions`
        Attribute::RequestedProcedureId => "rq.requested_procedure_id",
        Attribute::ScheduledProcedureStepId => "rq.scheduled_step_id",
        Attribute::SopInstanceUid => "i.sop_uid",
        Attribute::SopClassUid => "i.sop_class_uid",
        Attribute::InstanceNumber => "i.instance_number",
    }
}

/// The upper-cased key column of person names, used for matching.
fn match_column(a: Attribute) -> &'static str {
    match a {
        Attribute::PatientName => "st.patient_name_key",
        // Kept off the referrer index (`+`): one doctor may have referred
        // most of the archive, and collecting and sorting all of their
        // studies for every page is slower than walking the newest until a
        // page is full (the index serves the referrer's own scope, see
        // `reading::referrer_condition`, which counts first).
        Attribute::ReferringPhysicianName => "+st.referring_physician_key",
        other => column(other),
    }
}

fn level_rank(l: Level) -> u8 {
    match l {
        Level::Patient => 0,
        Level::Study => 1,
        Level::Series => 2,
        Level::Instance => 3,
    }
}

/// Escapes a DICOM wildcard pattern into a LIKE pattern with `\` escapes.
fn like_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A DICOM wildcard pattern as a GLOB pattern: `*` and `?` mean the same;
/// a `[`, which would open a character class, is matched as itself.
fn glob_pattern(pattern: &str) -> String {
    pattern.replace('[', "[[]")
}

/// The text before the first wildcard of `pattern`, if any: every match
/// starts with it.
fn literal_prefix(pattern: &str) -> Option<&str> {
    let end = pattern.find(['*', '?']).unwrap_or(pattern.len());
    Some(&pattern[..end]).filter(|p| !p.is_empty())
}

/// Puts a condition on a name column to the stored name and to each of
/// its component groups (see `conditions`); other columns as they are.
type OnNameGroups<'a> = &'a dyn Fn(&str, &dyn Fn(&str) -> String) -> String;

/// The condition for one text value of a key (exact, or with wildcards)
/// on the column `any_group` applies it to; `None` when it matches
/// everything (`*`).
fn text_condition(
    params: &mut Vec<rusqlite::types::Value>,
    v: &str,
    kind: MatchKind,
    fuzzy: bool,
    any_group: OnNameGroups<'_>,
) -> Option<String> {
    use rusqlite::types::Value as V;
    let p = |params: &mut Vec<V>, v: V| {
        params.push(v);
        format!("?{}", params.len())
    };
    let fold = |s: &str| {
        if kind == MatchKind::PersonName {
            name_key(s)
        } else {
            s.to_owned()
        }
    };
    if kind == MatchKind::Integer {
        let ph = p(params, V::Integer(v.parse().unwrap_or_default()));
        return Some(any_group(v, &|c| format!("{c} = {ph}")));
    }
    if !v.contains(['*', '?']) {
        if kind == MatchKind::PersonName && fuzzy {
            let a1 = p(params, V::Text(format!("{}%", like_pattern(&fold(v)))));
            let a2 = p(params, V::Text(format!("%^{}%", like_pattern(&fold(v)))));
            return Some(any_group(v, &|c| {
                format!("({c} LIKE {a1} ESCAPE '\\' OR {c} LIKE {a2} ESCAPE '\\')")
            }));
        }
        let ph = p(params, V::Text(fold(v)));
        return Some(any_group(v, &|c| format!("{c} = {ph}")));
    }
    let folded = fold(v);
    if folded.chars().all(|c| c == '*') {
        return None;
    }
    // What comes before the first wildcard also becomes a range, which
    // uses the index (the planner never looks inside a bound pattern).
    let range = literal_prefix(&folded).map(|prefix| {
        let lo = p(params, V::Text(prefix.to_owned()));
        let hi = p(params, V::Text(format!("{prefix}\u{10FFFF}")));
        (lo, hi)
    });
    // Names are compared by their folded keys (case-blind); other text is
    // case-sensitive (PS3.4 C.2.2.2.4), as the exact match and the prefix
    // range are: GLOB, not LIKE, which ignores ASCII case.
    let test = if kind == MatchKind::PersonName {
        let ph = p(params, V::Text(like_pattern(&folded)));
        format!("LIKE {ph} ESCAPE '\\'")
    } else {
        let ph = p(params, V::Text(glob_pattern(&folded)));
        format!("GLOB {ph}")
    };
    Some(any_group(v, &|c| match &range {
        Some((lo, hi)) => format!("({c} >= {lo} AND {c} < {hi} AND {c} {test})"),
        None => format!("{c} {test}"),
    }))
}

/// Builds the conditions of a query; returns SQL and parameters.
fn conditions(
    c: &Connection,
    q: &Query,
) -> Result<(Vec<String>, Vec<rusqlite::types::Value>), IndexError> {
    use rusqlite::types::Value as V;
    let mut sql = Vec::new();
    let mut params: Vec<V> = Vec::new();
    let p = |params: &mut Vec<V>, v: V| {
        params.push(v);
        format!("?{}", params.len())
    };
    if let Some(cond) = super::reading::scope_condition(c, &q.scope, &mut params)? {
        sql.push(cond);
    }
    if let Some(study) = &q.study {
        let ph = p(&mut params, V::Text(study.as_str().to_owned()));
        sql.push(format!("st.study_uid = {ph}"));
    }
    if let Some(series) = &q.series {
        let ph = p(&mut params, V::Text(series.as_str().to_owned()));
        sql.push(format!("se.series_uid = {ph}"));
    }
    // The conditions on the attributes of one sequence item: an item
    // must meet them all (PS3.4 C.2.2.2.6).
    let mut item = Vec::new();
    for m in &q.matches {
        let a = m.attribute;
        // Series-level modality at study level means "any series of that modality".
        let modality_at_study = q.level == Level::Study
            && matches!(a, Attribute::Modality | Attribute::ModalitiesInStudy);
        if modality_at_study || a == Attribute::ModalitiesInStudy {
            let values: Vec<String> = match &m.value {
                MatchValue::Exact(v) | MatchValue::Wildcard(v) => {
                    v.split(['\\', ',']).map(|s| s.trim().to_owned()).collect()
                }
                MatchValue::UidList(v) | MatchValue::AnyOf(v) => v.clone(),
                MatchValue::Range(..) => Vec::new(),
            };
            if values
                .iter()
                .any(|v| !v.is_empty() && v.chars().all(|c| c == '*'))
            {
                continue; // matches every study
            }
            let depth = q.offset.saturating_add(q.limit);
            sql.push(study_has_modality(c, &values, depth, &mut params)?);
            continue;
        }
        if level_rank(a.level()) > level_rank(q.level) {
            continue; // not meaningful at this level; reported as a warning by the caller
        }
        let col = match_column(a);
        let kind = a.match_kind();
        // A name asked for by one component group matches any of the
        // stored name's groups (a Cyrillic or Japanese form beside the
        // Latin one), which names with several have indexed on their own.
        let groups = match a {
            Attribute::PatientName => Some("study_name_groups"),
            Attribute::ReferringPhysicianName => Some("study_referrer_groups"),
            _ => None,
        };
        let any_group = |value: &str, on: &dyn Fn(&str) -> String| match groups {
            Some(table) if !value.contains('=') => format!(
                "({} OR st.pk IN (SELECT g.study_pk FROM {table} g WHERE {}))",
                on(col),
                on("g.key")
            ),
            _ => on(col),
        };
        let first = sql.len();
        match &m.value {
            MatchValue::Exact(v) | MatchValue::Wildcard(v) => {
                match text_condition(&mut params, v, kind, q.fuzzy, &any_group) {
                    Some(c) => sql.push(c),
                    None => continue, // matches everything
                }
            }
            MatchValue::AnyOf(values) => {
                let mut each = Vec::with_capacity(values.len());
                for v in values {
                    match text_condition(&mut params, v, kind, q.fuzzy, &any_group) {
                        Some(c) => each.push(c),
                        None => break,
                    }
                }
                if each.len() < values.len() {
                    continue; // one of them matches everything
                }
                sql.push(format!("({})", each.join(" OR ")));
            }
            MatchValue::UidList(list) => {
                let phs: Vec<String> = list
                    .iter()
                    .map(|u| p(&mut params, V::Text(u.clone())))
                    .collect();
                sql.push(format!("{col} IN ({})", phs.join(", ")));
            }
            MatchValue::Range(lo, hi) => {
                if let Some(lo) = lo {
                    let ph = p(&mut params, V::Text(lo.clone()));
                    sql.push(format!("{col} >= {ph}"));
                }
                if let Some(hi) = hi {
                    // a time range's upper end includes its whole second/minute
                    let hi = if kind == MatchKind::Time {
                        format!("{hi}\u{10FFFF}")
                    } else {
                        hi.clone()
                    };
                    let ph = p(&mut params, V::Text(hi));
                    sql.push(format!("{col} <= {ph}"));
                }
            }
        }
        if a.sequence().is_some() {
            item.extend(sql.split_off(first));
        }
    }
    if !item.is_empty() {
        sql.push(format!(
            "EXISTS (SELECT 1 FROM series_requests rq WHERE rq.series_pk = se.pk AND {})",
            item.join(" AND ")
        ));
    }
    Ok((sql, params))
}

/// Series counted for a modality condition before the count stops:
/// below it the modality is rare here, at or above it common. A page
/// further in counts further (see [`rare_below`]).
const RARE_MODALITY_SERIES: i64 = 500;

/// The most series counted for a modality condition.
const MOST_MODALITY_SERIES: i64 = 20_000;

/// How many series of a modality make it rare for a page that ends
/// `depth` matches in (offset plus limit). Walking the newest studies
/// until `depth` of them have the modality reads `depth / f` studies
/// when a fraction `f` of them has it, while listing the modality's
/// series reads each once: a deep page of a modality held by one study
/// in a hundred read the whole archive by walking (0.4-0.8 s over
/// 100 000 studies for 1 000 series, against 15 ms by listing).
fn rare_below(depth: usize) -> i64 {
    i64::try_from(depth)
        .unwrap_or(i64::MAX)
        .saturating_mul(20)
        .clamp(RARE_MODALITY_SERIES, MOST_MODALITY_SERIES)
}

/// The condition that a study (`st`) has a series of one of `values`,
/// each a modality or a pattern (`C*`: CT and CR).
///
/// Which way to look is decided by counting, because SQLite keeps no
/// statistics here and its guess was ruinous either way. Left to itself
/// it walked the modality's index for every candidate study (a name
/// search that also asked for CT took 26 s over 100 000 studies); and
/// walking the newest studies until enough have such a series reads
/// every study when the modality is one this archive hardly holds. So a
/// rare modality's few series name their studies directly; a common one
/// is checked study by study, newest first, through the series of each.
fn study_has_modality(
    c: &Connection,
    values: &[String],
    depth: usize,
    params: &mut Vec<rusqlite::types::Value>,
) -> Result<String, IndexError> {
    use rusqlite::types::Value as V;
    let tests = |params: &mut Vec<V>| -> String {
        let each: Vec<String> = values
            .iter()
            .map(|v| {
                if !v.contains(['*', '?']) {
                    params.push(V::Text(v.clone()));
                    return format!("ms.modality = ?{}", params.len());
                }
                params.push(V::Text(glob_pattern(v)));
                let glob = format!("ms.modality GLOB ?{}", params.len());
                // `C*` reads the modality index from C on, not every series.
                match literal_prefix(v) {
                    Some(prefix) => {
                        params.push(V::Text(prefix.to_owned()));
                        params.push(V::Text(format!("{prefix}\u{10FFFF}")));
                        let n = params.len();
                        format!(
                            "(ms.modality >= ?{} AND ms.modality < ?{n} AND {glob})",
                            n - 1
                        )
                    }
                    None => glob,
                }
            })
            .collect();
        each.join(" OR ")
    };
    let rare = rare_below(depth);
    let mut probe_params = Vec::new();
    let probe_tests = tests(&mut probe_params);
    probe_params.push(V::Integer(rare));
    let probe = format!(
        "SELECT count(*) FROM (SELECT 1 FROM series ms WHERE {probe_tests} LIMIT ?{})",
        probe_params.len()
    );
    let series: i64 = c
        .prepare_cached(&probe)?
        .query_row(rusqlite::params_from_iter(probe_params), |r| r.get(0))?;
    let tests = tests(params);
    Ok(if series < rare {
        format!("st.pk IN (SELECT ms.study_pk FROM series ms WHERE {tests})")
    } else {
        format!(
            "EXISTS (SELECT 1 FROM series ms INDEXED BY series_by_study \
             WHERE ms.study_pk = st.pk AND ({tests}))"
        )
    })
}

const STUDY_FIELDS: [Attribute; 11] = [
    Attribute::StudyInstanceUid,
    Attribute::PatientName,
    Attribute::PatientId,
    Attribute::PatientBirthDate,
    Attribute::PatientSex,
    Attribute::StudyDate,
    Attribute::StudyTime,
    Attribute::AccessionNumber,
    Attribute::StudyId,
    Attribute::StudyDescription,
    Attribute::ReferringPhysicianName,
];
const SERIES_FIELDS: [Attribute; 7] = [
    Attribute::SeriesInstanceUid,
    Attribute::Modality,
    Attribute::SeriesNumber,
    Attribute::SeriesDescription,
    Attribute::BodyPartExamined,
    Attribute::PerformedProcedureStepStartDate,
    Attribute::PerformedProcedureStepStartTime,
];
const INSTANCE_FIELDS: [Attribute; 3] = [
    Attribute::SopInstanceUid,
    Attribute::SopClassUid,
    Attribute::InstanceNumber,
];

/// A series' Request Attributes Sequence items, as a JSON array of
/// `[requested procedure ID, scheduled step ID]` pairs.
const SERIES_REQUESTS: &str =
    "(SELECT json_group_array(json_array(rq.requested_procedure_id, rq.scheduled_step_id))
     FROM series_requests rq WHERE rq.series_pk = se.pk)";

/// The row key a walk below patient level pages by, and whether it
/// runs newest first (studies) or in the order of storing.
fn walk_key(level: Level) -> (&'static str, bool) {
    match level {
        Level::Patient | Level::Study => ("st.pk", true),
        Level::Series => ("se.pk", false),
        Level::Instance => ("i.pk", false),
    }
}

/// The row key a walk at `level` resumes after, `None` at its start.
fn resume_row(after: &Option<Position>, level: Level) -> Result<Option<i64>, IndexError> {
    match after {
        None => Ok(None),
        Some(Position(Key::Row(of, pk))) if *of == level => Ok(Some(*pk)),
        Some(_) => Err(IndexError::ForeignPosition),
    }
}

/// A search at study, series or instance level as SQL: the statement,
/// its parameters, and the attributes its first columns hold.
struct Statement {
    sql: String,
    params: Vec<rusqlite::types::Value>,
    fields: Vec<Attribute>,
}

fn statement(c: &Connection, q: &Query) -> Result<Statement, IndexError> {
    let mut fields: Vec<Attribute> = STUDY_FIELDS.to_vec();
    let mut extra = vec!["st.modalities", "st.num_series", "st.num_instances"];
    let (from, order) = match q.level {
        Level::Patient | Level::Study => (
            "studies st",
            "ORDER BY st.study_date DESC, st.study_time DESC, st.pk DESC",
        ),
        Level::Series => {
            fields.extend(SERIES_FIELDS);
            extra.extend(["se.num_instances", SERIES_REQUESTS]);
            (
                "series se JOIN studies st ON st.pk = se.study_pk",
                "ORDER BY st.study_date DESC, st.pk DESC, se.series_number IS NULL, se.series_number, se.pk",
            )
        }
        Level::Instance => {
            fields.extend(SERIES_FIELDS);
            fields.extend(INSTANCE_FIELDS);
            extra.extend([
                "se.num_instances",
                SERIES_REQUESTS,
                "i.number_of_frames",
                "i.rows",
                "i.columns",
                "i.transfer_syntax_uid",
                "json_extract(i.image, '$.bits_allocated')",
            ]);
            (
                "instances i JOIN series se ON se.pk = i.series_pk JOIN studies st ON st.pk = se.study_pk",
                "ORDER BY st.pk DESC, se.series_number IS NULL, se.series_number, se.pk, i.instance_number IS NULL, i.instance_number, i.pk",
            )
        }
    };
    let want_sample = q.include_all || !q.include.is_empty();
    let sample = if want_sample {
        match q.level {
            Level::Patient | Level::Study => {
                "(SELECT i2.metadata FROM series s2 JOIN instances i2 ON i2.series_pk = s2.pk WHERE s2.study_pk = st.pk LIMIT 1)"
            }
            Level::Series => {
                "(SELECT i2.metadata FROM instances i2 WHERE i2.series_pk = se.pk LIMIT 1)"
            }
            Level::Instance => "i.metadata",
        }
    } else {
        "NULL"
    };
    let (mut conds, mut params) = conditions(c, q)?;
    let (order, offset, walk_column) = match &q.paging {
        Paging::Offset => (order.to_owned(), q.offset, None),
        Paging::Walk { after } => {
            let (key, newest_first) = walk_key(q.level);
            if let Some(pk) = resume_row(after, q.level)? {
                params.push(rusqlite::types::Value::Integer(pk));
                let op = if newest_first { "<" } else { ">" };
                conds.push(format!("{key} {op} ?{}", params.len()));
            }
            let direction = if newest_first { " DESC" } else { "" };
            (format!("ORDER BY {key}{direction}"), 0, Some(key))
        }
    };
    let select: Vec<&str> = fields
        .iter()
        .map(|&a| column(a))
        .chain(extra.iter().copied())
        .chain(std::iter::once(sample))
        .chain(walk_column)
        .collect();
    let columns = select.join(", ");
    // The page is chosen by keys alone and only its rows are read whole:
    // every column of every match went into the sort before, subqueries
    // included, so a name prefix shared by 2 500 of 100 000 studies, or a
    // series' 300 instances for a page of five, took longer to sort than
    // to find.
    let key = match q.level {
        Level::Patient | Level::Study => "st.pk",
        Level::Series => "se.pk",
        Level::Instance => "i.pk",
    };
    let (page, params) = paged(
        format!("SELECT {key} FROM {from}"),
        &conds,
        "",
        &order,
        params,
        (q.limit, offset),
    );
    let sql = format!("SELECT {columns} FROM {from} WHERE {key} IN ({page}) {order}");
    Ok(Statement {
        sql,
        params,
        fields,
    })
}

/// Runs a search.
pub fn run(c: &Connection, q: &Query) -> Result<Vec<SearchRow>, IndexError> {
    if q.level == Level::Patient {
        return patients(c, q);
    }
    let Statement {
        sql,
        params,
        fields,
    } = statement(c, q)?;
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
        let mut row = SearchRow::default();
        for (i, &a) in fields.iter().enumerate() {
            let v: Option<rusqlite::types::Value> = r.get(i)?;
            let text = match v {
                Some(rusqlite::types::Value::Text(s)) => Some(s),
                Some(rusqlite::types::Value::Integer(n)) => Some(n.to_string()),
                _ => None,
            };
            if let Some(t) = text {
                match a {
                    Attribute::StudyInstanceUid => row.study_uid = t.clone(),
                    Attribute::SeriesInstanceUid => row.series_uid = Some(t.clone()),
                    Attribute::SopInstanceUid => row.sop_instance_uid = Some(t.clone()),
                    _ => {}
                }
                row.values.push((a, t));
            }
        }
        let mut k = fields.len();
        let modalities: String = r.get(k)?;
        row.modalities_in_study = modalities
            .split('\\')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect();
        row.study_related_series = r.get(k + 1)?;
        row.study_related_instances = r.get(k + 2)?;
        k += 3;
        if q.level > Level::Study {
            row.series_related_instances = r.get(k)?;
            let requests: Option<String> = r.get(k + 1)?;
            row.requests = requests
                .and_then(|j| {
                    serde_json::from_str::<Vec<(Option<String>, Option<String>)>>(&j).ok()
                })
                .unwrap_or_default()
                .into_iter()
                .map(|(requested, scheduled)| RequestItem {
                    requested_procedure_id: requested,
                    scheduled_procedure_step_id: scheduled,
                })
                .collect();
            k += 2;
        }
        if q.level == Level::Instance {
            row.number_of_frames = r.get(k)?;
            row.rows = r.get(k + 1)?;
            row.columns = r.get(k + 2)?;
            row.transfer_syntax_uid = r.get(k + 3)?;
            row.bits_allocated = r.get(k + 4)?;
            k += 5;
        }
        row.sample_metadata = r.get(k)?;
        // A walk's statement selects its key last (see `statement`).
        if matches!(q.paging, Paging::Walk { .. }) {
            row.position = Some(Position(Key::Row(q.level, r.get(k + 1)?)));
        }
        Ok(row)
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// `select` with the query's conditions, grouping, order and page
/// (`limit`, `offset`).
fn paged(
    select: String,
    conds: &[String],
    group: &str,
    order: &str,
    mut params: Vec<rusqlite::types::Value>,
    (limit, offset): (usize, usize),
) -> (String, Vec<rusqlite::types::Value>) {
    let where_sql = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    params.push(rusqlite::types::Value::Integer(limit as i64));
    // An offset past what SQLite counts is past every result (a cast
    // would wrap it negative, which SQLite reads as none).
    params.push(rusqlite::types::Value::Integer(
        i64::try_from(offset).unwrap_or(i64::MAX),
    ));
    let n = params.len();
    let sql = format!(
        "{select} {where_sql} {group} {order} LIMIT ?{} OFFSET ?{}",
        n - 1,
        n
    );
    (sql, params)
}

/// Patients (C-FIND Patient Root): studies grouped by Patient ID, with
/// the patient's study, series and instance counts; the most recently
/// indexed study's name, birth date and sex stand for the patient. A
/// walk goes by Patient ID, those without one first.
fn patients(c: &Connection, q: &Query) -> Result<Vec<SearchRow>, IndexError> {
    let (mut conds, mut params) = conditions(c, q)?;
    let walk = match &q.paging {
        Paging::Offset => false,
        Paging::Walk { after } => {
            match after {
                None => {}
                Some(Position(Key::Patient(None))) => {
                    conds.push("st.patient_id IS NOT NULL".to_owned());
                }
                Some(Position(Key::Patient(Some(id)))) => {
                    params.push(rusqlite::types::Value::Text(id.clone()));
                    conds.push(format!("st.patient_id > ?{}", params.len()));
                }
                Some(Position(Key::Row(..))) => return Err(IndexError::ForeignPosition),
            }
            true
        }
    };
    let (order, outer_order, offset) = if walk {
        ("ORDER BY st.patient_id", "ORDER BY g.patient_id", 0)
    } else {
        ("ORDER BY last_pk DESC", "ORDER BY g.last_pk DESC", q.offset)
    };
    let sample = if q.include_all || !q.include.is_empty() {
        "(SELECT i2.metadata FROM series s2 JOIN instances i2 ON i2.series_pk = s2.pk WHERE s2.study_pk = g.last_pk LIMIT 1)"
    } else {
        "NULL"
    };
    let (grouped, params) = paged(
        "SELECT st.patient_id, MAX(st.pk) AS last_pk, COUNT(*) AS studies, \
         SUM(st.num_series) AS series, SUM(st.num_instances) AS instances FROM studies st"
            .to_owned(),
        &conds,
        "GROUP BY st.patient_id",
        order,
        params,
        (q.limit, offset),
    );
    let sql = format!(
        "SELECT g.patient_id, p.patient_name, p.patient_birth_date, p.patient_sex, \
         g.studies, g.series, g.instances, {sample} \
         FROM ({grouped}) g JOIN studies p ON p.pk = g.last_pk {outer_order}"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
        let mut row = SearchRow::default();
        let fields = [
            Attribute::PatientId,
            Attribute::PatientName,
            Attribute::PatientBirthDate,
            Attribute::PatientSex,
        ];
        for (i, a) in fields.into_iter().enumerate() {
            if let Some(text) = r.get::<_, Option<String>>(i)? {
                row.values.push((a, text));
            }
        }
        row.patient_related_studies = r.get(4)?;
        row.study_related_series = r.get(5)?;
        row.study_related_instances = r.get(6)?;
        row.sample_metadata = r.get(7)?;
        if walk {
            row.position = Some(Position(Key::Patient(r.get(0)?)));
        }
        Ok(row)
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests;
