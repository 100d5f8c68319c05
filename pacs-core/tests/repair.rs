//! An instance sent again after its stored object was lost or damaged is
//! put back from the bytes received, against the real filesystem store and
//! the real SQLite index.

// The fixtures below are test set-up: a failure there should stop the test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use dicom_samples::{CtSpec, Patient, SampleTransferSyntax, ct_slice, ct_slice_pixels, to_bytes};
use pacs_core::index::{Index, StoredInstance};
use pacs_core::layout::read_part10_header;
use pacs_core::{Archive, Incoming, Ingest, IngestConfig, SqliteIndex, StoreKind};
use storage::{FsStore, ObjectStore};

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ingest: Ingest,
    archive: Archive,
    index: Arc<dyn Index>,
    store: Arc<dyn ObjectStore>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("objects");
    let store: Arc<dyn ObjectStore> = Arc::new(FsStore::open(&root).unwrap());
    let index: Arc<dyn Index> =
        Arc::new(SqliteIndex::open(dir.path().join("index.sqlite")).unwrap());
    Fixture {
        ingest: Ingest::new(store.clone(), index.clone(), IngestConfig::default()),
        archive: Archive::new(store.clone(), index.clone()),
        root,
        index,
        store,
        _dir: dir,
    }
}

fn spec() -> CtSpec {
    CtSpec::chest(Patient::ivanov_iso_ir_144(), 21)
        .with_slices(2)
        .with_matrix(64, 64)
}

fn slice() -> Bytes {
    let mut obj = ct_slice(&spec(), 0).unwrap();
    Bytes::from(to_bytes(&mut obj, SampleTransferSyntax::ExplicitVrLittleEndian).unwrap())
}

/// The file's data set as a C-STORE from `aet` carries it: the archive
/// makes the file meta group itself, naming the caller.
fn over_dimse(part10: &Bytes, aet: &str) -> Incoming {
    let header = read_part10_header(part10).unwrap();
    Incoming::Dataset {
        dataset: part10.slice(header.dataset_offset..),
        transfer_syntax_uid: header.transfer_syntax_uid.clone(),
        sop_class_uid: header.media_storage_sop_class_uid.clone(),
        sop_instance_uid: header.media_storage_sop_instance_uid.clone(),
        calling_ae_title: Some(aet.into()),
    }
}

async fn indexed(f: &Fixture) -> StoredInstance {
    let sop = spec().sop_instance_uid(0);
    f.index.find_instance(&sop).await.unwrap().unwrap()
}

fn path_of(f: &Fixture, instance: &StoredInstance) -> PathBuf {
    f.root.join(&instance.object_key)
}

fn pixels_le() -> Vec<u8> {
    ct_slice_pixels(&spec(), 0)
        .iter()
        .flat_map(|p: &u16| p.to_le_bytes())
        .collect()
}

#[tokio::test]
async fn a_lost_or_damaged_object_is_put_back_by_the_same_bytes_sent_again() {
    let f = fixture();
    let bytes = slice();
    let store = |b: Bytes| f.ingest.ingest(Incoming::Part10(b), "test", None);
    assert_eq!(store(bytes.clone()).await.unwrap().kind, StoreKind::New);
    let instance = indexed(&f).await;

    // Whole and intact: nothing is written again.
    let before = std::fs::metadata(path_of(&f, &instance))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        store(bytes.clone()).await.unwrap().kind,
        StoreKind::Duplicate
    );
    let after = std::fs::metadata(path_of(&f, &instance))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);

    // Deleted by hand: sent again, it is back, byte for byte.
    std::fs::remove_file(path_of(&f, &instance)).unwrap();
    assert!(
        pacs_core::verify::check_instance(&*f.store, &instance)
            .await
            .is_err()
    );
    assert_eq!(
        store(bytes.clone()).await.unwrap().kind,
        StoreKind::Repaired
    );
    assert_eq!(f.archive.object(&instance).await.unwrap(), bytes);

    // One pixel byte flipped on disk: the same.
    let path = path_of(&f, &instance);
    let mut damaged = std::fs::read(&path).unwrap();
    let last = damaged.len() - 10;
    damaged[last] ^= 0x40;
    std::fs::write(&path, &damaged).unwrap();
    assert_eq!(
        store(bytes.clone()).await.unwrap().kind,
        StoreKind::Repaired
    );
    assert_eq!(f.archive.object(&instance).await.unwrap(), bytes);
    pacs_core::verify::check_instance(&*f.store, &indexed(&f).await)
        .await
        .unwrap();
    assert_eq!(f.index.totals().await.unwrap().instances, 1);
}

#[tokio::test]
async fn a_lost_object_is_put_back_from_a_copy_with_another_file_meta_group() {
    let f = fixture();
    let bytes = slice();
    let first = f
        .ingest
        .ingest(over_dimse(&bytes, "CT_A"), "test", None)
        .await
        .unwrap();
    assert_eq!(first.kind, StoreKind::New);
    let lost = indexed(&f).await;
    std::fs::remove_file(path_of(&f, &lost)).unwrap();

    // The same data set from the disc the hospital burnt: another file
    // meta group, so another object, which the index now names.
    let again = f
        .ingest
        .ingest(Incoming::Part10(bytes.clone()), "test", None)
        .await
        .unwrap();
    assert_eq!(again.kind, StoreKind::Repaired);
    let now = indexed(&f).await;
    assert_ne!(now.object_key, lost.object_key);
    assert_eq!(now.sha256, lost.sha256);
    assert_eq!(f.archive.object(&now).await.unwrap(), bytes);
    pacs_core::verify::check_instance(&*f.store, &now)
        .await
        .unwrap();
    // Frames are read where they lie in the new object.
    let frame = f.archive.frame_uncompressed(&now, 1).await.unwrap();
    assert_eq!(frame.as_ref(), pixels_le().as_slice());
    assert_eq!(f.store.list("").await.unwrap().len(), 1);
    assert_eq!(f.index.totals().await.unwrap().instances, 1);
}
