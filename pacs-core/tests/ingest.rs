//! The ingest pipeline and the read side against the real filesystem store
//! and the real SQLite index.

// The fixtures below are test set-up: a failure there should stop the test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, ct_slice, ct_slice_pixels, to_bytes};
use pacs_core::index::Index;
use pacs_core::query::{Level, Query};
use pacs_core::{
    Archive, DuplicatePolicy, Incoming, Ingest, IngestConfig, IngestError, SqliteIndex, StoreKind,
    Uid, UploadCommand,
};
use storage::{FsStore, ObjectStore};

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    ingest: Ingest,
    archive: Archive,
    index: Arc<dyn Index>,
    store: Arc<dyn ObjectStore>,
}

fn fixture(policy: DuplicatePolicy) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("objects");
    let store: Arc<dyn ObjectStore> = Arc::new(FsStore::open(&root).unwrap());
    let index: Arc<dyn Index> =
        Arc::new(SqliteIndex::open(dir.path().join("index.sqlite")).unwrap());
    let config = IngestConfig {
        duplicate_policy: policy,
        ..IngestConfig::default()
    };
    Fixture {
        ingest: Ingest::new(store.clone(), index.clone(), config),
        archive: Archive::new(store.clone(), index.clone()),
        root,
        index,
        store,
        _dir: dir,
    }
}

fn spec() -> CtSpec {
    CtSpec::chest(Patient::ivanov_iso_ir_144(), 11)
        .with_slices(4)
        .with_matrix(64, 64)
}

fn slice_bytes(index: u32, ts: SampleTransferSyntax) -> Bytes {
    let mut obj = ct_slice(&spec(), index).unwrap();
    Bytes::from(to_bytes(&mut obj, ts).unwrap())
}

fn modified_slice(index: u32, edit: impl FnOnce(&mut dicom_object::InMemDicomObject)) -> Bytes {
    let mut obj = ct_slice(&spec(), index).unwrap();
    edit(&mut obj);
    Bytes::from(to_bytes(&mut obj, SampleTransferSyntax::ExplicitVrLittleEndian).unwrap())
}

/// The index's record of an instance just stored.
async fn stored_instance(
    f: &Fixture,
    stored: &pacs_core::Stored,
) -> pacs_core::index::StoredInstance {
    let uid = |s: &str| Uid::parse(s).unwrap();
    f.archive
        .instance(
            &uid(&stored.study_instance_uid),
            &uid(&stored.series_instance_uid),
            &uid(&stored.sop_instance_uid),
        )
        .await
        .unwrap()
}

/// The stored object of `stored`, whole.
async fn stored_object(f: &Fixture, stored: &pacs_core::Stored) -> Bytes {
    let row = stored_instance(f, stored).await;
    f.store
        .get(&storage::ObjectKey::new(&row.object_key).unwrap())
        .await
        .unwrap()
}

async fn objects_on_disk(root: &std::path::Path) -> usize {
    let store = FsStore::open(root).unwrap();
    store.list("").await.unwrap().len()
}

/// Staged writes that were abandoned are removed in the background: waits
/// (bounded) for the store's temp directory to be empty.
async fn assert_no_temp_files(root: &std::path::Path) {
    let tmp = root.join(".tmp");
    for _ in 0..200 {
        if std::fs::read_dir(&tmp).unwrap().count() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    panic!("temp files left behind: {left:?}");
}

#[tokio::test]
async fn stores_indexes_and_serves_an_instance_bit_exact() {
    let f = fixture(DuplicatePolicy::KeepFirst);
    let bytes = slice_bytes(0, SampleTransferSyntax::ExplicitVrLittleEndian);
    let stored = f
        .ingest
        .ingest(Incoming::Part10(bytes.clone()), "test", None)
        .await
        .unwrap();
    assert_eq!(stored.kind, StoreKind::New);

    let instance = stored_instance(&f, &stored).await;
    assert_eq!(
        f.archive.object(&instance).await.unwrap(),
        bytes,
        "stored bytes are the received bytes"
    );

    // the frame comes from a ranged read and equals the generator's pixels
    let frame = f.archive.frame_uncompressed(&instance, 1).await.unwrap();
    let expected: Vec<u8> = ct_slice_pixels(&spec(), 0)
        .iter()
        .flat_map(|p| p.to_le_bytes())
        .collect();
    assert_eq!(frame.as_ref(), expected.as_slice());

    let study = Uid::parse(&stored.study_instance_uid).unwrap();
    let series = Uid::parse(&stored.series_instance_uid).unwrap();
    let meta = f
        .archive
        .metadata(&study, Some(&series), None, "http://h/dicom-web")
        .await
        .unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&meta).unwrap();
    assert_eq!(
        meta[0]["00100010"]["Value"][0]["Alphabetic"],
        "Иванов^Иван^Петрович"
    );
    let uri = meta[0]["7FE00010"]["BulkDataURI"].as_str().unwrap();
    assert!(uri.starts_with("http://h/dicom-web/studies/"), "{uri}");
}

