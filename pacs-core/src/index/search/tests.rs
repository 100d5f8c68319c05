use rusqlite::params;

use super::*;

#[test]
fn like_patterns_escape_sql_wildcards() {
    assert_eq!(like_pattern("A*B?"), "A%B_");
    assert_eq!(like_pattern("50%_\\"), "50\\%\\_\\\\");
}

/// An index of `ct` studies with a CT series and `mr` with an MR series,
/// one a year going back from the newest (the MR studies are the oldest);
/// patients `P0` to `P6` in turn.
fn index_of(ct: usize, mr: usize) -> Connection {
    let mut c = Connection::open_in_memory().unwrap();
    crate::index::connection::plan_without_values(&c).unwrap();
    crate::index::schema::migrate(&mut c).unwrap();
    for n in 0..ct + mr {
        c.execute(
            "INSERT INTO studies (study_uid, patient_name_key, study_date, study_time)
             VALUES (?1, ?2, ?3, '120000')",
            params![
                format!("1.2.826.0.1.{n}"),
                format!("P{}^X", n % 7),
                format!("{:04}0101", 2026 - n)
            ],
        )
        .unwrap();
        let modality = if n < ct { "CT" } else { "MR" };
        c.execute(
            "INSERT INTO series (study_pk, series_uid, modality, series_number)
             VALUES (last_insert_rowid(), ?1, ?2, 1)",
            params![format!("1.2.826.0.2.{n}"), modality],
        )
        .unwrap();
    }
    c
}

fn search(c: &Connection, pairs: &[(&str, &str)]) -> (Vec<String>, String) {
    let (q, _) = Query::from_pairs(Level::Study, pairs.iter().copied()).unwrap();
    search_as(c, q)
}

fn search_as(c: &Connection, q: Query) -> (Vec<String>, String) {
    let found = run(c, &q).unwrap();
    let uids = found.into_iter().map(|r| r.study_uid).collect();
    (uids, plan_of(c, &q))
}

