//! Instances the index refuses for what they say of themselves, against
//! the real filesystem store and the real SQLite index.

// The fixtures below are test set-up: a failure there should stop the test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, ct_slice, to_bytes};
use pacs_core::index::Index;
use pacs_core::{Incoming, Ingest, IngestConfig, IngestError, SqliteIndex};
use storage::{FsStore, ObjectStore};

/// A modality that reuses a Series Instance UID in another study: the
/// instance is refused as wrong (0xA900, not worth sending again), and
/// nothing of it is written, not even the new study's row.
#[tokio::test]
async fn a_series_of_another_study_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(FsStore::open(dir.path().join("objects")).unwrap());
    let index: Arc<dyn Index> =
        Arc::new(SqliteIndex::open(dir.path().join("index.sqlite")).unwrap());
    let ingest = Ingest::new(store.clone(), index.clone(), IngestConfig::default());
    let spec = CtSpec::chest(Patient::ivanov_iso_ir_144(), 41)
        .with_slices(2)
        .with_matrix(32, 32);
    let encode = |mut obj: dicom_object::DefaultDicomObject| {
        Bytes::from(to_bytes(&mut obj, SampleTransferSyntax::ExplicitVrLittleEndian).unwrap())
    };
    ingest
        .ingest(
            Incoming::Part10(encode(ct_slice(&spec, 0).unwrap())),
            "t",
            None,
        )
        .await
        .unwrap();

    let mut stray = ct_slice(&spec, 1).unwrap();
    stray.put(DataElement::new(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from("1.2.826.0.1.3680043.10.1453.41.999"),
    ));
    let refused = ingest
        .ingest(Incoming::Part10(encode(stray)), "t", None)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, IngestError::SeriesOfAnotherStudy { .. }),
        "{refused}"
    );
    assert_eq!(refused.status(), 0xA900);
    assert!(!refused.is_transient());
    assert!(refused.to_string().contains(&spec.series_uid), "{refused}");
    let totals = index.totals().await.unwrap();
    assert_eq!((totals.studies, totals.series, totals.instances), (1, 1, 1));
    assert_eq!(store.list("").await.unwrap().len(), 1);
}
