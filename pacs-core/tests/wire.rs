//! Packing for peer transfer on generated CT and X-ray instances, through
//! the real ingest pipeline (so the layout and image attributes are the
//! ones the sender has): every package unpacks to the stored object byte
//! for byte, and greyscale pixels go as JPEG-LS.

// The fixtures below are test set-up: a failure there should stop the test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use dicom_samples::{
    CtSpec, Patient, SampleTransferSyntax, XrayKind, XraySpec, ct_slice, to_bytes, xray_image,
};
use pacs_core::index::Index;
use pacs_core::wire::{Method, pack, unpack};
use pacs_core::{Archive, Incoming, Ingest, IngestConfig, SqliteIndex, Uid};
use storage::{FsStore, ObjectStore};

async fn stored_and_packed(objects: Vec<Vec<u8>>) -> Vec<(Bytes, pacs_core::wire::Package)> {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(FsStore::open(dir.path().join("objects")).unwrap());
    let index: Arc<dyn Index> =
        Arc::new(SqliteIndex::open(dir.path().join("index.sqlite")).unwrap());
    let ingest = Ingest::new(store.clone(), index.clone(), IngestConfig::default());
    let archive = Archive::new(store, index.clone());
    let mut out = Vec::new();
    for object in objects {
        let stored = ingest
            .ingest(Incoming::Part10(Bytes::from(object)), "test", None)
            .await
            .unwrap();
        let study = Uid::parse(&stored.study_instance_uid).unwrap();
        let instance = index
            .instances(
                &study,
                None,
                Some(&Uid::parse(&stored.sop_instance_uid).unwrap()),
            )
            .await
            .unwrap()
            .remove(0);
        let object = archive.object(&instance).await.unwrap();
        let package = pack(&object, &instance.pixel, instance.image.as_ref());
        out.push((object, package));
    }
    out
}

#[tokio::test]
async fn ct_and_xray_pack_losslessly_and_small() {
    let ct = CtSpec::chest(Patient::ivanov_iso_ir_144(), 51).with_slices(3);
    let mut objects: Vec<Vec<u8>> = (0..3)
        .map(|k| {
            let mut o = ct_slice(&ct, k).unwrap();
            to_bytes(&mut o, SampleTransferSyntax::ExplicitVrLittleEndian).unwrap()
        })
        .collect();
    let mut implicit = ct_slice(&ct, 0).unwrap();
    let implicit = to_bytes(&mut implicit, SampleTransferSyntax::ImplicitVrLittleEndian).unwrap();
    let dx =
        XraySpec::chest(XrayKind::Dx, Patient::ivanov_iso_ir_144(), 52).with_matrix(1250, 1024);
    let mut dx = xray_image(&dx).unwrap();
    objects.push(to_bytes(&mut dx, SampleTransferSyntax::ExplicitVrLittleEndian).unwrap());
    let mut deflated = ct_slice(
        &CtSpec::chest(Patient::ivanov_iso_ir_144(), 53).with_slices(1),
        0,
    )
    .unwrap();
    objects.push(
        to_bytes(
            &mut deflated,
            SampleTransferSyntax::DeflatedExplicitVrLittleEndian,
        )
        .unwrap(),
    );
    let _ = implicit;

    let packed = stored_and_packed(objects).await;
    for (i, (object, package)) in packed.iter().enumerate() {
        assert_eq!(
            &unpack(&package.bytes, 1 << 30).unwrap()[..],
            &object[..],
            "instance {i}"
        );
        println!(
            "instance {i}: {} bytes → {} ({}), {:.2}×",
            object.len(),
            package.bytes.len(),
            package.method.name(),
            object.len() as f64 / package.bytes.len() as f64
        );
    }
    for (object, package) in &packed[..4] {
        assert_eq!(package.method, Method::JpegLs);
        assert!(
            package.bytes.len() * 2 < object.len(),
            "greyscale pixels at least halve"
        );
    }
    // Deflated data sets have no pixel layout to cut: zstd or as they are.
    assert_ne!(packed[4].1.method, Method::JpegLs);
}
