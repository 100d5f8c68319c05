//! The benchmark's data: one large CT series written to files, and many
//! tiny one-instance studies built in memory for the search figures.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bytes::Bytes;
use dicom_samples::{
    CharacterSet, CtSpec, Date, Patient, SampleTransferSyntax, Sex, XrayKind, XraySpec, ct_slice,
    to_bytes, write_ct_series, xray_image,
};

/// The CT series on disk, with the UIDs needed to address it over DICOMweb.
pub struct CtSeriesFiles {
    pub study_uid: String,
    pub series_uid: String,
    pub sop_uids: Vec<String>,
    pub files: Vec<PathBuf>,
    pub bytes: u64,
}

/// Writes a 512×512, 16-bit chest CT of `slices` slices below `root`.
pub fn write_ct(root: &Path, slices: u32) -> Result<CtSeriesFiles> {
    let spec = CtSpec::chest(Patient::karimov_ascii(), 42).with_slices(slices);
    let files = write_ct_series(&spec, root, SampleTransferSyntax::ExplicitVrLittleEndian)
        .context("cannot write the CT series")?;
    let mut bytes = 0;
    for f in &files {
        bytes += std::fs::metadata(f)?.len();
    }
    Ok(CtSeriesFiles {
        study_uid: spec.study.study_uid.clone(),
        series_uid: spec.series_uid.clone(),
        sop_uids: (0..slices).map(|i| spec.sop_instance_uid(i)).collect(),
        files,
        bytes,
    })
}

/// Splits `files` round-robin into `parts` directories below `root`
/// (hard links, so nothing is copied), one per association.
pub fn split_into_dirs(files: &[PathBuf], root: &Path, parts: usize) -> Result<Vec<PathBuf>> {
    let dirs: Vec<PathBuf> = (0..parts).map(|i| root.join(format!("part{i}"))).collect();
    for d in &dirs {
        std::fs::create_dir_all(d)?;
    }
    for (i, f) in files.iter().enumerate() {
        let target = dirs[i % parts].join(format!("{i:05}.dcm"));
        if target.exists() {
            continue;
        }
        std::fs::hard_link(f, &target)
            .or_else(|_| std::fs::copy(f, &target).map(|_| ()))
            .with_context(|| format!("cannot place {} in {}", f.display(), target.display()))?;
    }
    Ok(dirs)
}

const FAMILIES: [&str; 40] = [
    "Karimov",
    "Yusupov",
    "Rashidov",
    "Tursunov",
    "Abdullayev",
    "Nazarov",
    "Ismoilov",
    "Saidov",
    "Qodirov",
    "Ergashev",
    "Mirzayev",
    "Hasanov",
    "Aliyev",
    "Sobirov",
    "Jurayev",
    "Umarov",
    "Xolmatov",
    "Rahimov",
    "Toshmatov",
    "Usmonov",
    "Baxtiyorov",
    "Normatov",
    "Sharipov",
    "Valiyev",
    "Zokirov",
    "Fayzullayev",
    "Gafurov",
    "Hamidov",
    "Ibragimov",
    "Kamolov",
    "Latipov",
    "Muminov",
    "Nurmatov",
    "Orifov",
    "Pulatov",
    "Qosimov",
    "Salimov",
    "Tolipov",
    "Yoqubov",
    "Zaripov",
];
const GIVEN: [&str; 16] = [
    "Rustam", "Akmal", "Dilshod", "Sherzod", "Bobur", "Jasur", "Aziz", "Otabek", "Malika",
    "Nodira", "Gulnora", "Dilnoza", "Zarina", "Madina", "Shahnoza", "Feruza",
];

/// The first day of the study dates; dates spread over ten years from here.
const FIRST_DAY: Date = Date {
    year: 2016,
    month: 1,
    day: 1,
};
pub const DATE_SPAN_DAYS: u64 = 3650;
/// Seeds of the tiny studies start here, far from the CT's.
const SEED_BASE: u64 = 10_000_000;

