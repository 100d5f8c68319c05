//! PS3.15 Table E.1-1, the Basic Profile column: which attribute gets
//! which action when an instance is de-identified.
//!
//! Transcribed from the 2024b edition of the standard. The rows are the
//! table's attributes with a single tag; the table's pattern rows (private
//! attributes, curves, overlays) are handled by group in the parent module.
//! Rows marked temporal are those that the Retain Longitudinal Temporal
//! Information options keep (full dates) or modify (modified dates).

use dicom_core::Tag;

/// An action code of the Basic Profile column (PS3.15 E.1.1).
///
/// The combined codes let a de-identifier choose the weaker action when
/// the stronger one would break the IOD; [`Action::resolve`] makes that
/// choice without knowing the IOD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// D: replace with a non-empty dummy value consistent with the VR.
    Dummy,
    /// Z: replace with an empty value (or a dummy).
    Zero,
    /// X: remove.
    Remove,
    /// U: replace with a UID that is consistent within the set of instances.
    Uid,
    /// Z/D: Z unless D is needed (Type 2 versus Type 1).
    ZeroOrDummy,
    /// X/Z: X unless Z is needed (Type 3 versus Type 2).
    RemoveOrZero,
    /// X/D: X unless D is needed (Type 3 versus Type 1).
    RemoveOrDummy,
    /// X/Z/D: X unless Z or D is needed.
    RemoveOrZeroOrDummy,
    /// X/Z/U*: X unless Z, or the sequence with its instance UIDs
    /// replaced, is needed.
    RemoveOrZeroOrUids,
}

/// What is done to one attribute once a combined code is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolved {
    Dummy,
    Zero,
    Remove,
    /// Replace UIDs; for a sequence, keep it and replace the UIDs inside.
    Uid,
}

impl Action {
    /// The single action taken for this code.
    ///
    /// Without the IOD at hand, a combined code resolves to the member
    /// that keeps any IOD valid, since a present attribute may be Type 1
    /// or 2 in some IOD: X/Z to Z, X/D, Z/D and X/Z/D to D, and X/Z/U*
    /// to keeping the sequence with its instance UIDs replaced (which is
    /// also what keeps references inside a study usable).
    pub fn resolve(self) -> Resolved {
        match self {
            Action::Dummy | Action::ZeroOrDummy | Action::RemoveOrDummy => Resolved::Dummy,
            Action::RemoveOrZeroOrDummy => Resolved::Dummy,
            Action::Zero | Action::RemoveOrZero => Resolved::Zero,
            Action::Remove => Resolved::Remove,
            Action::Uid | Action::RemoveOrZeroOrUids => Resolved::Uid,
        }
    }

    /// The code as the standard writes it.
    pub fn code(self) -> &'static str {
        match self {
            Action::Dummy => "D",
            Action::Zero => "Z",
            Action::Remove => "X",
            Action::Uid => "U",
            Action::ZeroOrDummy => "Z/D",
            Action::RemoveOrZero => "X/Z",
            Action::RemoveOrDummy => "X/D",
            Action::RemoveOrZeroOrDummy => "X/Z/D",
            Action::RemoveOrZeroOrUids => "X/Z/U*",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub tag: Tag,
    /// The Basic Profile action.
    pub action: Action,
    /// Whether the Retain Longitudinal Temporal Information options apply
    /// (K with full dates, C with modified dates).
    pub temporal: bool,
}

/// The rule for `tag`, if the table lists it.
pub fn rule(tag: Tag) -> Option<&'static Rule> {
    BASIC_PROFILE
        .binary_search_by(|r| r.tag.cmp(&tag))
        .ok()
        .map(|i| &BASIC_PROFILE[i])
}

const fn r(group: u16, element: u16, action: Action) -> Rule {
    Rule {
        tag: Tag(group, element),
        action,
        temporal: false,
    }
}

const fn t(group: u16, element: u16, action: Action) -> Rule {
    Rule {
        tag: Tag(group, element),
        action,
        temporal: true,
    }
}

const D: Action = Action::Dummy;
const Z: Action = Action::Zero;
const X: Action = Action::Remove;
const U: Action = Action::Uid;
const ZD: Action = Action::ZeroOrDummy;
const XZ: Action = Action::RemoveOrZero;
const XD: Action = Action::RemoveOrDummy;
const XZD: Action = Action::RemoveOrZeroOrDummy;
const XZU: Action = Action::RemoveOrZeroOrUids;