#[tokio::test]
async fn identical_resend_is_idempotent_and_different_content_conflicts() {
    let f = fixture(DuplicatePolicy::KeepFirst);
    let first = slice_bytes(1, SampleTransferSyntax::ExplicitVrLittleEndian);
    f.ingest
        .ingest(Incoming::Part10(first.clone()), "test", None)
        .await
        .unwrap();
    let again = f
        .ingest
        .ingest(Incoming::Part10(first.clone()), "test", None)
        .await
        .unwrap();
    assert_eq!(again.kind, StoreKind::Duplicate);

    let other = modified_slice(1, |o| {
        o.put(DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            PrimitiveValue::from("Other^Name"),
        ));
    });
    let err = f
        .ingest
        .ingest(Incoming::Part10(other), "test", None)
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::Conflict(_)), "{err}");
    assert_eq!(err.status(), 0x0111);

    let totals = f.index.totals().await.unwrap();
    assert_eq!(totals.instances, 1);
    assert_eq!(
        objects_on_disk(&f.root).await,
        1,
        "the conflicting object is not kept"
    );
    let sop = f
        .index
        .find_instance(&spec().sop_instance_uid(1))
        .await
        .unwrap()
        .unwrap();
    let key = storage::ObjectKey::new(&sop.object_key).unwrap();
    assert_eq!(
        f.store.get(&key).await.unwrap(),
        first,
        "the first instance is unchanged"
    );
}

#[tokio::test]
async fn replace_policy_replaces_and_removes_the_old_object() {
    let f = fixture(DuplicatePolicy::Replace);
    f.ingest
        .ingest(
            Incoming::Part10(slice_bytes(2, SampleTransferSyntax::ExplicitVrLittleEndian)),
            "t",
            None,
        )
        .await
        .unwrap();
    let newer = modified_slice(2, |o| {
        o.put(DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            PrimitiveValue::from("Corrected^Name"),
        ));
    });
    let stored = f
        .ingest
        .ingest(Incoming::Part10(newer.clone()), "t", None)
        .await
        .unwrap();
    assert_eq!(stored.kind, StoreKind::Replaced);
    assert_eq!(f.index.totals().await.unwrap().instances, 1);
    assert_eq!(objects_on_disk(&f.root).await, 1);
    let row = f
        .index
        .find_instance(&stored.sop_instance_uid)
        .await
        .unwrap()
        .unwrap();
    let key = storage::ObjectKey::new(&row.object_key).unwrap();
    assert_eq!(f.store.get(&key).await.unwrap(), newer);
}

#[tokio::test]
async fn concurrent_conflicting_stores_leave_exactly_one_instance() {
    let f = Arc::new(fixture(DuplicatePolicy::KeepFirst));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let f = f.clone();
        let bytes = modified_slice(3, move |o| {
            o.put(DataElement::new(
                tags::PATIENT_NAME,
                VR::PN,
                PrimitiveValue::from(format!("Racer^{i}")),
            ));
        });
        tasks.push(tokio::spawn(async move {
            f.ingest.ingest(Incoming::Part10(bytes), "t", None).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(IngestError::Conflict(_)) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one of the racing stores wins");
    assert_eq!(f.index.totals().await.unwrap().instances, 1);
    assert_eq!(objects_on_disk(&f.root).await, 1);
    assert_no_temp_files(&f.root).await;
}

/// The same instance sent eight times at once (a gateway retrying while
/// the first attempt is still under way): every store succeeds, one row,
/// one object, nothing left in the temp directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_stores_all_succeed_once() {
    let f = Arc::new(fixture(DuplicatePolicy::KeepFirst));
    let bytes = slice_bytes(2, SampleTransferSyntax::ExplicitVrLittleEndian);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (f, bytes) = (f.clone(), bytes.clone());
            tokio::spawn(async move { f.ingest.ingest(Incoming::Part10(bytes), "t", None).await })
        })
        .collect();
    let mut new = 0;
    for t in tasks {
        match t.await.unwrap().unwrap().kind {
            StoreKind::New => new += 1,
            StoreKind::Duplicate => {}
            StoreKind::Replaced => panic!("nothing to replace"),
            StoreKind::Repaired => panic!("nothing lost"),
        }
    }
    assert_eq!(
        new, 1,
        "one store creates the instance, the others are duplicates"
    );
    assert_eq!(f.index.totals().await.unwrap().instances, 1);
    assert_eq!(objects_on_disk(&f.root).await, 1);
    assert_no_temp_files(&f.root).await;
}

