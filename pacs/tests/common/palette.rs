//! A palette colour series for tests: two 64×64 images whose quadrants hold
//! four stored values, each mapped by its palette to a known colour.
//!
//! - Instance 1: 8-bit values, a 256-entry table of 16-bit entries
//!   (512 bytes per channel: small enough to travel inline in metadata).
//! - Instance 2: 12-bit values in 16 bits, a 4096-entry table (8 KiB per
//!   channel: served as bulk data the viewer has to fetch).
//!
//! Every entry `i` of an `n`-entry table is red `i/(n−1)`, green
//! `1 − i/(n−1)` and blue a constant, so each quadrant's colour is
//! computed here independently of any implementation.
#![allow(dead_code)]

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

pub const STUDY: &str = "1.2.826.0.1.3680043.10.1453.78.1";
pub const SERIES: &str = "1.2.826.0.1.3680043.10.1453.78.1.1";
pub const SIZE: u16 = 64;
/// Blue of every entry, as a 16-bit table value.
const BLUE: u16 = 0x4000;

/// Centres of the quadrants, (column, row).
pub const QUADRANTS: [(f64, f64); 4] = [(16.0, 16.0), (48.0, 16.0), (16.0, 48.0), (48.0, 48.0)];

/// Table size and stored value per quadrant of instance `k` (0 or 1).
fn layout(k: u32) -> (u32, [u16; 4]) {
    match k {
        0 => (256, [0, 85, 170, 255]),
        _ => (4096, [0, 1365, 2730, 4095]),
    }
}

fn entry(n: u32, i: u32) -> [u16; 3] {
    let red = (u64::from(i) * 65_535 / u64::from(n - 1)) as u16;
    [red, 65_535 - red, BLUE]
}

/// The 8-bit colour instance `k` shows in quadrant `q` (a table's high byte).
pub fn colour(k: u32, q: usize) -> [u8; 3] {
    let (n, values) = layout(k);
    entry(n, u32::from(values[q])).map(|c| (c >> 8) as u8)
}

pub fn sop_uid(k: u32) -> String {
    format!("{SERIES}.{}", k + 1)
}

/// Instance `k` (0 or 1) as a Part 10 file.
pub fn instance(k: u32) -> Vec<u8> {
    let (n, values) = layout(k);
    let bits: u16 = if k == 0 { 8 } else { 16 };
    let half = SIZE / 2;
    let stored: Vec<u16> = (0..SIZE)
        .flat_map(|row| {
            (0..SIZE)
                .map(move |col| values[usize::from(row >= half) * 2 + usize::from(col >= half)])
        })
        .collect();
    let sop = sop_uid(k);
    let sop_class = "1.2.840.10008.5.1.4.1.1.7"; // Secondary Capture
    let mut o = InMemDicomObject::new_empty();
    let mut put = |tag, vr, value: PrimitiveValue| o.put(DataElement::new(tag, vr, value));
    put(tags::SOP_CLASS_UID, VR::UI, sop_class.into());
    put(tags::SOP_INSTANCE_UID, VR::UI, sop.as_str().into());
    put(tags::STUDY_INSTANCE_UID, VR::UI, STUDY.into());
    put(tags::SERIES_INSTANCE_UID, VR::UI, SERIES.into());
    put(tags::MODALITY, VR::CS, "OT".into());
    put(tags::PATIENT_NAME, VR::PN, "Palette^Test".into());
    put(tags::PATIENT_ID, VR::LO, "E2E-0002".into());
    put(tags::STUDY_DATE, VR::DA, "20261121".into());
    put(tags::SERIES_NUMBER, VR::IS, "1".into());
    put(tags::INSTANCE_NUMBER, VR::IS, (k + 1).to_string().into());
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16));
    put(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "PALETTE COLOR".into(),
    );
    put(tags::ROWS, VR::US, PrimitiveValue::from(SIZE));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(SIZE));
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(bits));
    let stored_bits: u16 = if k == 0 { 8 } else { 12 };
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(stored_bits));
    put(
        tags::HIGH_BIT,
        VR::US,
        PrimitiveValue::from(stored_bits - 1),
    );
    put(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0u16),
    );
    // 0 entries means 65 536; 4096 fits as written.
    let descriptor = PrimitiveValue::U16([n as u16, 0, 16].into_iter().collect());
    let table: Vec<[u16; 3]> = (0..n).map(|i| entry(n, i)).collect();
    let descriptors = [
        tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
    ];
    let data = [
        tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    ];
    for c in 0..3 {
        put(descriptors[c], VR::US, descriptor.clone());
        let channel = table.iter().map(|e| e[c]).collect();
        put(data[c], VR::OW, PrimitiveValue::U16(channel));
    }
    let pixel_data = if bits == 8 {
        PrimitiveValue::U8(stored.iter().map(|&v| v as u8).collect())
    } else {
        PrimitiveValue::U16(stored.into_iter().collect())
    };
    let vr = if bits == 8 { VR::OB } else { VR::OW };
    put(tags::PIXEL_DATA, vr, pixel_data);
    let file = o
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .media_storage_sop_class_uid(sop_class)
                .media_storage_sop_instance_uid(sop.as_str()),
        )
        .expect("file meta");
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).expect("encoded");
    bytes
}
