//! Radiology reports and their three outputs.
//!
//! A signed report ([`ReportDocument`]) becomes:
//! - a PDF for the referring doctor ([`pdf()`]), A4, with its typeface
//!   embedded so that Russian and Uzbek (Latin) text renders anywhere;
//! - a DICOM Encapsulated PDF instance in the study ([`encapsulated_pdf`],
//!   [`to_part10_bytes`]), for viewers and PACS that only speak DICOM;
//! - a FHIR R4 DiagnosticReport ([`fhir_diagnostic_report`]) for the
//!   hospital's record system.
//!
//! The crate also holds the normal-study [`templates`] a radiologist starts
//! from. Everything here is a pure function of its arguments: no I/O, no
//! clock, no randomness; identifiers and "now" come from the caller.

mod dicom;
mod fhir;
pub mod format;
mod labels;
mod model;
mod pdf;
mod templates;

pub use dicom::{ENCAPSULATED_PDF_STORAGE, encapsulated_pdf, to_part10_bytes};
pub use fhir::fhir_diagnostic_report;
pub use model::{
    CriticalFinding, KeyImage, Lang, NewUids, ReportDocument, ReportStatus, SECTION_KEYS, Sections,
    SignedVersion, Template, UnixMillis, VersionKind,
};
pub use pdf::pdf;
pub use templates::{TEMPLATE_IDS, section_titles, template, templates};

/// Why an output could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the report has no signed version")]
    NotSigned,
    #[error(
        "report versions must be numbered 1, 2, … in order: expected {expected}, found {found}"
    )]
    VersionOrder { expected: u32, found: u32 },
    #[error("report version {version} is a report but has no sections")]
    MissingSections { version: u32 },
    #[error("version {version} is a preliminary or final report signed after the final one")]
    ReportAfterFinal { version: u32 },
    #[error("addendum {version} comes before any final report")]
    AddendumBeforeFinal { version: u32 },
    #[error("addendum {version} has no text")]
    EmptyAddendum { version: u32 },
    #[error("key image {} is not a readable PNG: {source}", .index + 1)]
    KeyImage {
        index: usize,
        source: ::image::ImageError,
    },
    #[error("the embedded font could not be used: {0}")]
    Font(String),
    #[error("{what} {uid:?} is not a valid DICOM UID")]
    InvalidUid { what: &'static str, uid: String },
    #[error("the PDF to encapsulate is empty or not a PDF")]
    NotPdf,
    #[error("the DICOM instance could not be built: {0}")]
    Dicom(String),
}

/// Text as the outputs show it: line breaks as `\n`, tabs as spaces, and no
/// other control characters (a PDF string and XML would carry them as
/// garbage or reject them).
pub(crate) fn normalize_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .filter_map(|c| match c {
            '\r' | '\n' => Some('\n'),
            '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(normalize_text("a\r\nb\rc\td\u{7}e\u{0}"), "a\nb\nc de");
    }
}