/// STOW-RS to /studies/{study} with an instance of another study: refused,
/// nothing written.
#[tokio::test]
async fn an_instance_of_another_study_is_refused_without_trace() {
    let f = fixture(DuplicatePolicy::KeepFirst);
    let bytes = slice_bytes(0, SampleTransferSyntax::ExplicitVrLittleEndian);
    let other = Uid::parse("1.2.826.0.1.3680043.10.1453.999").unwrap();
    let err = f
        .ingest
        .ingest(Incoming::Part10(bytes), "t", Some(&other))
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::WrongStudy { .. }), "{err}");
    assert_eq!(f.index.totals().await.unwrap().instances, 0);
    assert_eq!(objects_on_disk(&f.root).await, 0);
    assert_no_temp_files(&f.root).await;
}

#[tokio::test]
async fn dimse_data_sets_are_wrapped_in_part10_and_checked_against_the_command() {
    let f = fixture(DuplicatePolicy::KeepFirst);
    let part10 = slice_bytes(0, SampleTransferSyntax::ImplicitVrLittleEndian);
    let header = pacs_core::layout::read_part10_header(&part10).unwrap();
    let dataset = part10.slice(header.dataset_offset..);
    let incoming = |sop: &str| Incoming::Dataset {
        dataset: dataset.clone(),
        transfer_syntax_uid: "1.2.840.10008.1.2".into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        sop_instance_uid: sop.into(),
        calling_ae_title: Some("CT_D1".into()),
    };
    let err = f
        .ingest
        .ingest(incoming("1.2.3.4"), "t", None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 0xA900, "{err}");

    let stored = f
        .ingest
        .ingest(incoming(&header.media_storage_sop_instance_uid), "t", None)
        .await
        .unwrap();
    let row = f
        .index
        .find_instance(&stored.sop_instance_uid)
        .await
        .unwrap()
        .unwrap();
    let object = f
        .store
        .get(&storage::ObjectKey::new(&row.object_key).unwrap())
        .await
        .unwrap();
    let stored_header = pacs_core::layout::read_part10_header(&object).unwrap();
    assert_eq!(stored_header.transfer_syntax_uid, "1.2.840.10008.1.2");
    assert_eq!(
        &object[stored_header.dataset_offset..],
        dataset.as_ref(),
        "data set stored as received"
    );
}

/// The command of a C-STORE of a CT image in explicit VR little endian.
fn ct_command(sop_instance_uid: &str, calling_ae_title: Option<&str>) -> UploadCommand {
    UploadCommand {
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        sop_instance_uid: sop_instance_uid.into(),
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        calling_ae_title: calling_ae_title.map(str::to_owned),
    }
}

/// A Part 10 file's data set and SOP Instance UID, as a C-STORE carries
/// them.
fn data_set_of(part10: Bytes) -> (Bytes, String) {
    let header = pacs_core::layout::read_part10_header(&part10).unwrap();
    (
        part10.slice(header.dataset_offset..),
        header.media_storage_sop_instance_uid,
    )
}

/// A C-STORE's data set fed in pieces as its PDUs arrive, cut unevenly.
async fn upload(
    f: &Fixture,
    sop_instance_uid: &str,
    dataset: &Bytes,
    piece: usize,
) -> Result<pacs_core::Stored, IngestError> {
    let mut upload = f
        .ingest
        .begin_upload(ct_command(sop_instance_uid, Some("CT_D1")))?;
    for start in (0..dataset.len()).step_by(piece) {
        upload.push(dataset.slice(start..(start + piece).min(dataset.len())));
        tokio::task::yield_now().await;
    }
    assert_eq!(upload.received(), dataset.len() as u64);
    f.ingest
        .finish_upload(upload, dataset.clone(), "dimse:CT_D1@test", None)
        .await
}

