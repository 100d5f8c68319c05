//! What a C-GET or C-MOVE reports of its C-STORE sub-operations: the
//! counts in each response, the final status they make, and the Failed
//! SOP Instance UID List.

use dicom_dictionary_std::uids;

use crate::command::Command;
use crate::status::Status;

/// The sub-operation counts of a retrieval (PS3.4 C.4.2.1.4, C.4.3.1.4).
pub(super) struct SubOperations {
    total: usize,
    pub completed: usize,
    pub warning: usize,
    /// SOP Instance UIDs that could not be sent.
    pub failed: Vec<String>,
}

impl SubOperations {
    pub fn new(total: usize) -> SubOperations {
        SubOperations {
            total,
            completed: 0,
            warning: 0,
            failed: Vec::new(),
        }
    }

    pub fn remaining(&self) -> usize {
        self.total
            .saturating_sub(self.completed + self.warning + self.failed.len())
    }

    pub fn final_status(&self, cancelled: bool) -> Status {
        if cancelled {
            Status::CANCEL
        } else if self.failed.is_empty() && self.warning == 0 {
            Status::SUCCESS
        } else if self.completed == 0 && self.warning == 0 {
            Status::UNABLE_TO_PERFORM_SUB_OPERATIONS
        } else {
            Status::SUB_OPERATIONS_COMPLETE_WITH_FAILURES
        }
    }

    /// Counts go into responses as US: a retrieval of more than 65 535
    /// instances reports 65 535.
    pub fn write_to(&self, response: &mut Command, with_remaining: bool) {
        let us = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        let pending = response.status == Some(Status::PENDING);
        if pending || with_remaining {
            response.remaining_sub_operations = Some(us(self.remaining()));
        }
        response.completed_sub_operations = Some(us(self.completed));
        response.failed_sub_operations = Some(us(self.failed.len()));
        response.warning_sub_operations = Some(us(self.warning));
    }
}

