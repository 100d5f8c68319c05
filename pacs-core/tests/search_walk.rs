//! A walk through every match of a search (the paging behind C-FIND)
//! against the real ingest pipeline and SQLite: what is stored between two
//! pages neither repeats a match nor pushes one out of the walk, at study,
//! instance and patient level. Paging by offset fails each of these: a
//! newer study shifts the later pages, an instance numbered between two
//! others shifts the instances after it, and a new study of a patient not
//! yet answered moves that patient ahead of the page boundary.

// The fixtures below are test set-up: a failure there should stop the test.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use dicom_samples::{
    CharacterSet, CtSpec, Date, Patient, SampleTransferSyntax, Sex, ct_slice, to_bytes,
};
use pacs_core::index::{Index, SearchRow};
use pacs_core::query::{Attribute, Level, Paging, Query};
use pacs_core::{Incoming, IndexError, Ingest, IngestConfig, SqliteIndex, Uid};
use storage::{FsStore, ObjectStore};

struct Fixture {
    _dir: tempfile::TempDir,
    ingest: Ingest,
    index: Arc<SqliteIndex>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(FsStore::open(dir.path().join("objects")).unwrap());
    let index = Arc::new(SqliteIndex::open(dir.path().join("index.sqlite")).unwrap());
    let ingest = Ingest::new(
        store,
        index.clone() as Arc<dyn Index>,
        IngestConfig::default(),
    );
    Fixture {
        _dir: dir,
        ingest,
        index,
    }
}

fn day(n: u32) -> Date {
    Date::new(2026, 3, n).unwrap()
}

/// A small CT study of `slices` for patient `id` on `date`.
fn study(id: &str, seed: u64, date: Date, slices: u32) -> CtSpec {
    let patient = Patient::new(
        format!("Walk^{id}"),
        id,
        Date::new(1970, 1, 1).unwrap(),
        Sex::Female,
        CharacterSet::Default,
    );
    let mut spec = CtSpec::chest(patient, seed)
        .with_slices(slices)
        .with_matrix(16, 16);
    spec.study.date = date;
    spec
}

async fn store(f: &Fixture, spec: &CtSpec, slices: impl IntoIterator<Item = u32>) {
    for slice in slices {
        let mut obj = ct_slice(spec, slice).unwrap();
        let bytes =
            Bytes::from(to_bytes(&mut obj, SampleTransferSyntax::ExplicitVrLittleEndian).unwrap());
        f.ingest
            .ingest_from(Incoming::Part10(bytes), "test", None, None)
            .await
            .unwrap();
    }
}

/// The next page of a walk, `page` matches at most; `None` once the walk
/// has ended.
async fn next_page(f: &Fixture, query: &mut Query, page: usize) -> Option<Vec<SearchRow>> {
    if matches!(query.paging, Paging::Offset) {
        return None;
    }
    query.limit = page;
    let rows = f.index.search(query).await.unwrap();
    query.paging = match rows.last() {
        Some(last) if rows.len() == page => Paging::Walk {
            after: Some(
                last.position
                    .clone()
                    .expect("a walk's rows carry positions"),
            ),
        },
        // Ended: marked by switching paging off.
        _ => Paging::Offset,
    };
    Some(rows)
}

fn walk(level: Level) -> Query {
    let mut query = Query::new(level);
    query.paging = Paging::Walk { after: None };
    query
}

/// How many times each value of `key` came in `rows`.
fn counts(rows: &[SearchRow], key: impl Fn(&SearchRow) -> String) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for row in rows {
        *seen.entry(key(row)).or_default() += 1;
    }
    seen
}

