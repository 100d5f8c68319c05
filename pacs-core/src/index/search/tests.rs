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
    let found = run(c, &q).unwrap();
    let st = statement(c, &q).unwrap();
    let plan: Vec<String> = c
        .prepare(&format!("EXPLAIN QUERY PLAN {}", st.sql))
        .unwrap()
        .query_map(rusqlite::params_from_iter(st.params), |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let uids = found.into_iter().map(|r| r.study_uid).collect();
    (uids, plan.join("\n"))
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
    assert!(
        plan.contains("USING INDEX series_by_study (study_pk=?)"),
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

    let (found, _) = search(&c, &[("ModalitiesInStudy", "M*")]);
    assert_eq!(found, studies(ct..ct + 3), "a pattern");
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
