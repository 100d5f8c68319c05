//! DIMSE status codes (PS3.7 Annex C).

/// A DIMSE status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(pub u16);

impl Status {
    pub const SUCCESS: Status = Status(0x0000);
}