/// The query plan of `q`'s statement, a line per step.
fn plan_of(c: &Connection, q: &Query) -> String {
    let st = statement(c, q).unwrap();
    let plan: Vec<String> = c
        .prepare(&format!("EXPLAIN QUERY PLAN {}", st.sql))
        .unwrap()
        .query_map(rusqlite::params_from_iter(st.params), |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    plan.join("\n")
}

/// The UIDs of studies `n` (as numbered by `index_of`), in that order.
fn studies(n: impl IntoIterator<Item = usize>) -> Vec<String> {
    n.into_iter().map(|n| format!("1.2.826.0.1.{n}")).collect()
}

#[test]
fn a_common_modality_is_checked_study_by_study_newest_first() {
    let c = index_of(RARE_MODALITY_SERIES as usize + 100, 3);
    let (found, plan) = search(&c, &[("ModalitiesInStudy", "CT"), ("limit", "25")]);
    assert_eq!(found, studies(0..25));
    // The newest studies in date order, each one's series through its
    // own index, never every CT series for each study.
    assert!(
        plan.lines()
            .any(|l| l.starts_with("SCAN st USING") && l.ends_with("INDEX studies_by_date")),
        "{plan}"
    );
    // (The index holds each series' modality: no series row is read.)
    assert!(
        plan.contains("USING COVERING INDEX series_by_study (study_pk=?)"),
        "{plan}"
    );
    assert!(!plan.contains("series_by_modality"), "{plan}");
    let (found, _) = search(
        &c,
        &[
            ("ModalitiesInStudy", "CT"),
            ("limit", "25"),
            ("offset", "590"),
        ],
    );
    assert_eq!(found, studies(590..600), "the last page");

    // So also beside a name, which alone matches a seventh of them.
    let (found, plan) = search(
        &c,
        &[
            ("PatientName", "P3*"),
            ("ModalitiesInStudy", "CT"),
            ("limit", "5"),
        ],
    );
    assert_eq!(found, studies([3, 10, 17, 24, 31]));
    assert!(!plan.contains("series_by_modality"), "{plan}");
}

#[test]
fn a_rare_modality_names_its_few_studies() {
    let ct = RARE_MODALITY_SERIES as usize + 100;
    let c = index_of(ct, 3);
    let (found, plan) = search(&c, &[("ModalitiesInStudy", "MR"), ("limit", "25")]);
    assert_eq!(found, studies(ct..ct + 3));
    // Not a walk through every study looking for them.
    assert!(plan.contains("series_by_modality (modality=?)"), "{plan}");
    assert!(!plan.contains("SCAN st"), "{plan}");

    let (found, plan) = search(&c, &[("ModalitiesInStudy", "M*")]);
    assert_eq!(found, studies(ct..ct + 3), "a pattern");
    // From M on in the modality index, not every series.
    assert!(
        plan.contains("series_by_modality (modality>? AND modality<?)"),
        "{plan}"
    );
    let (found, _) = search(&c, &[("ModalitiesInStudy", "XA")]);
    assert!(found.is_empty(), "a modality with no series: {found:?}");
}

#[test]
fn several_modalities_match_studies_of_any_of_them() {
    let ct = RARE_MODALITY_SERIES as usize + 100;
    let c = index_of(ct, 3);
    for value in ["MR\\CT", "MR,CT", "?T\\MR", "*"] {
        let (found, _) = search(&c, &[("ModalitiesInStudy", value), ("limit", "1000")]);
        assert_eq!(found, studies(0..ct + 3), "ModalitiesInStudy={value}");
    }
    // A few studies of the rare one, beside a name.
    let (found, _) = search(
        &c,
        &[("PatientName", "P0*"), ("ModalitiesInStudy", "MR\\XA")],
    );
    let expected: Vec<usize> = (ct..ct + 3).filter(|n| n % 7 == 0).collect();
    assert_eq!(found, studies(expected));
}

#[test]
fn a_name_search_orders_its_matches_from_the_name_index() {
    let c = index_of(70, 0);
    let (found, plan) = search(&c, &[("PatientName", "p3*"), ("limit", "4")]);
    assert_eq!(found, studies([3, 10, 17, 24]));
    // Each match's date comes with its name: no study is read to sort.
    assert!(
        plan.contains("SEARCH st USING COVERING INDEX studies_by_patient_name"),
        "{plan}"
    );
}

/// What referring physician `key` and account `username` see, newest
/// first, at most `limit`.
fn referred(c: &Connection, username: &str, key: &str, limit: usize) -> (Vec<String>, String) {
    let mut q = Query::new(Level::Study);
    q.limit = limit;
    q.scope = crate::workflow::StudyScope::Referrer {
        username: username.to_owned(),
        physician_key: Some(key.to_owned()).filter(|k| !k.is_empty()),
    };
    search_as(c, q)
}

#[test]
fn a_referring_physician_sees_what_they_referred_and_what_was_shared() {
    let many = crate::index::reading::FEW_REFERRED as usize + 100;
    let c = index_of(many + 10, 0);
    // Studies (numbered from 0; their row keys from 1) before `many` by
    // one doctor; of the ten oldest, two by
    // another (one under a name with a Cyrillic group), one by a doctor
    // whose name merely begins like theirs, and two shared with them.
    c.execute_batch(&format!(
        "UPDATE studies SET referring_physician_key = 'BUSY^DOC' WHERE pk <= {many};
         UPDATE studies SET referring_physician_key = 'RARE^DOC' WHERE pk = {a};
         UPDATE studies SET referring_physician_key = 'RARE^DOC=РЕДКИЙ^ДОК' WHERE pk = {b};
         UPDATE studies SET referring_physician_key = 'RARE^DOCTOR' WHERE pk = {c};
         INSERT INTO accounts (username, display_name, role) VALUES ('rad', 'R', 'radiologist');
         INSERT INTO accounts (username, display_name, role, disabled)
         VALUES ('gone', 'G', 'radiologist', 1);
         INSERT INTO study_shares (study_uid, username, shared_by, shared_at)
         VALUES ('1.2.826.0.1.{shared}', 'rare', 'rad', 1),
                ('1.2.826.0.1.{revoked}', 'rare', 'gone', 1);",
        a = many + 2,
        b = many + 5,
        c = many + 6,
        shared = many + 3,
        revoked = many + 7,
    ))
    .unwrap();

    let (found, plan) = referred(&c, "rare", "RARE^DOC", 25);
    assert_eq!(found, studies([many + 1, many + 3, many + 4]));
    // Found from the referrer index, not by reading every study.
    assert!(plan.contains("studies_by_referrer"), "{plan}");
    assert!(!plan.contains("SCAN st"), "{plan}");
    let (found, _) = referred(&c, "rare", "", 25);
    assert_eq!(found, studies([many + 3]), "shared only");

    let (found, plan) = referred(&c, "busy", "BUSY^DOC", 25);
    assert_eq!(found, studies(0..25));
    assert!(plan.contains("INDEX studies_by_date"), "{plan}");
    assert!(!plan.contains("studies_by_referrer"), "{plan}");
}

#[test]
fn a_search_by_referring_physician_walks_the_newest_studies() {
    let c = index_of(100, 0);
    c.execute_batch("UPDATE studies SET referring_physician_key = 'BUSY^DOC' WHERE pk % 2 = 1")
        .unwrap();
    let (found, plan) = search(
        &c,
        &[("ReferringPhysicianName", "Busy^Doc"), ("limit", "3")],
    );
    assert_eq!(found, studies([0, 2, 4]));
    // Not every study of theirs gathered and sorted for each page.
    assert!(!plan.contains("studies_by_referrer"), "{plan}");
    assert!(plan.contains("INDEX studies_by_date"), "{plan}");
}

/// A series' instances are listed in series and instance number order,
/// those without a number last; a page of them reads only its own rows.
#[test]
fn a_page_of_instances_reads_only_its_rows() {
    let c = index_of(2, 0);
    c.execute_batch(
        "INSERT INTO series (pk, study_pk, series_uid, modality, series_number)
             VALUES (10, 1, '1.2.826.0.2.10', 'CT', 2), (11, 1, '1.2.826.0.2.11', 'CT', NULL);
         INSERT INTO series_requests (series_pk, requested_procedure_id, scheduled_step_id)
             VALUES (10, 'RP1', 'SPS1');",
    )
    .unwrap();
    // (series pk, instance number) in the order of storing.
    let stored = [
        (11, Some(1)),
        (10, None),
        (10, Some(3)),
        (1, Some(2)),
        (10, Some(1)),
    ];
    for (n, (series, number)) in stored.iter().enumerate() {
        c.execute(
            "INSERT INTO instances (series_pk, sop_uid, sop_class_uid, instance_number,
                 transfer_syntax_uid, object_key, size, sha256, pixel, metadata, source)
             VALUES (?1, ?2, '1.2.840.10008.5.1.4.1.1.2', ?3, '1.2.840.10008.1.2.1',
                 ?2, 0, '', '{}', x'', 'test')",
            params![series, format!("1.2.826.0.3.{n}"), number],
        )
        .unwrap();
    }
    let page = |limit: &str, offset: &str| {
        let pairs = [
            ("StudyInstanceUID", "1.2.826.0.1.0"),
            ("limit", limit),
            ("offset", offset),
        ];
        let (q, _) = Query::from_pairs(Level::Instance, pairs.iter().copied()).unwrap();
        let rows = run(&c, &q).unwrap();
        let sops: Vec<String> = rows
            .iter()
            .filter_map(|r| r.sop_instance_uid.clone())
            .collect();
        (sops, plan_of(&c, &q))
    };
    let sop = |n: usize| format!("1.2.826.0.3.{n}");
    // Series 1 (number 1), then series 10 (number 2), then the one without.
    let (all, _) = page("10", "0");
    assert_eq!(all, [sop(3), sop(4), sop(2), sop(1), sop(0)]);
    let (some, plan) = page("2", "2");
    assert_eq!(some, [sop(2), sop(1)]);
    // The page's rows are fetched by key once the page is chosen.
    assert!(
        plan.lines()
            .next()
            .is_some_and(|l| l.starts_with("SEARCH i USING INTEGER PRIMARY KEY")),
        "{plan}"
    );
}