/// What the search figures need to know about tiny study `i`.
pub struct TinyStudy {
    pub patient_id: String,
    pub family_name: &'static str,
    pub date: Date,
    pub modality: &'static str,
}

/// Deterministic attributes of tiny study `i`: a patient of its own, a date
/// within ten years, mostly CT with some DX and CR.
pub fn tiny_study(i: u64) -> TinyStudy {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17;
    TinyStudy {
        patient_id: format!("QB{i:07}"),
        family_name: FAMILIES[(h % FAMILIES.len() as u64) as usize],
        date: day(h % DATE_SPAN_DAYS),
        modality: match i % 20 {
            0..=2 => "CR",
            3..=5 => "DX",
            _ => "CT",
        },
    }
}

/// The study date `offset` days after the first one.
pub fn day(offset: u64) -> Date {
    FIRST_DAY.plus_days(offset as i64)
}

fn tiny_instance(i: u64) -> Result<Vec<u8>> {
    let s = tiny_study(i);
    let given = GIVEN[((i / 7) % GIVEN.len() as u64) as usize];
    let birth = Date {
        year: 1940,
        month: 1,
        day: 1,
    }
    .plus_days(((i * 7919) % 25_000) as i64);
    let sex = if i.is_multiple_of(2) {
        Sex::Male
    } else {
        Sex::Female
    };
    let patient = Patient::new(
        format!("{}^{given}", s.family_name),
        s.patient_id.clone(),
        birth,
        sex,
        CharacterSet::Default,
    );
    let seed = SEED_BASE + i;
    let mut obj = match s.modality {
        "CT" => {
            let mut spec = CtSpec::chest(patient, seed)
                .with_slices(1)
                .with_matrix(8, 8);
            spec.study.date = s.date;
            ct_slice(&spec, 0)?
        }
        modality => {
            let kind = if modality == "DX" {
                XrayKind::Dx
            } else {
                XrayKind::Cr
            };
            let mut spec = XraySpec::chest(kind, patient, seed).with_matrix(16, 16);
            spec.study.date = s.date;
            xray_image(&spec)?
        }
    };
    Ok(to_bytes(
        &mut obj,
        SampleTransferSyntax::ExplicitVrLittleEndian,
    )?)
}

/// The multipart boundary of the STOW bodies.
pub const BOUNDARY: &str = "archive-bench-boundary-7c1f";

/// STOW-RS bodies of `batch` tiny studies each, for studies `0..count`,
/// built on all cores.
pub fn tiny_stow_bodies(count: u64, batch: u64) -> Result<Vec<Bytes>> {
    let batches: Vec<(u64, u64)> = (0..count)
        .step_by(batch as usize)
        .map(|start| (start, (start + batch).min(count)))
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let results: Vec<Result<Vec<(usize, Bytes)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let batches = &batches;
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for (k, &(start, end)) in batches.iter().enumerate().skip(t).step_by(threads) {
                        out.push((k, stow_body(start..end)?));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a generator thread panicked")))
            })
            .collect()
    });
    let mut bodies: Vec<(usize, Bytes)> = Vec::with_capacity(batches.len());
    for r in results {
        bodies.extend(r?);
    }
    bodies.sort_by_key(|(k, _)| *k);
    Ok(bodies.into_iter().map(|(_, b)| b).collect())
}

fn stow_body(studies: std::ops::Range<u64>) -> Result<Bytes> {
    let mut body = Vec::new();
    for i in studies {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(&tiny_instance(i)?);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    Ok(Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_studies_are_distinct_and_spread() {
        let a = tiny_study(1);
        let b = tiny_study(2);
        assert_ne!(a.patient_id, b.patient_id);
        let dates: std::collections::HashSet<_> = (0..1000).map(|i| tiny_study(i).date).collect();
        assert!(dates.len() > 200, "dates spread: {}", dates.len());
        let body = stow_body(0..3).expect("three tiny studies");
        assert!(body.len() > 3 * 1000);
    }
}