/// Fed piece by piece, an instance is stored exactly as if it had come
/// whole: a Part 10 file around the data set as received; sent again, it
/// is a duplicate, and the copy written while it arrived is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_sets_taken_in_piece_by_piece_are_stored_and_deduplicated() {
    let f = fixture(DuplicatePolicy::KeepFirst);
    let (dataset, sop) = data_set_of(slice_bytes(1, SampleTransferSyntax::ExplicitVrLittleEndian));

    let stored = upload(&f, &sop, &dataset, 1000).await.unwrap();
    assert_eq!(stored.kind, StoreKind::New);
    let object = stored_object(&f, &stored).await;
    let stored_header = pacs_core::layout::read_part10_header(&object).unwrap();
    assert_eq!(stored_header.media_storage_sop_instance_uid, sop);
    assert_eq!(
        &object[stored_header.dataset_offset..],
        dataset.as_ref(),
        "data set stored as received"
    );

    // The same data set whole, through the buffered path, is a duplicate:
    // the hash of the pieces is the hash of the whole.
    let whole = Incoming::Dataset {
        dataset: dataset.clone(),
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        sop_instance_uid: sop.clone(),
        calling_ae_title: Some("OTHER".into()),
    };
    let again = f.ingest.ingest(whole, "t", None).await.unwrap();
    assert_eq!(again.kind, StoreKind::Duplicate);
    let again = upload(&f, &sop, &dataset, 4096).await.unwrap();
    assert_eq!(again.kind, StoreKind::Duplicate);
    assert_eq!(objects_on_disk(&f.root).await, 1);
    assert_no_temp_files(&f.root).await;
}

/// When the disk falls behind (here: any backlog at all), staging stops
/// and the data set is written whole once complete: stored the same,
/// with no temp file left of the abandoned start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_set_whose_staging_falls_behind_is_written_once_complete() {
    let mut f = fixture(DuplicatePolicy::KeepFirst);
    f.ingest = Ingest::new(
        f.store.clone(),
        f.index.clone(),
        IngestConfig {
            staging_backlog: 0,
            ..IngestConfig::default()
        },
    );
    let (dataset, sop) = data_set_of(slice_bytes(3, SampleTransferSyntax::ExplicitVrLittleEndian));
    let mut upload = f
        .ingest
        .begin_upload(ct_command(&sop, Some("CT_D1")))
        .unwrap();
    // Pushed without yielding, so the writer is behind from the first.
    for start in (0..dataset.len()).step_by(512) {
        upload.push(dataset.slice(start..(start + 512).min(dataset.len())));
    }
    let stored = f
        .ingest
        .finish_upload(upload, dataset.clone(), "dimse:CT_D1@test", None)
        .await
        .unwrap();
    assert_eq!(stored.kind, StoreKind::New);
    let object = stored_object(&f, &stored).await;
    let header = pacs_core::layout::read_part10_header(&object).unwrap();
    assert_eq!(&object[header.dataset_offset..], dataset.as_ref());
    assert_eq!(objects_on_disk(&f.root).await, 1);
    assert_no_temp_files(&f.root).await;
}

/// Pieces that do not add up to the data set, a data set that names
/// another instance than its command, and one above the size limit are
/// refused, and what was written while they arrived is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_that_do_not_hold_together_leave_no_trace() {
    let f = fixture(DuplicatePolicy::KeepFirst);
    let (dataset, sop) = data_set_of(slice_bytes(2, SampleTransferSyntax::ExplicitVrLittleEndian));

    let err = upload(&f, "1.2.3.4", &dataset, 2048).await.unwrap_err();
    assert_eq!(err.status(), 0xA900, "{err}");

    let mut short = f.ingest.begin_upload(ct_command(&sop, None)).unwrap();
    short.push(dataset.slice(..100));
    let err = f
        .ingest
        .finish_upload(short, dataset.clone(), "t", None)
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::Unreadable(_)), "{err}");

    let bad_uid = f.ingest.begin_upload(ct_command("../../etc", None));
    assert!(matches!(bad_uid, Err(IngestError::InvalidUid { .. })));

    let small = IngestConfig {
        max_instance_size: 1000,
        ..IngestConfig::default()
    };
    let limited = Ingest::new(f.store.clone(), f.index.clone(), small);
    let mut big = limited.begin_upload(ct_command(&sop, None)).unwrap();
    big.push(dataset.clone());
    let err = limited
        .finish_upload(big, dataset.clone(), "t", None)
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::TooLarge(1000)), "{err}");

    assert!(f.index.find_instance(&sop).await.unwrap().is_none());
    assert_eq!(objects_on_disk(&f.root).await, 0);
    assert_no_temp_files(&f.root).await;
}

