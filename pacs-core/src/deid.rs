//! De-identified copies of instances, for second opinions by outside
//! readers: the DICOM Basic Application Level Confidentiality Profile
//! (PS3.15 E.2, Table E.1-1), optionally with one of the Retain
//! Longitudinal Temporal Information options.
//!
//! What [`deidentify`] guarantees for its output:
//!
//! - every attribute of the Basic Profile column is removed, emptied,
//!   given a dummy value or a replacement UID as its action says
//!   ([`profile::BASIC_PROFILE`]), at any depth of sequence nesting;
//!   private attributes, curves (50xx) and overlays (60xx) are removed;
//! - replacements are keyed by the archive's secret and deterministic: a
//!   UID always maps to the same [`pseudonym_uid`], so a study
//!   de-identified in several calls (or again later) keeps its study,
//!   series, frame of reference and every reference between instances;
//!   a patient always gets the same [`PatientPseudonym`] and date offset;
//! - SOP Class UIDs, transfer syntax and Pixel Data are kept byte for byte;
//!   the file meta group is rebuilt (new Media Storage SOP Instance UID,
//!   this archive's implementation identification, no AE titles);
//! - Patient Identity Removed is YES, and the De-identification Method,
//!   its code sequence (CID 7050) and Longitudinal Temporal Information
//!   Modified say which profile and option were applied.
//!
//! Text burned into the pixels is not touched: the outcome reports
//! Burned In Annotation = YES so the caller can refuse or warn.

mod dates;
pub mod profile;
mod pseudonym;

use std::fmt;

use dicom_core::header::Header;
use dicom_core::value::{C, DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{FileDicomObject, InMemDicomObject};

pub use pseudonym::{PatientPseudonym, pseudonym_uid};

use crate::ingest::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME};
use profile::Resolved;

/// What happens to dates and times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DateHandling {
    /// The Basic Profile alone: dates and times are emptied, removed or
    /// replaced by dummies (Longitudinal Temporal Information Modified =
    /// REMOVED).
    Remove,
    /// Retain Longitudinal Temporal Information with Full Dates Option:
    /// dates and times are kept (UNMODIFIED).
    Keep,
    /// Retain Longitudinal Temporal Information with Modified Dates Option:
    /// every date moves back by the patient's offset in whole days, the
    /// same for all studies of that patient; times of day are kept, so
    /// intervals survive (MODIFIED). The default: an outside reader can
    /// compare with priors without learning when the patient was seen.
    #[default]
    Shift,
}

/// How an archive de-identifies. The secret keys every replacement:
/// keep it per archive, stable (changing it changes every pseudonym and
/// UID), and out of logs; [`fmt::Debug`] does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct DeidConfig {
    secret: Vec<u8>,
    dates: DateHandling,
}

impl DeidConfig {
    /// The shortest secret accepted, in bytes: a short or empty key would
    /// let anyone with a list of candidate Patient IDs recompute the
    /// pseudonyms.
    pub const MIN_SECRET_LEN: usize = 16;

    pub fn new(secret: impl Into<Vec<u8>>, dates: DateHandling) -> Result<DeidConfig, DeidError> {
        let secret = secret.into();
        if secret.len() < Self::MIN_SECRET_LEN {
            return Err(DeidError::WeakSecret {
                len: secret.len(),
                min: Self::MIN_SECRET_LEN,
            });
        }
        Ok(DeidConfig { secret, dates })
    }

    pub fn dates(&self) -> DateHandling {
        self.dates
    }

    pub fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl fmt::Debug for DeidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeidConfig")
            .field("secret", &format_args!("<{} bytes>", self.secret.len()))
            .field("dates", &self.dates)
            .finish()
    }
}

/// A de-identified copy and what the caller needs to know about it.
#[derive(Debug, Clone)]
pub struct Deidentified {
    /// The copy, with its rebuilt file meta group.
    pub object: FileDicomObject<InMemDicomObject>,
    /// The original said Burned In Annotation (0028,0301) = YES: the
    /// pixels may show identifying text, which this copy still carries.
    /// An absent attribute gives `false`, though ultrasound and secondary
    /// capture images often carry text without saying so.
    pub burned_in_annotation: bool,
    /// The replacement Study Instance UID.
    pub study_uid: String,
    /// The replacement Series Instance UID.
    pub series_uid: String,
    /// The replacement SOP Instance UID.
    pub sop_uid: String,
    /// The patient's pseudonym, including the date offset (applied only
    /// with [`DateHandling::Shift`]).
    pub patient: PatientPseudonym,
}

