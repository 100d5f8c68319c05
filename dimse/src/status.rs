//! DIMSE status codes (PS3.7 Annex C).
//!
//! A status is carried as a plain `u16`; [`Status::class`] maps it onto the
//! five classes of PS3.7 §C.1 so callers can branch without knowing every
//! service-specific code.

use std::fmt;

/// A DIMSE status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(pub u16);

/// The class of a status code (PS3.7 §C.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    Success,
    Warning,
    Failure,
    Cancel,
    Pending,
}

impl Status {
    /// Operation completed.
    pub const SUCCESS: Status = Status(0x0000);

    /// Generic warning (PS3.7 §C.3).
    pub const WARNING: Status = Status(0x0001);
    /// Storage warning: data elements were coerced (PS3.4 §B.2.3).
    pub const WARNING_COERCION_OF_DATA_ELEMENTS: Status = Status(0xB000);
    /// Storage warning: some data elements were discarded.
    pub const WARNING_ELEMENTS_DISCARDED: Status = Status(0xB006);
    /// Storage warning: the data set does not match the SOP class.
    pub const WARNING_DATA_SET_DOES_NOT_MATCH_SOP_CLASS: Status = Status(0xB007);

    /// The SOP instance is already present.
    pub const DUPLICATE_SOP_INSTANCE: Status = Status(0x0111);
    /// The SOP class is not supported on this presentation context.
    pub const SOP_CLASS_NOT_SUPPORTED: Status = Status(0x0122);
    /// Refused: the caller is not authorized for this operation (PS3.7 C.4).
    pub const REFUSED_NOT_AUTHORIZED: Status = Status(0x0124);
    /// The command field is not one we serve.
    pub const UNRECOGNIZED_OPERATION: Status = Status(0x0211);
    /// Refused: out of resources (disk full, back-end unavailable).
    pub const REFUSED_OUT_OF_RESOURCES: Status = Status(0xA700);
    /// Retrieve refused: none of the sub-operations could be performed
    /// (PS3.4 C.4.3.1.4).
    pub const UNABLE_TO_PERFORM_SUB_OPERATIONS: Status = Status(0xA702);
    /// C-MOVE refused: the Move Destination is not a known node.
    pub const MOVE_DESTINATION_UNKNOWN: Status = Status(0xA801);
    /// Error: the data set does not match the SOP class.
    pub const DATA_SET_DOES_NOT_MATCH_SOP_CLASS: Status = Status(0xA900);
    /// Retrieve warning: sub-operations complete, one or more failed or
    /// had warnings (PS3.4 C.4.3.1.4).
    pub const SUB_OPERATIONS_COMPLETE_WITH_FAILURES: Status = Status(0xB000);
    /// Error: cannot understand (the data set could not be parsed).
    pub const CANNOT_UNDERSTAND: Status = Status(0xC000);

    /// The operation was cancelled by a C-CANCEL.
    pub const CANCEL: Status = Status(0xFE00);
    /// More responses follow.
    pub const PENDING: Status = Status(0xFF00);
    /// More responses follow; some optional keys were not supported.
    pub const PENDING_WARNING: Status = Status(0xFF01);

    /// The class of this code. Codes not named by PS3.7 as success,
    /// warning, cancel or pending are failures.
    pub fn class(self) -> StatusClass {
        match self.0 {
            0x0000 => StatusClass::Success,
            0x0001 | 0x0107 | 0x0116 | 0xB000..=0xBFFF => StatusClass::Warning,
            0xFE00 => StatusClass::Cancel,
            0xFF00 | 0xFF01 => StatusClass::Pending,
            _ => StatusClass::Failure,
        }
    }

    pub fn is_success(self) -> bool {
        self.class() == StatusClass::Success
    }

    pub fn is_failure(self) -> bool {
        self.class() == StatusClass::Failure
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:04X} ({:?})", self.0, self.class())
    }
}

impl From<u16> for Status {
    fn from(code: u16) -> Self {
        Status(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_ps3_7_annex_c() {
        assert_eq!(Status::SUCCESS.class(), StatusClass::Success);
        for warning in [
            Status::WARNING,
            Status::WARNING_COERCION_OF_DATA_ELEMENTS,
            Status::WARNING_ELEMENTS_DISCARDED,
            Status::WARNING_DATA_SET_DOES_NOT_MATCH_SOP_CLASS,
        ] {
            assert_eq!(warning.class(), StatusClass::Warning, "{warning}");
        }
        for failure in [
            Status::DUPLICATE_SOP_INSTANCE,
            Status::SOP_CLASS_NOT_SUPPORTED,
            Status::UNRECOGNIZED_OPERATION,
            Status::REFUSED_OUT_OF_RESOURCES,
            Status::DATA_SET_DOES_NOT_MATCH_SOP_CLASS,
            Status::CANNOT_UNDERSTAND,
            Status(0xC123),
        ] {
            assert_eq!(failure.class(), StatusClass::Failure, "{failure}");
        }
        assert_eq!(Status::CANCEL.class(), StatusClass::Cancel);
        assert_eq!(Status::PENDING.class(), StatusClass::Pending);
        assert_eq!(Status::PENDING_WARNING.class(), StatusClass::Pending);
    }
}
