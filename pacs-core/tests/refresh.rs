//! Reading stored instances again (`Ingest::refresh_stored`) against the
//! real filesystem store and SQLite index: a study that arrived in a code
//! page it did not declare is indexed as mojibake; once the archive is
//! told what undeclared text is, refreshing brings its study attributes,
//! name search keys and metadata up to date, from the study's earliest
//! instance only, and leaves the objects and everything else as they were.

// The fixtures below are test set-up: a failure there should stop the test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, ct_slice, to_bytes};
use pacs_core::charset::Undeclared;
use pacs_core::index::{Index, Refreshed, StoredInstance};
use pacs_core::query::{Attribute, Level, Query};
use pacs_core::{DuplicatePolicy, Incoming, Ingest, IngestConfig, IngestError, SqliteIndex, Uid};
use storage::{FsStore, ObjectKey, ObjectStore};

const NAME: &str = "Petrov^Petr=Петров^Пётр";
const SERIES: &str = "Грудная клетка";
const DESCRIPTION: &str = "Рентгенография грудной клетки";

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<dyn ObjectStore>,
    index: Arc<dyn Index>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ObjectStore> =
            Arc::new(FsStore::open(dir.path().join("objects")).unwrap());
        let index: Arc<dyn Index> =
            Arc::new(SqliteIndex::open(dir.path().join("index.sqlite")).unwrap());
        Fixture {
            _dir: dir,
            store,
            index,
        }
    }

    /// The pipeline as configured: `undeclared` says what text that names
    /// no character set is.
    fn ingest(&self, undeclared: Option<&str>) -> Ingest {
        let config = IngestConfig {
            undeclared_character_set: undeclared.map(|u| Undeclared::parse(u).unwrap()),
            ..IngestConfig::default()
        };
        Ingest::new(self.store.clone(), self.index.clone(), config)
    }

    /// Stores a two-slice CT written with undeclared windows-1251 text,
    /// as an archive not told what such text is: its spec, study and the
    /// bytes sent.
    async fn store_undeclared_study(&self, seed: u64) -> (CtSpec, Uid, Vec<Bytes>) {
        let spec = CtSpec::chest(Patient::ivanov_iso_ir_144(), seed)
            .with_slices(2)
            .with_matrix(32, 32);
        let study = Uid::parse(&spec.study.study_uid).unwrap();
        let sent: Vec<Bytes> = (0..2).map(|i| undeclared_slice(&spec, i)).collect();
        let ingest = self.ingest(None);
        for bytes in &sent {
            ingest
                .ingest(Incoming::Part10(bytes.clone()), "test", None)
                .await
                .unwrap();
        }
        (spec, study, sent)
    }

    async fn instance(&self, study: &Uid, number: usize) -> StoredInstance {
        self.index.instances(study, None, None).await.unwrap()[number].clone()
    }

    async fn object(&self, instance: &StoredInstance) -> Bytes {
        let key = ObjectKey::new(&instance.object_key).unwrap();
        self.store.get(&key).await.unwrap()
    }

    /// The study's (PatientName, StudyDescription) in a study search.
    async fn listed(&self, study: &Uid) -> (String, String) {
        let uid = study.to_string();
        let (q, _) =
            Query::from_pairs(Level::Study, vec![("StudyInstanceUID", uid.as_str())]).unwrap();
        let rows = self.index.search(&q).await.unwrap();
        assert_eq!(rows.len(), 1);
        let value = |a: Attribute| {
            rows[0]
                .values
                .iter()
                .find(|(attribute, _)| *attribute == a)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        (
            value(Attribute::PatientName),
            value(Attribute::StudyDescription),
        )
    }

    async fn found_by_name(&self, pattern: &str) -> usize {
        let (q, _) = Query::from_pairs(Level::Study, vec![("PatientName", pattern)]).unwrap();
        self.index.search(&q).await.unwrap().len()
    }

    async fn metadata(&self, study: &Uid) -> Vec<serde_json::Value> {
        self.index
            .metadata(study, None, None)
            .await
            .unwrap()
            .iter()
            .map(|m| serde_json::from_slice(m).unwrap())
            .collect()
    }
}

/// Slice `index` of a CT whose name and description are windows-1251
/// bytes, with no Specific Character Set, as older consoles write them.
fn undeclared_slice(spec: &CtSpec, index: u32) -> Bytes {
    let mut obj = ct_slice(spec, index).unwrap();
    obj.remove_element(tags::SPECIFIC_CHARACTER_SET);
    for (tag, vr, text) in [
        (tags::PATIENT_NAME, VR::PN, NAME),
        (tags::STUDY_DESCRIPTION, VR::LO, DESCRIPTION),
        (tags::SERIES_DESCRIPTION, VR::LO, SERIES),
    ] {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let mut bytes = bytes.into_owned();
        if bytes.len() % 2 == 1 {
            bytes.push(b' ');
        }
        obj.put(DataElement::new(tag, vr, PrimitiveValue::U8(bytes.into())));
    }
    Bytes::from(to_bytes(&mut obj, SampleTransferSyntax::ExplicitVrLittleEndian).unwrap())
}

/// The PatientName of DICOM JSON, its groups joined as in DICOM.
fn name_in(metadata: &serde_json::Value) -> String {
    let name = &metadata["00100010"]["Value"][0];
    ["Alphabetic", "Ideographic", "Phonetic"]
        .iter()
        .map_while(|g| name[g].as_str())
        .collect::<Vec<_>>()
        .join("=")
}