#[tokio::test]
async fn bad_instances_leave_no_trace() {
    let f = fixture(DuplicatePolicy::KeepFirst);
    let good = slice_bytes(0, SampleTransferSyntax::ExplicitVrLittleEndian);
    f.ingest
        .ingest(Incoming::Part10(good.clone()), "t", None)
        .await
        .unwrap();

    let traversal = modified_slice(1, |o| {
        o.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("../../etc/passwd"),
        ));
    });
    let no_study = modified_slice(2, |o| {
        o.remove_element(tags::STUDY_INSTANCE_UID);
    });
    let mut truncated = good.to_vec();
    truncated.truncate(good.len() / 2);
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let mut absurd = good[..good.len() - 200].to_vec();
    absurd.extend_from_slice(&[0x10, 0x00, 0x10, 0x00, b'P', b'N', 0xFF, 0xFF]);

    for (what, bytes, status) in [
        ("traversal UID", traversal, 0xA900),
        ("missing study UID", no_study, 0xA900),
        ("truncated", Bytes::from(truncated), 0xC000),
        ("random bytes", Bytes::from(random), 0xC000),
    ] {
        let err = f
            .ingest
            .ingest(Incoming::Part10(bytes), "t", None)
            .await
            .unwrap_err();
        assert_eq!(err.status(), status, "{what}: {err}");
    }
    let err = f
        .ingest
        .ingest(Incoming::Part10(Bytes::from(absurd)), "t", None)
        .await;
    assert!(err.is_err(), "an absurd length is refused");

    assert_eq!(f.index.totals().await.unwrap().instances, 1);
    assert_eq!(objects_on_disk(&f.root).await, 1);
    assert_no_temp_files(&f.root).await;
    let row = f
        .index
        .find_instance(&spec().sop_instance_uid(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        f.store
            .get(&storage::ObjectKey::new(&row.object_key).unwrap())
            .await
            .unwrap(),
        good
    );
}

#[tokio::test]
async fn search_matches_names_dates_and_modalities() {
    let f = fixture(DuplicatePolicy::KeepFirst);
    for i in 0..4 {
        f.ingest
            .ingest(
                Incoming::Part10(slice_bytes(i, SampleTransferSyntax::ExplicitVrLittleEndian)),
                "t",
                None,
            )
            .await
            .unwrap();
    }
    let search = |pairs: Vec<(&'static str, &'static str)>| {
        let (q, _) = Query::from_pairs(Level::Study, pairs).unwrap();
        let index = f.index.clone();
        async move { index.search(&q).await.unwrap() }
    };
    let rows = search(vec![("PatientName", "иванов*")]).await;
    assert_eq!(
        rows.len(),
        1,
        "case-insensitive prefix match on a Cyrillic name"
    );
    assert_eq!(rows[0].study_related_instances, 4);
    assert_eq!(rows[0].modalities_in_study, vec!["CT".to_owned()]);
    assert_eq!(search(vec![("PatientName", "Петров*")]).await.len(), 0);
    assert_eq!(
        search(vec![("StudyDate", "19000101-20991231")]).await.len(),
        1
    );
    assert_eq!(search(vec![("StudyDate", "-19991231")]).await.len(), 0);
    assert_eq!(search(vec![("ModalitiesInStudy", "CT")]).await.len(), 1);
    assert_eq!(search(vec![("ModalitiesInStudy", "MR")]).await.len(), 0);

    let (q, _) = Query::from_pairs(Level::Instance, vec![("limit", "2"), ("offset", "1")]).unwrap();
    let rows = f.index.search(&q).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0]
            .values
            .iter()
            .find(|(a, _)| *a == pacs_core::query::Attribute::InstanceNumber)
            .unwrap()
            .1,
        "2"
    );
}

#[tokio::test]
async fn nothing_is_accepted_after_shutdown() {
    let f = fixture(DuplicatePolicy::KeepFirst);
    f.ingest.shutdown().await;
    let err = f
        .ingest
        .ingest(
            Incoming::Part10(slice_bytes(0, SampleTransferSyntax::ExplicitVrLittleEndian)),
            "t",
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::ShuttingDown));
    assert_eq!(err.status(), 0xA700);
}