/// Why an instance could not be de-identified.
#[derive(Debug, thiserror::Error)]
pub enum DeidError {
    #[error(
        "the de-identification secret has {len} bytes; use at least {min} random bytes so that pseudonyms cannot be recomputed from guessed Patient IDs"
    )]
    WeakSecret { len: usize, min: usize },
    #[error("the instance has no {0}, which a de-identified copy needs")]
    MissingAttribute(&'static str),
    #[error("cannot build the file meta group of the de-identified copy: {0}")]
    Meta(String),
}

/// Codes of CID 7050 (De-identification Method), coding scheme DCM.
const BASIC_PROFILE_CODE: (&str, &str) = ("113100", "Basic Application Confidentiality Profile");
const FULL_DATES_CODE: (&str, &str) = (
    "113106",
    "Retain Longitudinal Temporal Information Full Dates Option",
);
const MODIFIED_DATES_CODE: (&str, &str) = (
    "113107",
    "Retain Longitudinal Temporal Information Modified Dates Option",
);

/// A de-identified copy of `obj` (see the module documentation for what
/// it guarantees). The input is not modified.
pub fn deidentify(
    obj: &FileDicomObject<InMemDicomObject>,
    config: &DeidConfig,
) -> Result<Deidentified, DeidError> {
    let sop_class = first_text(obj, tags::SOP_CLASS_UID)
        .or_else(|| non_empty(obj.meta().media_storage_sop_class_uid()))
        .ok_or(DeidError::MissingAttribute("SOP Class UID"))?;
    for (tag, name) in [
        (tags::SOP_INSTANCE_UID, "SOP Instance UID"),
        (tags::STUDY_INSTANCE_UID, "Study Instance UID"),
        (tags::SERIES_INSTANCE_UID, "Series Instance UID"),
    ] {
        if first_text(obj, tag).is_none() {
            return Err(DeidError::MissingAttribute(name));
        }
    }
    // The patient is known by Patient ID; without one, by name, and
    // failing that only the study stays consistent.
    let key = [
        tags::PATIENT_ID,
        tags::PATIENT_NAME,
        tags::STUDY_INSTANCE_UID,
    ]
    .into_iter()
    .find_map(|tag| first_text(obj, tag))
    .unwrap_or_default();
    let patient = PatientPseudonym::derive(&config.secret, &key);
    let burned_in_annotation =
        first_text(obj, tags::BURNED_IN_ANNOTATION).is_some_and(|v| v.eq_ignore_ascii_case("YES"));

    let walk = Walk {
        secret: &config.secret,
        dates: config.dates,
        patient: &patient,
    };
    let mut out = walk.data_set(obj, true);
    put_method(&mut out, config.dates);

    let uid = |tag| first_text(&out, tag).unwrap_or_default();
    let (study_uid, series_uid, sop_uid) = (
        uid(tags::STUDY_INSTANCE_UID),
        uid(tags::SERIES_INSTANCE_UID),
        uid(tags::SOP_INSTANCE_UID),
    );
    let transfer_syntax = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']);
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(transfer_syntax)
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_uid.as_str())
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME);
    let object = out
        .with_meta(meta)
        .map_err(|e| DeidError::Meta(e.to_string()))?;
    Ok(Deidentified {
        object,
        burned_in_annotation,
        study_uid,
        series_uid,
        sop_uid,
        patient,
    })
}

/// Patient Identity Removed, De-identification Method and its code
/// sequence, and Longitudinal Temporal Information Modified.
fn put_method(out: &mut InMemDicomObject, dates: DateHandling) {
    let (option, temporal) = match dates {
        DateHandling::Remove => (None, "REMOVED"),
        DateHandling::Keep => (Some(FULL_DATES_CODE), "UNMODIFIED"),
        DateHandling::Shift => (Some(MODIFIED_DATES_CODE), "MODIFIED"),
    };
    let codes: Vec<_> = std::iter::once(BASIC_PROFILE_CODE).chain(option).collect();
    out.put(text(tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES"));
    out.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD,
        VR::LO,
        PrimitiveValue::Strs(
            codes
                .iter()
                .map(|(_, meaning)| meaning.to_string())
                .collect(),
        ),
    ));
    let items = codes.iter().map(|(value, meaning)| {
        InMemDicomObject::from_element_iter([
            text(tags::CODE_VALUE, VR::SH, value),
            text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "DCM"),
            text(tags::CODE_MEANING, VR::LO, meaning),
        ])
    });
    out.put(sequence(
        tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
        items.collect(),
    ));
    out.put(text(
        tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
        VR::CS,
        temporal,
    ));
}