/// The identifier of a final C-GET or C-MOVE response with failures: the
/// Failed SOP Instance UID List, encoded in the context's transfer syntax
/// (big endian and deflate included). A list too long for UI's 16-bit
/// length in an explicit syntax is cut at the last whole UID that fits.
pub(super) fn failed_uid_list(uids: &[String], transfer_syntax: &str) -> Vec<u8> {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_encoding::TransferSyntaxIndex;
    use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

    let explicit = transfer_syntax != uids::IMPLICIT_VR_LITTLE_ENDIAN;
    let mut kept: Vec<&str> = Vec::with_capacity(uids.len());
    let mut len = 0usize;
    for uid in uids {
        let more = uid.len() + usize::from(!kept.is_empty());
        if explicit && len + more > usize::from(u16::MAX) - 1 {
            break;
        }
        len += more;
        kept.push(uid);
    }
    let mut identifier = dicom_object::InMemDicomObject::new_empty();
    identifier.put(DataElement::new(
        dicom_dictionary_std::tags::FAILED_SOP_INSTANCE_UID_LIST,
        VR::UI,
        PrimitiveValue::Strs(kept.iter().map(|u| (*u).to_owned()).collect()),
    ));
    let syntax = TransferSyntaxRegistry
        .get(transfer_syntax)
        .or_else(|| TransferSyntaxRegistry.get(uids::EXPLICIT_VR_LITTLE_ENDIAN));
    let mut out = Vec::new();
    if let Some(ts) = syntax
        && identifier.write_dataset_with_ts(&mut out, ts).is_err()
    {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::CommandField;

    #[test]
    fn final_status_follows_the_sub_operations() {
        let mut counts = SubOperations::new(3);
        assert_eq!(counts.remaining(), 3);
        counts.completed = 3;
        assert_eq!(counts.final_status(false), Status::SUCCESS);
        assert_eq!(counts.final_status(true), Status::CANCEL);
        counts.completed = 2;
        counts.failed.push("1.2.3".into());
        assert_eq!(
            counts.final_status(false),
            Status::SUB_OPERATIONS_COMPLETE_WITH_FAILURES
        );
        let all_failed = SubOperations {
            failed: vec!["1".into(), "2".into()],
            ..SubOperations::new(2)
        };
        assert_eq!(
            all_failed.final_status(false),
            Status::UNABLE_TO_PERFORM_SUB_OPERATIONS
        );
        let mut response = Command::new(CommandField::CGetRsp);
        response.status = Some(Status::PENDING);
        counts.completed = 1;
        counts.write_to(&mut response, false);
        assert_eq!(response.remaining_sub_operations, Some(1));
        assert_eq!(response.completed_sub_operations, Some(1));
        assert_eq!(response.failed_sub_operations, Some(1));
    }

    #[test]
    fn failed_uid_lists_are_encoded_in_either_little_endian_syntax() {
        let uids = ["1.2.3".to_owned(), "1.2.45".to_owned()];
        let implicit = failed_uid_list(&uids, uids::IMPLICIT_VR_LITTLE_ENDIAN);
        assert_eq!(&implicit[..4], &[0x08, 0x00, 0x58, 0x00]);
        assert_eq!(u32::from_le_bytes(implicit[4..8].try_into().unwrap()), 12);
        assert_eq!(&implicit[8..], b"1.2.3\\1.2.45");
        let explicit = failed_uid_list(&uids, uids::EXPLICIT_VR_LITTLE_ENDIAN);
        assert_eq!(&explicit[4..6], b"UI");
        assert_eq!(u16::from_le_bytes([explicit[6], explicit[7]]), 12);
        let odd = failed_uid_list(&["1.2".to_owned()], uids::EXPLICIT_VR_LITTLE_ENDIAN);
        assert_eq!(&odd[8..], b"1.2\0", "UIDs are padded with NUL");
    }

    #[test]
    fn failed_uid_lists_are_encoded_in_big_endian_and_deflate_too() {
        use dicom_encoding::TransferSyntaxIndex;
        use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
        let uids = ["1.2.3".to_owned(), "1.2.45".to_owned()];
        let big = failed_uid_list(&uids, crate::server::negotiation::EXPLICIT_VR_BIG_ENDIAN);
        assert_eq!(&big[..6], &[0x00, 0x08, 0x00, 0x58, b'U', b'I']);
        assert_eq!(u16::from_be_bytes([big[6], big[7]]), 12);
        for ts in [
            crate::server::negotiation::EXPLICIT_VR_BIG_ENDIAN,
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        ] {
            let bytes = failed_uid_list(&uids, ts);
            let syntax = TransferSyntaxRegistry.get(ts).unwrap();
            let back = dicom_object::InMemDicomObject::read_dataset_with_ts(&bytes[..], syntax)
                .unwrap_or_else(|e| panic!("{ts}: {e}"));
            let list = back
                .element(dicom_dictionary_std::tags::FAILED_SOP_INSTANCE_UID_LIST)
                .unwrap()
                .to_multi_str()
                .unwrap()
                .to_vec();
            assert_eq!(list, ["1.2.3", "1.2.45"], "{ts}");
        }
        // Too many for one explicit UI value: whole UIDs, as many as fit.
        let many: Vec<String> = (0..10_000).map(|i| format!("1.2.840.{i}")).collect();
        let cut = failed_uid_list(&many, uids::EXPLICIT_VR_LITTLE_ENDIAN);
        let len = usize::from(u16::from_le_bytes([cut[6], cut[7]]));
        assert!(len < usize::from(u16::MAX) && len > 60_000, "{len}");
        let text = std::str::from_utf8(&cut[8..])
            .unwrap()
            .trim_end_matches('\0');
        assert!(
            text.split('\\').all(|u| u.starts_with("1.2.840.")),
            "whole UIDs"
        );
    }
}
