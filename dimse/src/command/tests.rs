use super::*;

/// A C-ECHO-RQ written out by hand from PS3.7 Annex E (implicit VR LE).
#[rustfmt::skip]
const ECHO_RQ: &[u8] = &[
    // (0000,0000) UL Command Group Length = 56
    0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 56, 0x00, 0x00, 0x00,
    // (0000,0002) UI Affected SOP Class UID "1.2.840.10008.1.1" + NUL pad
    0x00, 0x00, 0x02, 0x00, 18, 0x00, 0x00, 0x00,
    b'1', b'.', b'2', b'.', b'8', b'4', b'0', b'.', b'1', b'0', b'0', b'0', b'8',
    b'.', b'1', b'.', b'1', 0x00,
    // (0000,0100) US Command Field = C-ECHO-RQ
    0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x30, 0x00,
    // (0000,0110) US Message ID = 7
    0x00, 0x00, 0x10, 0x01, 0x02, 0x00, 0x00, 0x00, 0x07, 0x00,
    // (0000,0800) US Command Data Set Type = 0101 (none)
    0x00, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01,
];

#[test]
fn decodes_hand_written_echo_request() {
    let command = Command::decode(ECHO_RQ).expect("valid command set");
    assert_eq!(command.command_field, CommandField::CEchoRq);
    assert_eq!(
        command.affected_sop_class_uid.as_deref(),
        Some("1.2.840.10008.1.1")
    );
    assert_eq!(command.message_id, Some(7));
    assert!(!command.has_data_set());
}

#[test]
fn encodes_echo_request_byte_for_byte() {
    let mut command = Command::new(CommandField::CEchoRq);
    command.affected_sop_class_uid = Some("1.2.840.10008.1.1".into());
    command.message_id = Some(7);
    assert_eq!(command.encode(), ECHO_RQ);
}

#[test]
fn round_trips_every_field() {
    let command = Command {
        command_field: CommandField::CMoveRsp,
        affected_sop_class_uid: Some("1.2.840.10008.5.1.4.1.2.2.2".into()),
        requested_sop_class_uid: Some("1.2.840.10008.5.1.4.1.1.2".into()),
        message_id: Some(0xFFFF),
        message_id_being_responded_to: Some(3),
        move_destination: Some("DEST".into()),
        priority: Some(priority::HIGH),
        command_data_set_type: DATA_SET_PRESENT,
        status: Some(Status::PENDING),
        error_comment: Some("odd".into()),
        affected_sop_instance_uid: Some("1.2.3.4".into()),
        requested_sop_instance_uid: Some("1.2.3.45".into()),
        remaining_sub_operations: Some(5),
        completed_sub_operations: Some(6),
        failed_sub_operations: Some(7),
        warning_sub_operations: Some(8),
        move_originator_ae_title: Some("MOVER".into()),
        move_originator_message_id: Some(9),
    };
    let bytes = command.encode();
    assert_eq!(bytes.len() % 2, 0);
    let group_length = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    assert_eq!(group_length as usize, bytes.len() - 12);
    assert_eq!(Command::decode(&bytes), Ok(command));
}

#[test]
fn store_response_repeats_request_identity() {
    let mut request = Command::new(CommandField::CStoreRq);
    request.affected_sop_class_uid = Some("1.2.840.10008.5.1.4.1.1.2".into());
    request.affected_sop_instance_uid = Some("1.2.3".into());
    request.message_id = Some(42);
    request.command_data_set_type = DATA_SET_PRESENT;
    let response = Command::response_to(&request, Status::SUCCESS).expect("has a response");
    assert_eq!(response.command_field, CommandField::CStoreRsp);
    assert_eq!(response.message_id_being_responded_to, Some(42));
    assert_eq!(response.affected_sop_instance_uid.as_deref(), Some("1.2.3"));
    assert!(!response.has_data_set());
    assert!(
        Command::response_to(&Command::new(CommandField::CCancelRq), Status::SUCCESS).is_none()
    );
}

#[test]
fn rejects_truncated_and_foreign_elements() {
    assert!(matches!(
        Command::decode(&ECHO_RQ[..ECHO_RQ.len() - 1]),
        Err(CommandError::Truncated { .. })
    ));
    let mut huge_length = ECHO_RQ.to_vec();
    huge_length[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Command::decode(&huge_length),
        Err(CommandError::Truncated { .. })
    ));
    let mut foreign = ECHO_RQ.to_vec();
    foreign[12] = 0x08;
    assert!(matches!(
        Command::decode(&foreign),
        Err(CommandError::NotCommandGroup { .. })
    ));
    // Only the group length: no command field.
    assert_eq!(
        Command::decode(&ECHO_RQ[..12]),
        Err(CommandError::MissingCommandField)
    );
    let mut bad_us = ECHO_RQ.to_vec();
    bad_us[42] = 0x03; // length of (0000,0100) := 3
    assert!(Command::decode(&bad_us).is_err());
}