/// Every single-tag row of Table E.1-1, sorted by tag.
pub static BASIC_PROFILE: &[Rule] = &[
    r(0x0000, 0x1000, X),   // Affected SOP Instance UID
    r(0x0000, 0x1001, U),   // Requested SOP Instance UID
    r(0x0002, 0x0003, U),   // Media Storage SOP Instance UID
    r(0x0004, 0x1511, U),   // Referenced SOP Instance UID in File
    t(0x0008, 0x0012, XD),  // Instance Creation Date
    t(0x0008, 0x0013, XZD), // Instance Creation Time
    r(0x0008, 0x0014, U),   // Instance Creator UID
    t(0x0008, 0x0015, X),   // Instance Coercion DateTime
    r(0x0008, 0x0017, U),   // Acquisition UID
    r(0x0008, 0x0018, U),   // SOP Instance UID
    r(0x0008, 0x0019, U),   // Pyramid UID
    t(0x0008, 0x0020, Z),   // Study Date
    t(0x0008, 0x0021, XD),  // Series Date
    t(0x0008, 0x0022, XZ),  // Acquisition Date
    t(0x0008, 0x0023, ZD),  // Content Date
    t(0x0008, 0x0024, X),   // Overlay Date
    t(0x0008, 0x0025, X),   // Curve Date
    t(0x0008, 0x002A, XZD), // Acquisition DateTime
    t(0x0008, 0x0030, Z),   // Study Time
    t(0x0008, 0x0031, XD),  // Series Time
    t(0x0008, 0x0032, XZ),  // Acquisition Time
    t(0x0008, 0x0033, ZD),  // Content Time
    t(0x0008, 0x0034, X),   // Overlay Time
    t(0x0008, 0x0035, X),   // Curve Time
    r(0x0008, 0x0050, Z),   // Accession Number
    r(0x0008, 0x0054, X),   // Retrieve AE Title
    r(0x0008, 0x0055, X),   // Station AE Title
    r(0x0008, 0x0058, U),   // Failed SOP Instance UID List
    r(0x0008, 0x0080, XZD), // Institution Name
    r(0x0008, 0x0081, X),   // Institution Address
    r(0x0008, 0x0082, XZD), // Institution Code Sequence
    r(0x0008, 0x0090, Z),   // Referring Physician's Name
    r(0x0008, 0x0092, X),   // Referring Physician's Address
    r(0x0008, 0x0094, X),   // Referring Physician's Telephone Numbers
    r(0x0008, 0x0096, X),   // Referring Physician Identification Sequence
    r(0x0008, 0x009C, Z),   // Consulting Physician's Name
    r(0x0008, 0x009D, X),   // Consulting Physician Identification Sequence
    t(0x0008, 0x0106, D),   // Context Group Version
    t(0x0008, 0x0107, D),   // Context Group Local Version
    t(0x0008, 0x0201, X),   // Timezone Offset From UTC
    r(0x0008, 0x1000, X),   // Network ID
    r(0x0008, 0x1010, XZD), // Station Name
    r(0x0008, 0x1030, X),   // Study Description
    r(0x0008, 0x103E, X),   // Series Description
    r(0x0008, 0x1040, X),   // Institutional Department Name
    r(0x0008, 0x1041, X),   // Institutional Department Type Code Sequence
    r(0x0008, 0x1048, X),   // Physician(s) of Record
    r(0x0008, 0x1049, X),   // Physician(s) of Record Identification Sequence
    r(0x0008, 0x1050, X),   // Performing Physician's Name
    r(0x0008, 0x1052, X),   // Performing Physician Identification Sequence
    r(0x0008, 0x1060, X),   // Name of Physician(s) Reading Study
    r(0x0008, 0x1062, X),   // Physician(s) Reading Study Identification Sequence
    r(0x0008, 0x1070, XZD), // Operators' Name
    r(0x0008, 0x1072, XD),  // Operator Identification Sequence
    r(0x0008, 0x1080, X),   // Admitting Diagnoses Description
    r(0x0008, 0x1084, X),   // Admitting Diagnoses Code Sequence
    r(0x0008, 0x1088, X),   // Pyramid Description
    r(0x0008, 0x1110, XZ),  // Referenced Study Sequence
    r(0x0008, 0x1111, XZD), // Referenced Performed Procedure Step Sequence
    r(0x0008, 0x1120, X),   // Referenced Patient Sequence
    r(0x0008, 0x1140, XZU), // Referenced Image Sequence
    r(0x0008, 0x1155, U),   // Referenced SOP Instance UID
    r(0x0008, 0x1195, U),   // Transaction UID
    r(0x0008, 0x2111, X),   // Derivation Description
    r(0x0008, 0x2112, XZU), // Source Image Sequence
    r(0x0008, 0x3010, U),   // Irradiation Event UID
    r(0x0008, 0x4000, X),   // Identifying Comments
    r(0x0010, 0x0010, Z),   // Patient's Name
    r(0x0010, 0x0020, ZD),  // Patient ID
    r(0x0010, 0x0021, X),   // Issuer of Patient ID
    r(0x0010, 0x0030, Z),   // Patient's Birth Date
    r(0x0010, 0x0032, X),   // Patient's Birth Time
    r(0x0010, 0x0040, Z),   // Patient's Sex
    r(0x0010, 0x0050, X),   // Patient's Insurance Plan Code Sequence
    r(0x0010, 0x0101, X),   // Patient's Primary Language Code Sequence
    r(0x0010, 0x0102, X),   // Patient's Primary Language Modifier Code Sequence
    r(0x0010, 0x1000, X),   // Other Patient IDs
    r(0x0010, 0x1001, X),   // Other Patient Names
    r(0x0010, 0x1002, X),   // Other Patient IDs Sequence
    r(0x0010, 0x1005, X),   // Patient's Birth Name
    r(0x0010, 0x1010, X),   // Patient's Age
    r(0x0010, 0x1020, X),   // Patient's Size
    r(0x0010, 0x1030, X),   // Patient's Weight
    r(0x0010, 0x1040, X),   // Patient's Address
    r(0x0010, 0x1050, X),   // Insurance Plan Identification
    r(0x0010, 0x1060, X),   // Patient's Mother's Birth Name
    r(0x0010, 0x1080, X),   // Military Rank
    r(0x0010, 0x1081, X),   // Branch of Service
    r(0x0010, 0x1090, X),   // Medical Record Locator
    r(0x0010, 0x1100, X),   // Referenced Patient Photo Sequence
    r(0x0010, 0x2000, X),   // Medical Alerts
    r(0x0010, 0x2110, X),   // Allergies
    r(0x0010, 0x2150, X),   // Country of Residence
    r(0x0010, 0x2152, X),   // Region of Residence
    r(0x0010, 0x2154, X),   // Patient's Telephone Numbers
    r(0x0010, 0x2155, X),   // Patient's Telecom Information
    r(0x0010, 0x2160, X),   // Ethnic Group
    r(0x0010, 0x2180, X),   // Occupation
    r(0x0010, 0x21A0, X),   // Smoking Status
    r(0x0010, 0x21B0, X),   // Additional Patient History
    r(0x0010, 0x21C0, X),   // Pregnancy Status
    t(0x0010, 0x21D0, X),   // Last Menstrual Date
    r(0x0010, 0x21F0, X),   // Patient's Religious Preference
    r(0x0010, 0x2203, XZ),  // Patient's Sex Neutered
    r(0x0010, 0x2297, X),   // Responsible Person
    r(0x0010, 0x2299, X),   // Responsible Organization
    r(0x0010, 0x4000, X),   // Patient Comments
    r(0x0012, 0x0010, D),   // Clinical Trial Sponsor Name
    r(0x0012, 0x0020, D),   // Clinical Trial Protocol ID
    r(0x0012, 0x0021, Z),   // Clinical Trial Protocol Name
    r(0x0012, 0x0022, X),   // Issuer of Clinical Trial Protocol ID
    r(0x0012, 0x0023, X),   // Other Clinical Trial Protocol IDs Sequence
    r(0x0012, 0x0030, Z),   // Clinical Trial Site ID
    r(0x0012, 0x0031, Z),   // Clinical Trial Site Name
    r(0x0012, 0x0032, X),   // Issuer of Clinical Trial Site ID
    r(0x0012, 0x0040, D),   // Clinical Trial Subject ID
    r(0x0012, 0x0041, X),   // Issuer of Clinical Trial Subject ID
    r(0x0012, 0x0042, D),   // Clinical Trial Subject Reading ID
    r(0x0012, 0x0043, X),   // Issuer of Clinical Trial Subject Reading ID
    r(0x0012, 0x0050, Z),   // Clinical Trial Time Point ID
    r(0x0012, 0x0051, X),   // Clinical Trial Time Point Description
    r(0x0012, 0x0055, X),   // Issuer of Clinical Trial Time Point ID
    r(0x0012, 0x0060, Z),   // Clinical Trial Coordinating Center Name
    r(0x0012, 0x0071, X),   // Clinical Trial Series ID
    r(0x0012, 0x0072, X),   // Clinical Trial Series Description
    r(0x0012, 0x0073, X),   // Issuer of Clinical Trial Series ID
    r(0x0012, 0x0081, D),   // Clinical Trial Protocol Ethics Committee Name
    r(0x0012, 0x0082, X),   // Clinical Trial Protocol Ethics Committee Approval Number
    t(0x0012, 0x0086, X),   // Ethics Committee Approval Effectiveness Start Date
    t(0x0012, 0x0087, X),   // Ethics Committee Approval Effectiveness End Date
    t(0x0014, 0x407C, X),   // Calibration Time
    t(0x0014, 0x407E, X),   // Calibration Date
    r(0x0016, 0x002B, X),   // Maker Note
    r(0x0016, 0x004B, X),   // Device Setting Description
    r(0x0016, 0x004D, X),   // Camera Owner Name
    r(0x0016, 0x004E, X),   // Lens Specification
    r(0x0016, 0x004F, X),   // Lens Make
    r(0x0016, 0x0050, X),   // Lens Model
    r(0x0016, 0x0051, X),   // Lens Serial Number
    r(0x0016, 0x0070, X),   // GPS Version ID
    r(0x0016, 0x0071, X),   // GPS Latitude Ref
    r(0x0016, 0x0072, X),   // GPS Latitude
    r(0x0016, 0x0073, X),   // GPS Longitude Ref
    r(0x0016, 0x0074, X),   // GPS Longitude
    r(0x0016, 0x0075, X),   // GPS Altitude Ref
    r(0x0016, 0x0076, X),   // GPS Altitude
    r(0x0016, 0x0077, X),   // GPS Time Stamp
    r(0x0016, 0x0078, X),   // GPS Satellites
    r(0x0016, 0x0079, X),   // GPS Status
    r(0x0016, 0x007A, X),   // GPS Measure Mode
    r(0x0016, 0x007B, X),   // GPS DOP
    r(0x0016, 0x007C, X),   // GPS Speed Ref
    r(0x0016, 0x007D, X),   // GPS Speed
    r(0x0016, 0x007E, X),   // GPS Track Ref
    r(0x0016, 0x007F, X),   // GPS Track
    r(0x0016, 0x0080, X),   // GPS Img Direction Ref
    r(0x0016, 0x0081, X),   // GPS Img Direction
    r(0x0016, 0x0082, X),   // GPS Map Datum
    r(0x0016, 0x0083, X),   // GPS Dest Latitude Ref
    r(0x0016, 0x0084, X),   // GPS Dest Latitude
    r(0x0016, 0x0085, X),   // GPS Dest Longitude Ref
    r(0x0016, 0x0086, X),   // GPS Dest Longitude
    r(0x0016, 0x0087, X),   // GPS Dest Bearing Ref
    r(0x0016, 0x0088, X),   // GPS Dest Bearing
    r(0x0016, 0x0089, X),   // GPS Dest Distance Ref
    r(0x0016, 0x008A, X),   // GPS Dest Distance
    r(0x0016, 0x008B, X),   // GPS Processing Method
    r(0x0016, 0x008C, X),   // GPS Area Information
    t(0x0016, 0x008D, X),   // GPS Date Stamp
    r(0x0016, 0x008E, X),   // GPS Differential
    r(0x0018, 0x0010, ZD),  // Contrast/Bolus Agent
    t(0x0018, 0x0027, X),   // Intervention Drug Stop Time
    t(0x0018, 0x0035, X),   // Intervention Drug Start Time
    r(0x0018, 0x1000, XZD), // Device Serial Number
    r(0x0018, 0x1002, U),   // Device UID
    r(0x0018, 0x1004, X),   // Plate ID
    r(0x0018, 0x1005, X),   // Generator ID
    r(0x0018, 0x1007, X),   // Cassette ID
    r(0x0018, 0x1008, X),   // Gantry ID
    r(0x0018, 0x1009, X),   // Unique Device Identifier
    r(0x0018, 0x100A, X),   // UDI Sequence
    r(0x0018, 0x100B, U),   // Manufacturer's Device Class UID
    t(0x0018, 0x1012, X),   // Date of Secondary Capture
    t(0x0018, 0x1014, X),   // Time of Secondary Capture
    r(0x0018, 0x1030, XD),  // Protocol Name
    t(0x0018, 0x1042, X),   // Contrast/Bolus Start Time
    t(0x0018, 0x1043, X),   // Contrast/Bolus Stop Time
    t(0x0018, 0x1072, X),   // Radiopharmaceutical Start Time
    t(0x0018, 0x1073, X),   // Radiopharmaceutical Stop Time
    t(0x0018, 0x1078, X),   // Radiopharmaceutical Start DateTime
    t(0x0018, 0x1079, X),   // Radiopharmaceutical Stop DateTime
    r(0x0018, 0x11BB, D),   // Acquisition Field Of View Label
    t(0x0018, 0x1200, X),   // Date of Last Calibration
    t(0x0018, 0x1201, X),   // Time of Last Calibration
    t(0x0018, 0x1202, X),   // DateTime of Last Calibration
    t(0x0018, 0x1203, Z),   // Calibration DateTime
    t(0x0018, 0x1204, X),   // Date of Manufacture
    t(0x0018, 0x1205, X),   // Date of Installation
    r(0x0018, 0x1400, XD),  // Acquisition Device Processing Description
    r(0x0018, 0x2042, U),   // Target UID
    r(0x0018, 0x4000, X),   // Acquisition Comments
    r(0x0018, 0x5011, X),   // Transducer Identification Sequence
    r(0x0018, 0x700A, XD),  // Detector ID
    t(0x0018, 0x700C, XD),  // Date of Last Detector Calibration
    t(0x0018, 0x700E, XD),  // Time of Last Detector Calibration
    t(0x0018, 0x9074, D),   // Frame Acquisition DateTime
    t(0x0018, 0x9151, D),   // Frame Reference DateTime
    r(0x0018, 0x9185, X),   // Respiratory Motion Compensation Technique Description
    r(0x0018, 0x9367, D),   // X-Ray Source ID
    t(0x0018, 0x9369, D),   // Source Start DateTime
    t(0x0018, 0x936A, D),   // Source End DateTime
    r(0x0018, 0x9371, D),   // X-Ray Detector ID
    r(0x0018, 0x9373, X),   // X-Ray Detector Label
    r(0x0018, 0x937B, X),   // Multi-energy Acquisition Description
    r(0x0018, 0x937F, X),   // Decomposition Description
    r(0x0018, 0x9424, X),   // Acquisition Protocol Description
    t(0x0018, 0x9516, XD),  // Start Acquisition DateTime
    t(0x0018, 0x9517, XD),  // End Acquisition DateTime
    t(0x0018, 0x9623, D),   // Functional Sync Pulse
    t(0x0018, 0x9701, D),   // Decay Correction DateTime
    t(0x0018, 0x9804, D),   // Exclusion Start DateTime
    t(0x0018, 0x9919, ZD),  // Instruction Performed DateTime
    r(0x0018, 0x9937, X),   // Requested Series Description
    t(0x0018, 0xA002, X),   // Contribution DateTime
    r(0x0018, 0xA003, X),   // Contribution Description
    r(0x0020, 0x000D, U),   // Study Instance UID
    r(0x0020, 0x000E, U),   // Series Instance UID
    r(0x0020, 0x0010, Z),   // Study ID
    r(0x0020, 0x0027, X),   // Pyramid Label
    r(0x0020, 0x0052, U),   // Frame of Reference UID
    r(0x0020, 0x0200, U),   // Synchronization Frame of Reference UID
    r(0x0020, 0x3401, X),   // Modifying Device ID
    t(0x0020, 0x3403, X),   // Modified Image Date
    t(0x0020, 0x3405, X),   // Modified Image Time
    r(0x0020, 0x3406, X),   // Modified Image Description
    r(0x0020, 0x4000, X),   // Image Comments
    r(0x0020, 0x9158, X),   // Frame Comments
    r(0x0020, 0x9161, U),   // Concatenation UID
    r(0x0020, 0x9164, U),   // Dimension Organization UID
    r(0x0028, 0x1199, U),   // Palette Color Lookup Table UID
    r(0x0028, 0x1214, U),   // Large Palette Color Lookup Table UID
    r(0x0028, 0x4000, X),   // Image Presentation Comments
    r(0x0032, 0x0012, X),   // Study ID Issuer
    t(0x0032, 0x0032, X),   // Study Verified Date
    t(0x0032, 0x0033, X),   // Study Verified Time
    t(0x0032, 0x0034, X),   // Study Read Date
    t(0x0032, 0x0035, X),   // Study Read Time
    t(0x0032, 0x1000, X),   // Scheduled Study Start Date
    t(0x0032, 0x1001, X),   // Scheduled Study Start Time
    t(0x0032, 0x1010, X),   // Scheduled Study Stop Date
    t(0x0032, 0x1011, X),   // Scheduled Study Stop Time
    r(0x0032, 0x1020, X),   // Scheduled Study Location
    r(0x0032, 0x1021, X),   // Scheduled Study Location AE Title
    r(0x0032, 0x1030, X),   // Reason for Study
    r(0x0032, 0x1032, X),   // Requesting Physician
    r(0x0032, 0x1033, X),   // Requesting Service
    t(0x0032, 0x1040, X),   // Study Arrival Date
    t(0x0032, 0x1041, X),   // Study Arrival Time
    t(0x0032, 0x1050, X),   // Study Completion Date
    t(0x0032, 0x1051, X),   // Study Completion Time
    r(0x0032, 0x1060, XZ),  // Requested Procedure Description
    r(0x0032, 0x1066, X),   // Reason for Visit
    r(0x0032, 0x1067, X),   // Reason for Visit Code Sequence
    r(0x0032, 0x1070, X),   // Requested Contrast Agent
    r(0x0032, 0x4000, X),   // Study Comments
    r(0x0034, 0x0001, D),   // Flow Identifier Sequence
    r(0x0034, 0x0002, D),   // Flow Identifier
    r(0x0034, 0x0005, D),   // Source Identifier
    t(0x0034, 0x0007, D),   // Frame Origin Timestamp
    r(0x0038, 0x0004, X),   // Referenced Patient Alias Sequence
    r(0x0038, 0x0010, X),   // Admission ID
    r(0x0038, 0x0011, X),   // Issuer of Admission ID
    r(0x0038, 0x0014, X),   // Issuer of Admission ID Sequence
    t(0x0038, 0x001A, X),   // Scheduled Admission Date
    t(0x0038, 0x001B, X),   // Scheduled Admission Time
    t(0x0038, 0x001C, X),   // Scheduled Discharge Date
    t(0x0038, 0x001D, X),   // Scheduled Discharge Time
    r(0x0038, 0x001E, X),   // Scheduled Patient Institution Residence
    t(0x0038, 0x0020, X),   // Admitting Date
    t(0x0038, 0x0021, X),   // Admitting Time
    t(0x0038, 0x0030, X),   // Discharge Date
    t(0x0038, 0x0032, X),   // Discharge Time
    r(0x0038, 0x0040, X),   // Discharge Diagnosis Description
    r(0x0038, 0x0050, X),   // Special Needs
    r(0x0038, 0x0060, X),   // Service Episode ID
    r(0x0038, 0x0061, X),   // Issuer of Service Episode ID
    r(0x0038, 0x0062, X),   // Service Episode Description
    r(0x0038, 0x0064, X),   // Issuer of Service Episode ID Sequence
    r(0x0038, 0x0300, X),   // Current Patient Location
    r(0x0038, 0x0400, X),   // Patient's Institution Residence
    r(0x0038, 0x0500, X),   // Patient State
    r(0x0038, 0x4000, X),   // Visit Comments
    r(0x003A, 0x0310, U),   // Multiplex Group UID
    t(0x003A, 0x0314, D),   // Impedance Measurement DateTime
    r(0x003A, 0x0329, X),   // Waveform Filter Description
    r(0x003A, 0x032B, X),   // Filter Lookup Table Description
    r(0x0040, 0x0001, X),   // Scheduled Station AE Title
    t(0x0040, 0x0002, X),   // Scheduled Procedure Step Start Date
    t(0x0040, 0x0003, X),   // Scheduled Procedure Step Start Time
    t(0x0040, 0x0004, X),   // Scheduled Procedure Step End Date
    t(0x0040, 0x0005, X),   // Scheduled Procedure Step End Time
    r(0x0040, 0x0006, X),   // Scheduled Performing Physician's Name
    r(0x0040, 0x0007, X),   // Scheduled Procedure Step Description
    r(0x0040, 0x0009, X),   // Scheduled Procedure Step ID
    r(0x0040, 0x000B, X),   // Scheduled Performing Physician Identification Sequence
    r(0x0040, 0x0010, X),   // Scheduled Station Name
    r(0x0040, 0x0011, X),   // Scheduled Procedure Step Location
    r(0x0040, 0x0012, X),   // Pre-Medication
    r(0x0040, 0x0241, X),   // Performed Station AE Title
    r(0x0040, 0x0242, X),   // Performed Station Name
    r(0x0040, 0x0243, X),   // Performed Location
    t(0x0040, 0x0244, X),   // Performed Procedure Step Start Date
    t(0x0040, 0x0245, X),   // Performed Procedure Step Start Time
    t(0x0040, 0x0250, X),   // Performed Procedure Step End Date
    t(0x0040, 0x0251, X),   // Performed Procedure Step End Time
    r(0x0040, 0x0253, X),   // Performed Procedure Step ID
    r(0x0040, 0x0254, X),   // Performed Procedure Step Description
    r(0x0040, 0x0275, X),   // Request Attributes Sequence
    r(0x0040, 0x0280, X),   // Comments on the Performed Procedure Step
    r(0x0040, 0x0310, X),   // Comments on Radiation Dose
    r(0x0040, 0x050A, X),   // Specimen Accession Number
    r(0x0040, 0x0512, D),   // Container Identifier
    r(0x0040, 0x0513, Z),   // Issuer of the Container Identifier Sequence
    r(0x0040, 0x051A, X),   // Container Description
    r(0x0040, 0x0551, D),   // Specimen Identifier
    r(0x0040, 0x0554, U),   // Specimen UID
    r(0x0040, 0x0555, XZ),  // Acquisition Context Sequence
    r(0x0040, 0x0562, Z),   // Issuer of the Specimen Identifier Sequence
    r(0x0040, 0x0600, X),   // Specimen Short Description
    r(0x0040, 0x0602, X),   // Specimen Detailed Description
    r(0x0040, 0x0610, Z),   // Specimen Preparation Sequence
    r(0x0040, 0x06FA, X),   // Slide Identifier
    r(0x0040, 0x1001, X),   // Requested Procedure ID
    r(0x0040, 0x1002, X),   // Reason for the Requested Procedure
    r(0x0040, 0x1004, X),   // Patient Transport Arrangements
    r(0x0040, 0x1005, X),   // Requested Procedure Location
    r(0x0040, 0x100A, X),   // Reason for Requested Procedure Code Sequence
    r(0x0040, 0x1010, X),   // Names of Intended Recipients of Results
    r(0x0040, 0x1011, X),   // Intended Recipients of Results Identification Sequence
    r(0x0040, 0x1101, D),   // Person Identification Code Sequence
    r(0x0040, 0x1102, X),   // Person's Address
    r(0x0040, 0x1103, X),   // Person's Telephone Numbers
    r(0x0040, 0x1104, X),   // Person's Telecom Information
    r(0x0040, 0x1400, X),   // Requested Procedure Comments
    r(0x0040, 0x2001, X),   // Reason for the Imaging Service Request
    t(0x0040, 0x2004, X),   // Issue Date of Imaging Service Request
    t(0x0040, 0x2005, X),   // Issue Time of Imaging Service Request
    r(0x0040, 0x2008, X),   // Order Entered By
    r(0x0040, 0x2009, X),   // Order Enterer's Location
    r(0x0040, 0x2010, X),   // Order Callback Phone Number
    r(0x0040, 0x2011, X),   // Order Callback Telecom Information
    r(0x0040, 0x2016, Z),   // Placer Order Number / Imaging Service Request
    r(0x0040, 0x2017, Z),   // Filler Order Number / Imaging Service Request
    r(0x0040, 0x2400, X),   // Imaging Service Request Comments
    r(0x0040, 0x3001, X),   // Confidentiality Constraint on Patient Data Description
    t(0x0040, 0x4005, X),   // Scheduled Procedure Step Start DateTime
    t(0x0040, 0x4008, X),   // Scheduled Procedure Step Expiration DateTime
    t(0x0040, 0x4010, X),   // Scheduled Procedure Step Modification DateTime
    t(0x0040, 0x4011, X),   // Expected Completion DateTime
    r(0x0040, 0x4023, U),   // Referenced General Purpose Scheduled Procedure Step Transaction UID
    r(0x0040, 0x4025, X),   // Scheduled Station Name Code Sequence
    r(0x0040, 0x4027, X),   // Scheduled Station Geographic Location Code Sequence
    r(0x0040, 0x4028, X),   // Performed Station Name Code Sequence
    r(0x0040, 0x4030, X),   // Performed Station Geographic Location Code Sequence
    r(0x0040, 0x4034, X),   // Scheduled Human Performers Sequence
    r(0x0040, 0x4035, X),   // Actual Human Performers Sequence
    r(0x0040, 0x4036, X),   // Human Performer's Organization
    r(0x0040, 0x4037, X),   // Human Performer's Name
    t(0x0040, 0x4050, X),   // Performed Procedure Step Start DateTime
    t(0x0040, 0x4051, X),   // Performed Procedure Step End DateTime
    t(0x0040, 0x4052, X),   // Procedure Step Cancellation DateTime
    t(0x0040, 0xA023, X),   // Findings Group Recording Date (Trial)
    t(0x0040, 0xA024, X),   // Findings Group Recording Time (Trial)
    r(0x0040, 0xA027, D),   // Verifying Organization
    t(0x0040, 0xA030, D),   // Verification DateTime
    t(0x0040, 0xA032, XD),  // Observation DateTime
    t(0x0040, 0xA033, X),   // Observation Start DateTime
    r(0x0040, 0xA073, D),   // Verifying Observer Sequence
    r(0x0040, 0xA075, D),   // Verifying Observer Name
    r(0x0040, 0xA078, X),   // Author Observer Sequence
    r(0x0040, 0xA07A, X),   // Participant Sequence
    r(0x0040, 0xA07C, X),   // Custodial Organization Sequence
    t(0x0040, 0xA082, Z),   // Participation DateTime
    r(0x0040, 0xA088, Z),   // Verifying Observer Identification Code Sequence
    t(0x0040, 0xA110, X),   // Date of Document or Verbal Transaction (Trial)
    t(0x0040, 0xA112, X),   // Time of Document Creation or Verbal Transaction (Trial)
    t(0x0040, 0xA120, D),   // DateTime
    t(0x0040, 0xA121, D),   // Date
    t(0x0040, 0xA122, D),   // Time
    r(0x0040, 0xA123, D),   // Person Name
    r(0x0040, 0xA124, U),   // UID
    t(0x0040, 0xA13A, D),   // Referenced DateTime
    r(0x0040, 0xA171, U),   // Observation UID
    r(0x0040, 0xA172, U),   // Referenced Observation UID (Trial)
    t(0x0040, 0xA192, X),   // Observation Date (Trial)
    t(0x0040, 0xA193, X),   // Observation Time (Trial)
    r(0x0040, 0xA307, X),   // Current Observer (Trial)
    r(0x0040, 0xA352, X),   // Verbal Source (Trial)
    r(0x0040, 0xA353, X),   // Address (Trial)
    r(0x0040, 0xA354, X),   // Telephone Number (Trial)
    r(0x0040, 0xA358, X),   // Verbal Source Identifier Code Sequence (Trial)
    r(0x0040, 0xA402, U),   // Observation Subject UID (Trial)
    r(0x0040, 0xA730, D),   // Content Sequence
    t(0x0040, 0xDB06, X),   // Template Version
    t(0x0040, 0xDB07, X),   // Template Local Version
    r(0x0040, 0xDB0C, U),   // Template Extension Organization UID
    r(0x0040, 0xDB0D, U),   // Template Extension Creator UID
    t(0x0040, 0xE004, X),   // HL7 Document Effective Time
    r(0x0042, 0x0011, D),   // Encapsulated Document
    t(0x0044, 0x0004, X),   // Approval Status DateTime
    t(0x0044, 0x000B, X),   // Product Expiration DateTime
    t(0x0044, 0x0010, X),   // Substance Administration DateTime
    t(0x0044, 0x0104, D),   // Assertion DateTime
    t(0x0044, 0x0105, X),   // Assertion Expiration DateTime
    r(0x0050, 0x001B, X),   // Container Component ID
    r(0x0050, 0x0020, X),   // Device Description
    r(0x0050, 0x0021, X),   // Long Device Description
    r(0x0062, 0x0021, U),   // Tracking UID
    r(0x0064, 0x0003, U),   // Source Frame of Reference UID
    t(0x0068, 0x6226, D),   // Effective DateTime
    t(0x0068, 0x6270, D),   // Information Issue DateTime
    r(0x006A, 0x0003, D),   // Annotation Group UID
    r(0x006A, 0x0005, D),   // Annotation Group Label
    r(0x006A, 0x0006, X),   // Annotation Group Description
    r(0x0070, 0x0001, D),   // Graphic Annotation Sequence
    t(0x0070, 0x0082, X),   // Presentation Creation Date
    t(0x0070, 0x0083, X),   // Presentation Creation Time
    r(0x0070, 0x0084, ZD),  // Content Creator's Name
    r(0x0070, 0x0086, X),   // Content Creator's Identification Code Sequence
    r(0x0070, 0x031A, U),   // Fiducial UID
    r(0x0070, 0x1101, U),   // Presentation Display Collection UID
    r(0x0070, 0x1102, U),   // Presentation Sequence Collection UID
    t(0x0072, 0x000A, D),   // Hanging Protocol Creation DateTime
    r(0x0072, 0x005E, D),   // Selector AE Value
    r(0x0072, 0x005F, D),   // Selector AS Value
    t(0x0072, 0x0061, D),   // Selector DA Value
    t(0x0072, 0x0063, D),   // Selector DT Value
    r(0x0072, 0x0065, D),   // Selector OB Value
    r(0x0072, 0x0066, D),   // Selector LO Value
    r(0x0072, 0x0068, D),   // Selector LT Value
    r(0x0072, 0x006A, D),   // Selector PN Value
    t(0x0072, 0x006B, D),   // Selector TM Value
    r(0x0072, 0x006C, D),   // Selector SH Value
    r(0x0072, 0x006D, D),   // Selector UN Value
    r(0x0072, 0x006E, D),   // Selector ST Value
    r(0x0072, 0x0070, D),   // Selector UT Value
    r(0x0072, 0x0071, D),   // Selector UR Value
    r(0x0074, 0x1234, X),   // Receiving AE
    r(0x0074, 0x1236, X),   // Requesting AE
    r(0x0088, 0x0140, U),   // Storage Media File-set UID
    r(0x0088, 0x0200, X),   // Icon Image Sequence (see Note 11)
    r(0x0088, 0x0904, X),   // Topic Title
    r(0x0088, 0x0906, X),   // Topic Subject
    r(0x0088, 0x0910, X),   // Topic Author
    r(0x0088, 0x0912, X),   // Topic Keywords
    t(0x0100, 0x0420, X),   // SOP Authorization DateTime
    r(0x0400, 0x0100, U),   // Digital Signature UID
    t(0x0400, 0x0105, D),   // Digital Signature DateTime
    r(0x0400, 0x0115, D),   // Certificate of Signer
    t(0x0400, 0x0310, X),   // Certified Timestamp
    r(0x0400, 0x0402, X),   // Referenced Digital Signature Sequence
    r(0x0400, 0x0403, X),   // Referenced SOP Instance MAC Sequence
    r(0x0400, 0x0404, X),   // MAC
    r(0x0400, 0x0550, X),   // Modified Attributes Sequence
    r(0x0400, 0x0551, X),   // Nonconforming Modified Attributes Sequence
    r(0x0400, 0x0552, X),   // Nonconforming Data Element Value
    r(0x0400, 0x0561, X),   // Original Attributes Sequence
    t(0x0400, 0x0562, D),   // Attribute Modification DateTime
    r(0x0400, 0x0563, D),   // Modifying System
    r(0x0400, 0x0564, Z),   // Source of Previous Values
    r(0x0400, 0x0565, D),   // Reason for the Attribute Modification
    r(0x0400, 0x0600, X),   // Instance Origin Status
    r(0x2030, 0x0020, X),   // Text String
    t(0x2100, 0x0040, X),   // Creation Date
    t(0x2100, 0x0050, X),   // Creation Time
    r(0x2100, 0x0070, X),   // Originator
    r(0x2100, 0x0140, D),   // Destination AE
    r(0x2200, 0x0002, XZ),  // Label Text
    r(0x2200, 0x0005, XZ),  // Barcode Value
    r(0x3002, 0x0121, X),   // Position Acquisition Template Name
    r(0x3002, 0x0123, X),   // Position Acquisition Template Description
    r(0x3006, 0x0002, D),   // Structure Set Label
    r(0x3006, 0x0004, X),   // Structure Set Name
    r(0x3006, 0x0006, X),   // Structure Set Description
    t(0x3006, 0x0008, Z),   // Structure Set Date
    t(0x3006, 0x0009, Z),   // Structure Set Time
    r(0x3006, 0x0024, U),   // Referenced Frame of Reference UID
    r(0x3006, 0x0026, Z),   // ROI Name
    r(0x3006, 0x0028, X),   // ROI Description
    t(0x3006, 0x002D, X),   // ROI DateTime
    t(0x3006, 0x002E, X),   // ROI Observation DateTime
    r(0x3006, 0x0038, X),   // ROI Generation Description
    r(0x3006, 0x004D, X),   // ROI Creator Sequence
    r(0x3006, 0x004E, X),   // ROI Interpreter Sequence
    r(0x3006, 0x0085, X),   // ROI Observation Label
    r(0x3006, 0x0088, X),   // ROI Observation Description
    r(0x3006, 0x00A6, Z),   // ROI Interpreter
    r(0x3006, 0x00C2, U),   // Related Frame of Reference UID
    t(0x3008, 0x0024, D),   // Treatment Control Point Date
    t(0x3008, 0x0025, D),   // Treatment Control Point Time
    t(0x3008, 0x0054, XD),  // First Treatment Date
    t(0x3008, 0x0056, XD),  // Most Recent Treatment Date
    r(0x3008, 0x0105, XZ),  // Source Serial Number
    t(0x3008, 0x0162, D),   // Safe Position Exit Date
    t(0x3008, 0x0164, D),   // Safe Position Exit Time
    t(0x3008, 0x0166, D),   // Safe Position Return Date
    t(0x3008, 0x0168, D),   // Safe Position Return Time
    t(0x3008, 0x0250, XD),  // Treatment Date
    t(0x3008, 0x0251, XD),  // Treatment Time
    r(0x300A, 0x0002, D),   // RT Plan Label
    r(0x300A, 0x0003, X),   // RT Plan Name
    r(0x300A, 0x0004, X),   // RT Plan Description
    t(0x300A, 0x0006, XD),  // RT Plan Date
    t(0x300A, 0x0007, XD),  // RT Plan Time
    r(0x300A, 0x000B, X),   // Treatment Sites
    r(0x300A, 0x000E, X),   // Prescription Description
    r(0x300A, 0x0013, U),   // Dose Reference UID
    r(0x300A, 0x0016, X),   // Dose Reference Description
    r(0x300A, 0x0072, X),   // Fraction Group Description
    r(0x300A, 0x0083, U),   // Referenced Dose Reference UID
    r(0x300A, 0x00B2, XZ),  // Treatment Machine Name
    r(0x300A, 0x00C3, X),   // Beam Description
    r(0x300A, 0x00DD, X),   // Bolus Description
    r(0x300A, 0x0196, X),   // Fixation Device Description
    r(0x300A, 0x01A6, X),   // Shielding Device Description
    r(0x300A, 0x01B2, X),   // Setup Technique Description
    r(0x300A, 0x0216, X),   // Source Manufacturer
    t(0x300A, 0x022C, D),   // Source Strength Reference Date
    t(0x300A, 0x022E, D),   // Source Strength Reference Time
    r(0x300A, 0x02EB, X),   // Compensator Description
    r(0x300A, 0x0608, D),   // Treatment Position Group Label
    r(0x300A, 0x0609, U),   // Treatment Position Group UID
    r(0x300A, 0x0611, Z),   // RT Accessory Holder Slot ID
    r(0x300A, 0x0615, Z),   // RT Accessory Device Slot ID
    r(0x300A, 0x0619, D),   // Radiation Dose Identification Label
    r(0x300A, 0x0623, D),   // Radiation Dose In-Vivo Measurement Label
    r(0x300A, 0x062A, D),   // RT Tolerance Set Label
    r(0x300A, 0x0650, U),   // Patient Setup UID
    r(0x300A, 0x0676, X),   // Equipment Frame of Reference Description
    r(0x300A, 0x067C, D),   // Radiation Generation Mode Label
    r(0x300A, 0x067D, Z),   // Radiation Generation Mode Description
    r(0x300A, 0x0700, U),   // Treatment Session UID
    r(0x300A, 0x0734, D),   // Treatment Tolerance Violation Description
    t(0x300A, 0x0736, D),   // Treatment Tolerance Violation DateTime
    t(0x300A, 0x073A, D),   // Recorded RT Control Point DateTime
    t(0x300A, 0x0741, D),   // Interlock DateTime
    r(0x300A, 0x0742, D),   // Interlock Description
    t(0x300A, 0x0760, D),   // Override DateTime
    r(0x300A, 0x0783, D),   // Interlock Origin Description
    r(0x300A, 0x0785, U),   // Referenced Treatment Position Group UID
    r(0x300A, 0x078E, X),   // Patient Treatment Preparation Procedure Parameter Description
    r(0x300A, 0x0792, X),   // Patient Treatment Preparation Method Description
    r(0x300A, 0x0794, X),   // Patient Setup Photo Description
    r(0x300A, 0x079A, X),   // Displacement Reference Label
    r(0x300C, 0x0113, X),   // Reason for Omission Description
    t(0x300C, 0x0127, D),   // Beam Hold Transition DateTime
    t(0x300E, 0x0004, Z),   // Review Date
    t(0x300E, 0x0005, Z),   // Review Time
    r(0x300E, 0x0008, XZ),  // Reviewer Name
    r(0x3010, 0x0006, U),   // Conceptual Volume UID
    r(0x3010, 0x000B, U),   // Referenced Conceptual Volume UID
    r(0x3010, 0x000F, Z),   // Conceptual Volume Combination Description
    r(0x3010, 0x0013, U),   // Constituent Conceptual Volume UID
    r(0x3010, 0x0015, U),   // Source Conceptual Volume UID
    r(0x3010, 0x0017, Z),   // Conceptual Volume Description
    r(0x3010, 0x001B, Z),   // Device Alternate Identifier
    r(0x3010, 0x002D, D),   // Device Label
    r(0x3010, 0x0031, U),   // Referenced Fiducials UID
    r(0x3010, 0x0033, D),   // User Content Label
    r(0x3010, 0x0034, D),   // User Content Long Label
    r(0x3010, 0x0035, D),   // Entity Label
    r(0x3010, 0x0036, X),   // Entity Name
    r(0x3010, 0x0037, X),   // Entity Description
    r(0x3010, 0x0038, D),   // Entity Long Label
    r(0x3010, 0x003B, U),   // RT Treatment Phase UID
    r(0x3010, 0x0043, Z),   // Manufacturer's Device Identifier
    t(0x3010, 0x004C, XD),  // Intended Phase Start Date
    t(0x3010, 0x004D, XD),  // Intended Phase End Date
    r(0x3010, 0x0054, D),   // RT Prescription Label
    r(0x3010, 0x0056, XD),  // RT Treatment Approach Label
    r(0x3010, 0x005A, Z),   // RT Physician Intent Narrative
    r(0x3010, 0x005C, Z),   // Reason for Superseding
    r(0x3010, 0x0061, X),   // Prior Treatment Dose Description
    r(0x3010, 0x006E, U),   // Dosimetric Objective UID
    r(0x3010, 0x006F, U),   // Referenced Dosimetric Objective UID
    r(0x3010, 0x0077, XD),  // Treatment Site
    r(0x3010, 0x007A, Z),   // Treatment Technique Notes
    r(0x3010, 0x007B, Z),   // Prescription Notes
    r(0x3010, 0x007F, Z),   // Fractionation Notes
    r(0x3010, 0x0081, Z),   // Prescription Notes Sequence
    t(0x3010, 0x0085, X),   // Intended Fraction Start Time
    r(0x4000, 0x0010, X),   // Arbitrary
    r(0x4000, 0x4000, X),   // Text Comments
    r(0x4008, 0x0040, X),   // Results ID
    r(0x4008, 0x0042, X),   // Results ID Issuer
    t(0x4008, 0x0100, X),   // Interpretation Recorded Date
    t(0x4008, 0x0101, X),   // Interpretation Recorded Time
    r(0x4008, 0x0102, X),   // Interpretation Recorder
    t(0x4008, 0x0108, X),   // Interpretation Transcription Date
    t(0x4008, 0x0109, X),   // Interpretation Transcription Time
    r(0x4008, 0x010A, X),   // Interpretation Transcriber
    r(0x4008, 0x010B, X),   // Interpretation Text
    r(0x4008, 0x010C, X),   // Interpretation Author
    r(0x4008, 0x0111, X),   // Interpretation Approver Sequence
    t(0x4008, 0x0112, X),   // Interpretation Approval Date
    t(0x4008, 0x0113, X),   // Interpretation Approval Time
    r(0x4008, 0x0114, X),   // Physician Approving Interpretation
    r(0x4008, 0x0115, X),   // Interpretation Diagnosis Description
    r(0x4008, 0x0118, X),   // Results Distribution List Sequence
    r(0x4008, 0x0119, X),   // Distribution Name
    r(0x4008, 0x011A, X),   // Distribution Address
    r(0x4008, 0x0200, X),   // Interpretation ID
    r(0x4008, 0x0202, X),   // Interpretation ID Issuer
    r(0x4008, 0x0300, X),   // Impressions
    r(0x4008, 0x4000, X),   // Results Comments
    r(0xFFFA, 0xFFFA, X),   // Digital Signatures Sequence
    r(0xFFFC, 0xFFFC, X),   // Data Set Trailing Padding
];

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_dictionary_std::tags;

    #[test]
    fn table_is_sorted_without_duplicates() {
        for pair in BASIC_PROFILE.windows(2) {
            assert!(
                pair[0].tag < pair[1].tag,
                "{:?} before {:?}",
                pair[0],
                pair[1]
            );
        }
        assert!(BASIC_PROFILE.len() > 600);
    }

    #[test]
    fn looks_up_well_known_rows() {
        let action = |tag| rule(tag).map(|r| r.action);
        assert_eq!(action(tags::ACCESSION_NUMBER), Some(Action::Zero));
        assert_eq!(action(tags::PATIENT_NAME), Some(Action::Zero));
        assert_eq!(action(tags::PATIENT_ID), Some(Action::ZeroOrDummy));
        assert_eq!(
            action(tags::INSTITUTION_NAME),
            Some(Action::RemoveOrZeroOrDummy)
        );
        assert_eq!(action(Tag(0x0010, 0x1000)), Some(Action::Remove));
        assert_eq!(action(tags::SOP_INSTANCE_UID), Some(Action::Uid));
        assert_eq!(action(tags::REFERENCED_SOP_INSTANCE_UID), Some(Action::Uid));
        assert_eq!(
            action(tags::REFERENCED_IMAGE_SEQUENCE),
            Some(Action::RemoveOrZeroOrUids)
        );
        assert_eq!(action(tags::SOP_CLASS_UID), None);
        assert_eq!(action(tags::PIXEL_DATA), None);
        assert!(rule(tags::STUDY_DATE).is_some_and(|r| r.temporal));
        assert!(rule(tags::PATIENT_BIRTH_DATE).is_some_and(|r| !r.temporal));
    }

    #[test]
    fn combined_codes_resolve_to_the_member_that_keeps_an_iod_valid() {
        assert_eq!(Action::RemoveOrZero.resolve(), Resolved::Zero);
        assert_eq!(Action::RemoveOrDummy.resolve(), Resolved::Dummy);
        assert_eq!(Action::ZeroOrDummy.resolve(), Resolved::Dummy);
        assert_eq!(Action::RemoveOrZeroOrDummy.resolve(), Resolved::Dummy);
        assert_eq!(Action::RemoveOrZeroOrUids.resolve(), Resolved::Uid);
        assert_eq!(Action::RemoveOrZeroOrUids.code(), "X/Z/U*");
    }
}
