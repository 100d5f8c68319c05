//! Patient names are written in the declared Specific Character Set.

mod common;

use common::*;
use dicom_dictionary_std::tags;
use dicom_samples::*;

/// Value bytes of the first explicit-VR-LE element `tag` with VR `vr`.
fn raw_value(file: &[u8], group: u16, element: u16, vr: &[u8; 2]) -> Option<Vec<u8>> {
    let mut pattern = Vec::new();
    pattern.extend_from_slice(&group.to_le_bytes());
    pattern.extend_from_slice(&element.to_le_bytes());
    pattern.extend_from_slice(vr);
    let at = file.windows(6).position(|w| w == pattern.as_slice())?;
    let len = usize::from(u16::from_le_bytes([file[at + 6], file[at + 7]]));
    file.get(at + 8..at + 8 + len).map(<[u8]>::to_vec)
}

fn padded(mut v: Vec<u8>) -> Vec<u8> {
    if v.len() % 2 == 1 {
        v.push(b' ');
    }
    v
}

fn encoded_file(patient: Patient, referring: &str) -> (CtSpec, Vec<u8>) {
    let mut spec = CtSpec::chest(patient, 11)
        .with_slices(1)
        .with_matrix(16, 16);
    spec.study.referring_physician = referring.to_string();
    let mut obj = ct_slice(&spec, 0).expect("slice");
    let bytes = to_bytes(&mut obj, SampleTransferSyntax::ExplicitVrLittleEndian).expect("encode");
    (spec, bytes)
}

#[test]
fn iso_ir_144_name_is_iso_8859_5_on_disk() {
    let (spec, bytes) = encoded_file(Patient::ivanov_iso_ir_144(), "Петров^Алексей");
    assert_eq!(
        raw_value(&bytes, 0x0008, 0x0005, b"CS").as_deref(),
        Some(&b"ISO_IR 144"[..])
    );
    let name = raw_value(&bytes, 0x0010, 0x0010, b"PN").expect("PatientName present");
    // Иванов^Иван^Петрович, one byte per letter in ISO-8859-5
    let expected: Vec<u8> = vec![
        0xB8, 0xD2, 0xD0, 0xDD, 0xDE, 0xD2, b'^', 0xB8, 0xD2, 0xD0, 0xDD, b'^', 0xBF, 0xD5, 0xE2,
        0xE0, 0xDE, 0xD2, 0xD8, 0xE7,
    ];
    assert_eq!(name, expected);
    let referring = raw_value(&bytes, 0x0008, 0x0090, b"PN").expect("referring physician");
    assert_eq!(
        referring,
        padded(
            CharacterSet::Cyrillic
                .encode("Петров^Алексей")
                .unwrap_or_default()
        )
    );
    // no UTF-8 leaked into the file
    let utf8 = spec.patient.name.as_bytes();
    assert!(!bytes.windows(utf8.len()).any(|w| w == utf8));
    // dicom-object decodes it back to the same Unicode text
    let back = dicom_object::from_reader(&bytes[128..]).expect("parse");
    assert_eq!(string(&back, tags::PATIENT_NAME), "Иванов^Иван^Петрович");
    assert_eq!(
        string(&back, tags::REFERRING_PHYSICIAN_NAME),
        "Петров^Алексей"
    );
}

#[test]
fn utf8_names_keep_cyrillic_and_uzbek_modifier_letter() {
    for (patient, expected) in [
        (Patient::ivanova_utf8(), "Иванова^Мария^Сергеевна"),
        (Patient::orinboyeva_utf8(), "Oʻrinboyeva^Gʻuncha"),
    ] {
        let (_, bytes) = encoded_file(patient, "Rahimova^Dilnoza");
        assert_eq!(
            raw_value(&bytes, 0x0008, 0x0005, b"CS").as_deref(),
            Some(&b"ISO_IR 192"[..])
        );
        let name = raw_value(&bytes, 0x0010, 0x0010, b"PN").expect("PatientName present");
        assert_eq!(name, padded(expected.as_bytes().to_vec()));
        if expected.starts_with('O') {
            // U+02BB MODIFIER LETTER TURNED COMMA is CA BB in UTF-8
            assert!(name.windows(2).any(|w| w == [0xCA, 0xBB]));
        }
        let back = dicom_object::from_reader(&bytes[128..]).expect("parse");
        assert_eq!(string(&back, tags::PATIENT_NAME), expected);
    }
}

#[test]
fn ascii_patient_declares_no_character_set() {
    let (_, bytes) = encoded_file(Patient::karimov_ascii(), "Yusupov^Akmal");
    assert_eq!(raw_value(&bytes, 0x0008, 0x0005, b"CS"), None);
    assert_eq!(
        raw_value(&bytes, 0x0010, 0x0010, b"PN").as_deref(),
        Some(&b"Karimov^Rustam"[..])
    );
}

#[test]
fn names_survive_every_transfer_syntax() {
    let dir = tempfile::tempdir().expect("tempdir");
    for patient in [Patient::ivanov_iso_ir_144(), Patient::orinboyeva_utf8()] {
        let spec = XraySpec::chest(XrayKind::Cr, patient.clone(), 3).with_matrix(32, 32);
        for ts in SampleTransferSyntax::ALL {
            let mut obj = xray_image(&spec).expect("image");
            let path = dir
                .path()
                .join(format!("{}-{}.dcm", patient.id, ts.cli_name()));
            write_file(&mut obj, &path, ts).expect("write");
            let back = dicom_object::open_file(&path).expect("read");
            assert_eq!(string(&back, tags::PATIENT_NAME), patient.name, "{ts:?}");
        }
    }
}

#[test]
fn dcmtk_decodes_the_same_names() {
    if !std::path::Path::new("/usr/bin/dcmdump").exists() {
        eprintln!("skipping: /usr/bin/dcmdump not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for patient in [
        Patient::ivanov_iso_ir_144(),
        Patient::ivanova_utf8(),
        Patient::orinboyeva_utf8(),
    ] {
        let spec = XraySpec::chest(XrayKind::Dx, patient.clone(), 4).with_matrix(32, 32);
        let path = write_xray(&spec, dir.path(), SampleTransferSyntax::default()).expect("write");
        // +U8 makes dcmdump convert from the declared character set to UTF-8
        let out = std::process::Command::new("/usr/bin/dcmdump")
            .args(["+U8", "+P", "0010,0010"])
            .arg(&path)
            .output()
            .expect("run dcmdump");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(&format!("[{}]", patient.name)),
            "{text}"
        );
    }
}

#[test]
fn unencodable_names_are_rejected() {
    let mut p = Patient::orinboyeva_utf8();
    p.charset = CharacterSet::Cyrillic;
    let spec = CtSpec::chest(p, 1).with_slices(1);
    assert!(matches!(
        ct_series(&spec),
        Err(SamplesError::Unencodable { .. })
    ));
    let mut spec = CtSpec::chest(Patient::ivanov_iso_ir_144(), 1).with_slices(1);
    spec.study.referring_physician = "Oʻrinboyev^Jasur".into();
    assert!(matches!(
        ct_series(&spec),
        Err(SamplesError::Unencodable { .. })
    ));
}
