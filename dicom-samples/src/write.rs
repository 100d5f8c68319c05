//! Writing generated objects to disk in a chosen transfer syntax.

use std::path::{Path, PathBuf};

use dicom_dictionary_std::uids;
use dicom_object::{FileDicomObject, InMemDicomObject};

use crate::error::SamplesError;

/// The uncompressed transfer syntaxes the generator can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SampleTransferSyntax {
    /// Explicit VR Little Endian, 1.2.840.10008.1.2.1 (the default).
    #[default]
    ExplicitVrLittleEndian,
    /// Implicit VR Little Endian, 1.2.840.10008.1.2.
    ImplicitVrLittleEndian,
    /// Explicit VR Big Endian (retired), 1.2.840.10008.1.2.2.
    ExplicitVrBigEndian,
    /// Deflated Explicit VR Little Endian, 1.2.840.10008.1.2.1.99.
    DeflatedExplicitVrLittleEndian,
}

impl SampleTransferSyntax {
    /// Every supported transfer syntax, default first.
    pub const ALL: [SampleTransferSyntax; 4] = [
        SampleTransferSyntax::ExplicitVrLittleEndian,
        SampleTransferSyntax::ImplicitVrLittleEndian,
        SampleTransferSyntax::ExplicitVrBigEndian,
        SampleTransferSyntax::DeflatedExplicitVrLittleEndian,
    ];

    /// The transfer syntax UID.
    pub fn uid(self) -> &'static str {
        match self {
            SampleTransferSyntax::ExplicitVrLittleEndian => uids::EXPLICIT_VR_LITTLE_ENDIAN,
            SampleTransferSyntax::ImplicitVrLittleEndian => uids::IMPLICIT_VR_LITTLE_ENDIAN,
            SampleTransferSyntax::ExplicitVrBigEndian => "1.2.840.10008.1.2.2", // retired, hence no dictionary constant
            SampleTransferSyntax::DeflatedExplicitVrLittleEndian => {
                uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
            }
        }
    }

    /// The short name used on the command line.
    pub fn cli_name(self) -> &'static str {
        match self {
            SampleTransferSyntax::ExplicitVrLittleEndian => "explicit",
            SampleTransferSyntax::ImplicitVrLittleEndian => "implicit",
            SampleTransferSyntax::ExplicitVrBigEndian => "big",
            SampleTransferSyntax::DeflatedExplicitVrLittleEndian => "deflate",
        }
    }

    /// Parse a command-line name (`explicit`, `implicit`, `big`, `deflate`).
    pub fn from_cli_name(name: &str) -> Option<SampleTransferSyntax> {
        Self::ALL.into_iter().find(|ts| ts.cli_name() == name)
    }
}

impl std::str::FromStr for SampleTransferSyntax {
    type Err = SamplesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SampleTransferSyntax::from_cli_name(s).ok_or_else(|| {
            SamplesError::InvalidSpec(format!(
                "unknown transfer syntax {s:?}; expected explicit, implicit, big or deflate"
            ))
        })
    }
}

/// Switch the object's file meta group to `ts` and write it to `path`.
///
/// The object keeps the new transfer syntax afterwards, so its meta group
/// describes the file that was written.
pub fn write_file(
    obj: &mut FileDicomObject<InMemDicomObject>,
    path: &Path,
    ts: SampleTransferSyntax,
) -> Result<(), SamplesError> {
    set_transfer_syntax(obj, ts);
    obj.write_to_file(path).map_err(|e| SamplesError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Encode the object as a complete DICOM file (preamble, meta group and
/// data set) in memory, in `ts`.
pub fn to_bytes(
    obj: &mut FileDicomObject<InMemDicomObject>,
    ts: SampleTransferSyntax,
) -> Result<Vec<u8>, SamplesError> {
    set_transfer_syntax(obj, ts);
    let mut out = Vec::new();
    obj.write_all(&mut out).map_err(|e| SamplesError::Encode {
        path: PathBuf::from("<memory>"),
        message: e.to_string(),
    })?;
    Ok(out)
}

fn set_transfer_syntax(obj: &mut FileDicomObject<InMemDicomObject>, ts: SampleTransferSyntax) {
    let mut uid = ts.uid().to_string();
    if uid.len() % 2 == 1 {
        uid.push('\0');
    }
    obj.update_meta(|m| m.transfer_syntax = uid);
}

/// Create `dir` and its parents.
pub(crate) fn create_dir(dir: &Path) -> Result<(), SamplesError> {
    std::fs::create_dir_all(dir).map_err(|e| SamplesError::io(dir, e))
}