#[tokio::test]
async fn every_uncompressed_syntax_serves_the_same_pixels() {
    let expected: Vec<u8> = ct_slice_pixels(&spec(), 0)
        .iter()
        .flat_map(|p| p.to_le_bytes())
        .collect();
    for ts in [
        SampleTransferSyntax::ExplicitVrLittleEndian,
        SampleTransferSyntax::ImplicitVrLittleEndian,
        SampleTransferSyntax::ExplicitVrBigEndian,
        SampleTransferSyntax::DeflatedExplicitVrLittleEndian,
    ] {
        // the same SOP Instance UID in each syntax: one archive per syntax
        let f = fixture(DuplicatePolicy::KeepFirst);
        let bytes = slice_bytes(0, ts);
        let stored = f
            .ingest
            .ingest(Incoming::Part10(bytes.clone()), "t", None)
            .await
            .unwrap();
        let instance = stored_instance(&f, &stored).await;
        let frame = f.archive.frame_uncompressed(&instance, 1).await.unwrap();
        assert_eq!(frame.as_ref(), expected.as_slice(), "{ts:?}");
        assert_eq!(
            f.archive.object(&instance).await.unwrap(),
            bytes,
            "{ts:?} stored as received"
        );
        let le = f.archive.object_explicit_le(&instance).await.unwrap();
        let header = pacs_core::layout::read_part10_header(&le).unwrap();
        assert_eq!(header.transfer_syntax_uid, "1.2.840.10008.1.2.1", "{ts:?}");
    }
}

#[tokio::test]
async fn the_same_data_set_through_another_door_is_a_duplicate() {
    let f = fixture(DuplicatePolicy::KeepFirst);
    let part10 = slice_bytes(0, SampleTransferSyntax::ExplicitVrLittleEndian);
    let header = pacs_core::layout::read_part10_header(&part10).unwrap();
    let over_dimse = |aet: &str| Incoming::Dataset {
        dataset: part10.slice(header.dataset_offset..),
        transfer_syntax_uid: header.transfer_syntax_uid.clone(),
        sop_class_uid: header.media_storage_sop_class_uid.clone(),
        sop_instance_uid: header.media_storage_sop_instance_uid.clone(),
        calling_ae_title: Some(aet.into()),
    };
    let first = f
        .ingest
        .ingest(over_dimse("CT_A"), "t", None)
        .await
        .unwrap();
    assert_eq!(first.kind, StoreKind::New);
    let from_other_ae = f
        .ingest
        .ingest(over_dimse("GATEWAY"), "t", None)
        .await
        .unwrap();
    assert_eq!(from_other_ae.kind, StoreKind::Duplicate);
    let as_file = f
        .ingest
        .ingest(Incoming::Part10(part10.clone()), "t", None)
        .await
        .unwrap();
    assert_eq!(as_file.kind, StoreKind::Duplicate);
    assert_eq!(f.index.totals().await.unwrap().instances, 1);
    assert_eq!(objects_on_disk(&f.root).await, 1);
}

#[tokio::test]
async fn frames_of_a_multi_frame_instance_are_served_one_by_one() {
    let f = fixture(DuplicatePolicy::KeepFirst);
    let first: Vec<u16> = ct_slice_pixels(&spec(), 0);
    let second: Vec<u16> = first.iter().map(|v| v ^ 0x0F0F).collect();
    let bytes = modified_slice(0, |o| {
        let mut both = first.clone();
        both.extend_from_slice(&second);
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(both.into()),
        ));
        o.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("2"),
        ));
    });
    let stored = f
        .ingest
        .ingest(Incoming::Part10(bytes), "t", None)
        .await
        .unwrap();
    let instance = stored_instance(&f, &stored).await;
    let le = |v: &[u16]| v.iter().flat_map(|p| p.to_le_bytes()).collect::<Vec<u8>>();
    let frame2 = f.archive.frame_uncompressed(&instance, 2).await.unwrap();
    assert_eq!(frame2.as_ref(), le(&second).as_slice());
    let frame1 = f.archive.frame_as_stored(&instance, 1).await.unwrap();
    assert_eq!(frame1.bytes.as_ref(), le(&first).as_slice());
    assert!(f.archive.frame_uncompressed(&instance, 3).await.is_err());
}