/// Free text inside structured content and presentation annotations,
/// which the table leaves to the options that clean such content: given a
/// dummy here, since either may name the patient.
const FREE_TEXT: [Tag; 2] = [tags::TEXT_VALUE, tags::UNFORMATTED_TEXT_VALUE];

/// Text put where the profile asks for a dummy value.
const DUMMY_TEXT: &str = "ANONYMIZED";

/// One de-identification pass over a data set and its sequences.
struct Walk<'a> {
    secret: &'a [u8],
    dates: DateHandling,
    patient: &'a PatientPseudonym,
}

impl Walk<'_> {
    fn data_set(&self, obj: &InMemDicomObject, top: bool) -> InMemDicomObject {
        InMemDicomObject::from_element_iter(obj.iter().filter_map(|e| self.element(e, top)))
    }

    /// The element as it appears in the copy, or `None` if it is removed.
    fn element(&self, e: &InMemElement, top: bool) -> Option<InMemElement> {
        let tag = e.tag();
        if tag.group() % 2 == 1 || tag.group() == 0x0002 || repeating_group(tag) {
            // Private attributes; a file meta group misplaced in the data
            // set; curves and whole overlays (their data and comments must
            // go, and an overlay without data is no overlay).
            return None;
        }
        if tag == tags::PATIENT_ID {
            let id = if top {
                self.patient.id.clone()
            } else {
                // Another patient (a source patient of a group, say)
                // gets their own consistent pseudonym.
                match first(e) {
                    Some(original) => PatientPseudonym::derive(self.secret, &original).id,
                    None => String::new(),
                }
            };
            return Some(text(tag, VR::LO, &id));
        }
        if tag == tags::PATIENT_NAME {
            let name = if top { self.patient.name.as_str() } else { "" };
            return Some(text(tag, VR::PN, name));
        }
        if FREE_TEXT.contains(&tag) {
            return Some(self.dummy(e));
        }
        let temporal_vr = matches!(e.vr(), VR::DA | VR::DT | VR::TM);
        match profile::rule(tag) {
            Some(rule) => {
                if rule.temporal {
                    match self.dates {
                        DateHandling::Keep => return Some(e.clone()),
                        DateHandling::Shift if temporal_vr => return Some(self.shifted(e)),
                        _ => {}
                    }
                }
                match rule.action.resolve() {
                    Resolved::Remove => None,
                    Resolved::Zero => Some(zero(e)),
                    Resolved::Dummy => Some(self.dummy(e)),
                    Resolved::Uid => Some(self.uids(e)),
                }
            }
            // Dates and times the table does not list (newer or private
            // extensions of standard IODs) by their VR, as PS3.15 E.1.1
            // Note 4 suggests.
            None if temporal_vr => match self.dates {
                DateHandling::Remove => None,
                DateHandling::Keep => Some(e.clone()),
                DateHandling::Shift => Some(self.shifted(e)),
            },
            None => Some(self.kept(e)),
        }
    }

    /// Kept as it is; a sequence keeps its items, each de-identified.
    fn kept(&self, e: &InMemElement) -> InMemElement {
        match e.value() {
            Value::Sequence(seq) => sequence(
                e.tag(),
                seq.items()
                    .iter()
                    .map(|item| self.data_set(item, false))
                    .collect(),
            ),
            _ => e.clone(),
        }
    }

    /// Dates moved by the patient's offset; times kept. A value that is
    /// not a valid date is emptied rather than passed on unshifted.
    fn shifted(&self, e: &InMemElement) -> InMemElement {
        let days = i64::from(self.patient.date_offset_days);
        let shift = match e.vr() {
            VR::DA => dates::shift_da,
            VR::DT => dates::shift_dt,
            _ => return e.clone(),
        };
        let Some(values) = values(e) else {
            return zero(e);
        };
        let shifted: Option<Vec<String>> = values.iter().map(|v| shift(v, days)).collect();
        match shifted {
            Some(values) if !values.is_empty() => strings(e.tag(), e.vr(), values),
            _ => zero(e),
        }
    }

    /// A dummy value consistent with the VR. A sequence keeps its items,
    /// de-identified, which is the non-empty value with nothing
    /// identifying left that the action asks for.
    fn dummy(&self, e: &InMemElement) -> InMemElement {
        let (tag, vr) = (e.tag(), e.vr());
        let value = match vr {
            VR::SQ => return self.kept(e),
            VR::UI => return self.uids(e),
            VR::AE
            | VR::CS
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::ST
            | VR::UC
            | VR::UR
            | VR::UT => PrimitiveValue::from(DUMMY_TEXT),
            VR::DA => PrimitiveValue::from("19000101"),
            VR::DT => PrimitiveValue::from("19000101000000"),
            VR::TM => PrimitiveValue::from("000000"),
            VR::AS => PrimitiveValue::from("000D"),
            VR::DS | VR::IS => PrimitiveValue::from("0"),
            VR::AT => PrimitiveValue::Tags(C::from_elem(Tag(0, 0), 1)),
            VR::US | VR::OW => PrimitiveValue::U16(C::from_elem(0, 1)),
            VR::SS => PrimitiveValue::I16(C::from_elem(0, 1)),
            VR::UL | VR::OL => PrimitiveValue::U32(C::from_elem(0, 1)),
            VR::SL => PrimitiveValue::I32(C::from_elem(0, 1)),
            VR::UV | VR::OV => PrimitiveValue::U64(C::from_elem(0, 1)),
            VR::SV => PrimitiveValue::I64(C::from_elem(0, 1)),
            VR::FL | VR::OF => PrimitiveValue::F32(C::from_elem(0.0, 1)),
            VR::FD | VR::OD => PrimitiveValue::F64(C::from_elem(0.0, 1)),
            VR::OB | VR::UN => PrimitiveValue::U8(C::from_elem(0, 2)),
        };
        DataElement::new(tag, vr, value)
    }

    /// UIDs replaced by their pseudonyms; a sequence keeps its items,
    /// whose UIDs the table replaces in turn.
    fn uids(&self, e: &InMemElement) -> InMemElement {
        if e.vr() == VR::SQ {
            return self.kept(e);
        }
        let originals = values(e).unwrap_or_default();
        let replaced: Vec<String> = if originals.is_empty() {
            // The action asks for a non-empty UID.
            vec![pseudonym_uid(self.secret, "")]
        } else {
            originals
                .iter()
                .map(|uid| pseudonym_uid(self.secret, uid))
                .collect()
        };
        strings(e.tag(), VR::UI, replaced)
    }
}