#[tokio::test]
async fn refreshing_reads_stored_objects_again_with_todays_settings() {
    let f = Fixture::new();
    let (_, study, sent) = f.store_undeclared_study(21).await;
    let (garbled, _) = f.listed(&study).await;
    assert_ne!(garbled, NAME, "undeclared text is not guessed");
    assert_eq!(f.found_by_name("Петров*").await, 0);
    assert_eq!(f.found_by_name("Petrov*").await, 1);

    let after = f.ingest(Some("windows-1251"));
    let first = f.instance(&study, 0).await;
    let second = f.instance(&study, 1).await;

    // The later instance: its own metadata, not the study's attributes.
    let refreshed = after
        .refresh_stored(&second, f.object(&second).await, true)
        .await
        .unwrap();
    assert_eq!(
        refreshed,
        Some(Refreshed {
            instance: true,
            series: false,
            study: vec![],
        })
    );
    assert_eq!(f.listed(&study).await.0, garbled);
    let metadata = f.metadata(&study).await;
    assert_eq!(name_in(&metadata[1]), NAME);
    assert_ne!(name_in(&metadata[0]), NAME);

    // The earliest: the series' and study's attributes and name search
    // keys too; a dry run says so and changes nothing.
    let want = Refreshed {
        instance: true,
        series: true,
        study: vec!["PatientName", "StudyDescription"],
    };
    let dry = after
        .refresh_stored(&first, f.object(&first).await, false)
        .await
        .unwrap();
    assert_eq!(dry, Some(want.clone()));
    assert_eq!(f.listed(&study).await.0, garbled);
    assert_ne!(name_in(&f.metadata(&study).await[0]), NAME);
    let refreshed = after
        .refresh_stored(&first, f.object(&first).await, true)
        .await
        .unwrap();
    assert_eq!(refreshed, Some(want));
    assert_eq!(
        f.listed(&study).await,
        (NAME.to_owned(), DESCRIPTION.to_owned())
    );
    // By either of its forms: the groups' search keys were rebuilt.
    assert_eq!(f.found_by_name("Петров*").await, 1);
    assert_eq!(f.found_by_name("петров^пётр").await, 1);
    assert_eq!(f.found_by_name("Petrov*").await, 1);
    assert!(f.metadata(&study).await.iter().all(|m| name_in(m) == NAME));
    let (q, _) = Query::from_pairs(
        Level::Series,
        vec![
            ("StudyInstanceUID", study.as_str()),
            ("SeriesDescription", "Грудная*"),
        ],
    )
    .unwrap();
    assert_eq!(
        f.index.search(&q).await.unwrap().len(),
        1,
        "the series' attributes"
    );

    // Read again, nothing is new; the objects and the index's account of
    // them are as they were.
    for instance in [&first, &second] {
        let again = after
            .refresh_stored(instance, f.object(instance).await, true)
            .await
            .unwrap();
        assert_eq!(again, Some(Refreshed::default()));
    }
    assert_eq!(f.instance(&study, 0).await, first);
    assert_eq!(f.instance(&study, 1).await, second);
    for (i, sent) in sent.iter().enumerate() {
        let stored = f.object(&f.instance(&study, i).await).await;
        assert!(stored == sent, "object {i} stored byte for byte");
    }
}

#[tokio::test]
async fn refreshing_refuses_an_object_that_is_not_what_was_stored() {
    let f = Fixture::new();
    let (spec, study, _) = f.store_undeclared_study(22).await;
    let first = f.instance(&study, 0).await;
    let second = f.instance(&study, 1).await;
    let listed = f.listed(&study).await;
    let later = f.ingest(Some("windows-1251"));

    // Damaged bytes: refused, the index left as it was.
    let mut damaged = f.object(&first).await.to_vec();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x01;
    let err = later
        .refresh_stored(&first, Bytes::from(damaged), true)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, IngestError::Unreadable(why) if why.contains("changed since it was stored")),
        "{err}"
    );
    // Another instance's object: refused.
    let err = later
        .refresh_stored(&first, f.object(&second).await, true)
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::Unreadable(_)), "{err}");
    assert_eq!(f.listed(&study).await, listed);
    assert_eq!(f.instance(&study, 0).await, first);

    // An entry replaced since it was listed: the index no longer names
    // the object read, and is not touched.
    let old_object = f.object(&first).await;
    let replacing = Ingest::new(
        f.store.clone(),
        f.index.clone(),
        IngestConfig {
            duplicate_policy: DuplicatePolicy::Replace,
            ..IngestConfig::default()
        },
    );
    let mut changed = ct_slice(&spec, 0).unwrap();
    changed.put(DataElement::new(
        tags::IMAGE_COMMENTS,
        VR::LT,
        PrimitiveValue::from("re-sent"),
    ));
    let changed = to_bytes(&mut changed, SampleTransferSyntax::ExplicitVrLittleEndian).unwrap();
    replacing
        .ingest(Incoming::Part10(Bytes::from(changed)), "test", None)
        .await
        .unwrap();
    let now = f.instance(&study, 0).await;
    assert_ne!(now.object_key, first.object_key);
    assert_eq!(
        later
            .refresh_stored(&first, old_object, true)
            .await
            .unwrap(),
        None
    );
    assert_eq!(f.instance(&study, 0).await, now);
    assert_eq!(f.listed(&study).await, listed);
}
