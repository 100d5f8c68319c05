//! Whole studies and the demo set loaded by `pacs serve`.

use std::path::{Path, PathBuf};

use crate::ct::CtSpec;
use crate::date::Date;
use crate::error::SamplesError;
use crate::modules::StudyInfo;
use crate::patient::Patient;
use crate::series::{write_ct_series, write_xray};
use crate::write::SampleTransferSyntax;
use crate::xray::{XrayKind, XraySpec};

/// One generated study (a single series of one modality).
#[derive(Debug, Clone, PartialEq)]
pub enum StudySpec {
    /// A CT series.
    Ct(CtSpec),
    /// A DX or CR radiograph.
    Xray(XraySpec),
}

impl StudySpec {
    /// The patient of the study.
    pub fn patient(&self) -> &Patient {
        match self {
            StudySpec::Ct(s) => &s.patient,
            StudySpec::Xray(s) => &s.patient,
        }
    }

    /// Study-level attributes.
    pub fn study(&self) -> &StudyInfo {
        match self {
            StudySpec::Ct(s) => &s.study,
            StudySpec::Xray(s) => &s.study,
        }
    }

    /// Mutable study-level attributes (to change dates, UIDs...).
    pub fn study_mut(&mut self) -> &mut StudyInfo {
        match self {
            StudySpec::Ct(s) => &mut s.study,
            StudySpec::Xray(s) => &mut s.study,
        }
    }

    /// Modality of the study's only series.
    pub fn modality(&self) -> &'static str {
        match self {
            StudySpec::Ct(_) => "CT",
            StudySpec::Xray(s) => s.kind.modality(),
        }
    }

    /// Number of instances the study will contain.
    pub fn instance_count(&self) -> u32 {
        match self {
            StudySpec::Ct(s) => s.slices,
            StudySpec::Xray(_) => 1,
        }
    }

    /// Check the spec without generating anything.
    pub fn validate(&self) -> Result<(), SamplesError> {
        match self {
            StudySpec::Ct(s) => s.validate(),
            StudySpec::Xray(s) => s.validate(),
        }
    }
}

/// Generate and write every instance of `spec` below `root`.
pub fn write_study(
    spec: &StudySpec,
    root: &Path,
    ts: SampleTransferSyntax,
) -> Result<Vec<PathBuf>, SamplesError> {
    match spec {
        StudySpec::Ct(s) => write_ct_series(s, root, ts),
        StudySpec::Xray(s) => write_xray(s, root, ts).map(|p| vec![p]),
    }
}

/// The demo set, dated relative to today (UTC).
///
/// See [`demo_studies_on`] for its contents.
pub fn demo_studies() -> Vec<StudySpec> {
    demo_studies_on(Date::today())
}

/// The demo set with study dates counted back from `today`.
///
/// Four patients, five studies, about 110 MB uncompressed:
/// * Иванов Иван (`ISO_IR 144`): 120-slice chest CT 12 days ago and a
///   prior DX chest 5 months ago, for side-by-side comparison;
/// * Oʻrinboyeva Gʻuncha (`ISO_IR 192`): 40-slice head CT;
/// * Иванова Мария (`ISO_IR 192`): DX chest;
/// * Karimov Rustam (no character set): CR chest.
///
/// Everything except the dates is identical on every call.
pub fn demo_studies_on(today: Date) -> Vec<StudySpec> {
    let ivanov = Patient::ivanov_iso_ir_144();

    let mut ct_chest = CtSpec::chest(ivanov.clone(), 101).with_slices(120);
    ct_chest.slice_thickness_mm = 2.5;
    ct_chest.slice_spacing_mm = 2.5;
    ct_chest.series_description = "Chest 2.5mm".into();
    ct_chest.study.referring_physician = "Петров^Алексей".into();
    ct_chest.study.description = "КТ органов грудной клетки".into();
    ct_chest.study.date = today.plus_days(-12);

    let mut prior_dx = XraySpec::chest(XrayKind::Dx, ivanov, 102);
    prior_dx.study.referring_physician = "Петров^Алексей".into();
    prior_dx.study.date = today.plus_days(-150);

    let mut head = CtSpec::head(Patient::orinboyeva_utf8(), 103);
    head.study.referring_physician = "Xoʻjayev^Bobur".into();
    head.study.date = today.plus_days(-35);

    let mut dx = XraySpec::chest(XrayKind::Dx, Patient::ivanova_utf8(), 104);
    dx.study.referring_physician = "Rahimova^Dilnoza".into();
    dx.study.date = today.plus_days(-60);

    let mut cr = XraySpec::chest(XrayKind::Cr, Patient::karimov_ascii(), 105);
    cr.study.date = today.plus_days(-95);

    vec![
        StudySpec::Ct(ct_chest),
        StudySpec::Xray(prior_dx),
        StudySpec::Ct(head),
        StudySpec::Xray(dx),
        StudySpec::Xray(cr),
    ]
}

/// Write the demo set below `dir` in Explicit VR Little Endian; returns every
/// file written.
pub fn write_demo(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    write_demo_with(dir, SampleTransferSyntax::default()).map_err(Into::into)
}

/// Write the demo set below `dir` in the given transfer syntax.
pub fn write_demo_with(dir: &Path, ts: SampleTransferSyntax) -> Result<Vec<PathBuf>, SamplesError> {
    let mut paths = Vec::new();
    for study in demo_studies() {
        paths.extend(write_study(&study, dir, ts)?);
    }
    Ok(paths)
}