/// A modality too common to list for a first page is listed for a page
/// deep enough that walking to it would read most of the archive.
#[test]
fn a_deep_page_lists_a_modality_it_would_walk_to_for_the_first() {
    let ct = RARE_MODALITY_SERIES as usize + 100;
    let c = index_of(ct, 3);
    let (found, plan) = search(&c, &[("ModalitiesInStudy", "CT"), ("limit", "25")]);
    assert_eq!(found, studies(0..25));
    assert!(plan.contains("series_by_study"), "{plan}");
    let offset = (ct - 10).to_string();
    let (found, plan) = search(
        &c,
        &[
            ("ModalitiesInStudy", "CT"),
            ("limit", "25"),
            ("offset", &offset),
        ],
    );
    assert_eq!(found, studies(ct - 10..ct));
    assert!(
        plan.contains("INDEX series_by_modality (modality=?)"),
        "{plan}"
    );
    assert!(!plan.contains("series_by_study"), "{plan}");
}

/// A pattern's text before its first wildcard is looked up in the index,
/// wherever the wildcards are.
#[test]
fn a_pattern_is_looked_up_by_the_text_before_its_wildcards() {
    let c = index_of(40, 0);
    c.execute(
        "UPDATE studies SET accession_number = 'A' || pk || 'X' || (pk % 3)",
        [],
    )
    .unwrap();
    // Studies 9 to 18 have pks 10 to 19: accession numbers A10X1, A11X2...
    let (found, plan) = search(&c, &[("AccessionNumber", "A1?X*")]);
    assert_eq!(found, studies(9..19));
    assert!(
        plan.contains("studies_by_accession (accession_number>? AND accession_number<?)"),
        "{plan}"
    );
    let (found, _) = search(&c, &[("AccessionNumber", "A1*X2")]);
    let expected: Vec<usize> = (9..19).filter(|n| (n + 1) % 3 == 2).collect();
    assert_eq!(found, studies(expected));
}