fn value(row: &SearchRow, attribute: Attribute) -> String {
    row.values
        .iter()
        .find(|(a, _)| *a == attribute)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn studies_stored_between_pages_neither_repeat_nor_push_others_out() {
    let f = fixture();
    let mut before = Vec::new();
    for n in 0..9u32 {
        let spec = study(&format!("P{n}"), u64::from(n), day(n + 2), 1);
        store(&f, &spec, [0]).await;
        before.push(spec.study.study_uid.clone());
    }

    let mut query = walk(Level::Study);
    let mut rows = next_page(&f, &mut query, 4).await.unwrap();
    // Studies newer than any answered, as a busy archive keeps receiving,
    // and one older than all.
    for n in 0..3u32 {
        store(&f, &study("NEW", 100 + u64::from(n), day(20 + n), 1), [0]).await;
    }
    store(&f, &study("OLD", 200, day(1), 1), [0]).await;
    while let Some(page) = next_page(&f, &mut query, 4).await {
        rows.extend(page);
    }

    let seen = counts(&rows, |r| r.study_uid.clone());
    for uid in &before {
        assert_eq!(seen.get(uid), Some(&1), "study {uid} answered once");
    }
    assert!(
        seen.values().all(|&n| n == 1),
        "no study answered twice: {seen:?}"
    );
}

#[tokio::test]
async fn instances_stored_between_pages_neither_repeat_nor_push_others_out() {
    let f = fixture();
    let spec = study("P1", 7, day(3), 20);
    // The odd slices first; the even ones, numbered between them, arrive
    // while the walk is under way.
    store(&f, &spec, (0..20).filter(|s| s % 2 == 1)).await;

    let mut query = walk(Level::Instance);
    query.series = Some(Uid::parse(&spec.series_uid).unwrap());
    let mut rows = next_page(&f, &mut query, 3).await.unwrap();
    let answered_first: Vec<String> = rows
        .iter()
        .map(|r| value(r, Attribute::InstanceNumber))
        .collect();
    store(&f, &spec, (0..20).filter(|s| s % 2 == 0)).await;
    while let Some(page) = next_page(&f, &mut query, 3).await {
        rows.extend(page);
    }

    let seen = counts(&rows, |r| r.sop_instance_uid.clone().unwrap());
    assert!(
        seen.values().all(|&n| n == 1),
        "no instance answered twice: {seen:?}"
    );
    let numbers = counts(&rows, |r| value(r, Attribute::InstanceNumber));
    for number in (1..=20).filter(|n| n % 2 == 0) {
        assert_eq!(
            numbers.get(&number.to_string()),
            Some(&1),
            "instance {number}, stored before the walk, answered once (first page: {answered_first:?})"
        );
    }
    // Instances are walked in the order they were stored, so those stored
    // meanwhile come after the ones before the walk, and here all of them.
    assert_eq!(rows.len(), 20);
}

#[tokio::test]
async fn a_patient_with_a_new_study_between_pages_is_answered_once_with_it() {
    let f = fixture();
    for n in 1..=9u32 {
        store(&f, &study(&format!("P{n}"), u64::from(n), day(n), 1), [0]).await;
    }

    let mut query = walk(Level::Patient);
    let mut rows = next_page(&f, &mut query, 4).await.unwrap();
    let first: Vec<String> = rows
        .iter()
        .map(|r| value(r, Attribute::PatientId))
        .collect();
    assert_eq!(first, ["P1", "P2", "P3", "P4"], "patients by ID");
    // A new study for a patient not yet answered (the newest study of all),
    // and a new patient whose ID sorts before those answered.
    store(&f, &study("P8", 80, day(28), 1), [0]).await;
    store(&f, &study("P0", 90, day(27), 1), [0]).await;
    while let Some(page) = next_page(&f, &mut query, 4).await {
        rows.extend(page);
    }

    let ids: Vec<String> = rows
        .iter()
        .map(|r| value(r, Attribute::PatientId))
        .collect();
    assert_eq!(
        ids,
        ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9"],
        "each patient of the walk's start once, in order"
    );
    let p8 = rows
        .iter()
        .find(|r| value(r, Attribute::PatientId) == "P8")
        .unwrap();
    assert_eq!(p8.patient_related_studies, 2, "P8's new study is counted");
}

#[tokio::test]
async fn a_walk_cannot_resume_from_another_levels_position() {
    let f = fixture();
    for n in 1..=3u32 {
        store(&f, &study(&format!("P{n}"), u64::from(n), day(n), 1), [0]).await;
    }
    let mut patients = walk(Level::Patient);
    let page = next_page(&f, &mut patients, 1).await.unwrap();
    let mut studies = walk(Level::Study);
    studies.paging = Paging::Walk {
        after: page[0].position.clone(),
    };
    assert!(matches!(
        f.index.search(&studies).await,
        Err(IndexError::ForeignPosition)
    ));
    let page = next_page(&f, &mut walk(Level::Study), 1).await.unwrap();
    let mut instances = walk(Level::Instance);
    instances.paging = Paging::Walk {
        after: page[0].position.clone(),
    };
    assert!(matches!(
        f.index.search(&instances).await,
        Err(IndexError::ForeignPosition)
    ));
}