/// Curve (50xx) and overlay (60xx) groups.
fn repeating_group(tag: Tag) -> bool {
    matches!(tag.group(), 0x5000..=0x501E | 0x6000..=0x601E)
}

/// The element's values as trimmed text, `None` for a sequence or
/// encapsulated data. Bytes (an attribute read with VR UN) are taken as
/// the text they encode.
fn values(e: &InMemElement) -> Option<Vec<String>> {
    let trim = |s: &str| s.trim_matches([' ', '\0']).to_owned();
    match e.value() {
        Value::Primitive(PrimitiveValue::U8(bytes)) => Some(
            String::from_utf8_lossy(bytes)
                .split('\\')
                .map(trim)
                .collect(),
        ),
        Value::Primitive(p) => Some(p.to_multi_str().iter().map(|s| trim(s)).collect()),
        _ => None,
    }
    .map(|v: Vec<String>| {
        if v.iter().all(String::is_empty) {
            Vec::new()
        } else {
            v
        }
    })
}

fn first(e: &InMemElement) -> Option<String> {
    values(e)?.into_iter().next().filter(|v| !v.is_empty())
}

fn first_text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    first(obj.get(tag)?)
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim_matches([' ', '\0']);
    (!s.is_empty()).then(|| s.to_owned())
}

/// The same attribute with an empty value (an empty sequence for SQ).
fn zero(e: &InMemElement) -> InMemElement {
    match e.vr() {
        VR::SQ => sequence(e.tag(), Vec::new()),
        vr => DataElement::new(e.tag(), vr, PrimitiveValue::Empty),
    }
}

fn text(tag: Tag, vr: VR, value: &str) -> InMemElement {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn strings(tag: Tag, vr: VR, values: Vec<String>) -> InMemElement {
    DataElement::new(tag, vr, PrimitiveValue::Strs(values.into()))
}

/// A sequence of undefined length, so that no length written for the
/// original items can disagree with the cleaned ones.
fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> InMemElement {
    DataElement::new(tag, VR::SQ, DataSetSequence::new(items, Length::UNDEFINED))
}

#[cfg(test)]
mod tests;
