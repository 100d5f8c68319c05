//! Command sets (PS3.7 §9.3, §E).
//!
//! A command set is group 0000 encoded in implicit VR little endian,
//! whatever transfer syntax the presentation context carries for data sets.
//! [`Command`] holds the fields the composite services (C-ECHO, C-STORE,
//! C-FIND, C-MOVE, C-GET, C-CANCEL) use; [`Command::encode`] writes them in
//! ascending tag order behind a Command Group Length (0000,0000) that counts
//! every byte after it, and [`Command::decode`] reads them back, skipping
//! group 0000 elements it does not know.

use crate::status::Status;

/// Command Data Set Type value meaning "no data set follows".
pub const NO_DATA_SET: u16 = 0x0101;
/// Command Data Set Type value we send when a data set follows (any other
/// value than [`NO_DATA_SET`] means the same).
pub const DATA_SET_PRESENT: u16 = 0x0000;

/// Priority values of (0000,0700).
pub mod priority {
    pub const MEDIUM: u16 = 0x0000;
    pub const HIGH: u16 = 0x0001;
    pub const LOW: u16 = 0x0002;
}

/// Element numbers of group 0000 that [`Command`] understands.
mod tag {
    pub const GROUP_LENGTH: u16 = 0x0000;
    pub const AFFECTED_SOP_CLASS_UID: u16 = 0x0002;
    pub const REQUESTED_SOP_CLASS_UID: u16 = 0x0003;
    pub const COMMAND_FIELD: u16 = 0x0100;
    pub const MESSAGE_ID: u16 = 0x0110;
    pub const MESSAGE_ID_BEING_RESPONDED_TO: u16 = 0x0120;
    pub const MOVE_DESTINATION: u16 = 0x0600;
    pub const PRIORITY: u16 = 0x0700;
    pub const COMMAND_DATA_SET_TYPE: u16 = 0x0800;
    pub const STATUS: u16 = 0x0900;
    pub const ERROR_COMMENT: u16 = 0x0902;
    pub const AFFECTED_SOP_INSTANCE_UID: u16 = 0x1000;
    pub const REQUESTED_SOP_INSTANCE_UID: u16 = 0x1001;
    pub const REMAINING_SUB_OPERATIONS: u16 = 0x1020;
    pub const COMPLETED_SUB_OPERATIONS: u16 = 0x1021;
    pub const FAILED_SUB_OPERATIONS: u16 = 0x1022;
    pub const WARNING_SUB_OPERATIONS: u16 = 0x1023;
    pub const MOVE_ORIGINATOR_AE_TITLE: u16 = 0x1030;
    pub const MOVE_ORIGINATOR_MESSAGE_ID: u16 = 0x1031;
}

/// Value of Command Field (0000,0100) (PS3.7 §E.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandField {
    CStoreRq,
    CStoreRsp,
    CGetRq,
    CGetRsp,
    CFindRq,
    CFindRsp,
    CMoveRq,
    CMoveRsp,
    CEchoRq,
    CEchoRsp,
    CCancelRq,
    /// Any other code (the N- services, or garbage); kept so we can answer
    /// "unrecognized operation".
    Other(u16),
}

impl CommandField {
    pub fn code(self) -> u16 {
        match self {
            CommandField::CStoreRq => 0x0001,
            CommandField::CStoreRsp => 0x8001,
            CommandField::CGetRq => 0x0010,
            CommandField::CGetRsp => 0x8010,
            CommandField::CFindRq => 0x0020,
            CommandField::CFindRsp => 0x8020,
            CommandField::CMoveRq => 0x0021,
            CommandField::CMoveRsp => 0x8021,
            CommandField::CEchoRq => 0x0030,
            CommandField::CEchoRsp => 0x8030,
            CommandField::CCancelRq => 0x0FFF,
            CommandField::Other(code) => code,
        }
    }

    pub fn from_code(code: u16) -> Self {
        match code {
            0x0001 => CommandField::CStoreRq,
            0x8001 => CommandField::CStoreRsp,
            0x0010 => CommandField::CGetRq,
            0x8010 => CommandField::CGetRsp,
            0x0020 => CommandField::CFindRq,
            0x8020 => CommandField::CFindRsp,
            0x0021 => CommandField::CMoveRq,
            0x8021 => CommandField::CMoveRsp,
            0x0030 => CommandField::CEchoRq,
            0x8030 => CommandField::CEchoRsp,
            0x0FFF => CommandField::CCancelRq,
            other => CommandField::Other(other),
        }
    }

    /// Whether this is a request (responses have bit 15 set; C-CANCEL is a
    /// request that gets no response).
    pub fn is_request(self) -> bool {
        self.code() & 0x8000 == 0
    }

    /// The response code paired with a request code, if it has one.
    pub fn response(self) -> Option<CommandField> {
        match self {
            CommandField::CCancelRq => None,
            field if field.is_request() => Some(CommandField::from_code(field.code() | 0x8000)),
            _ => None,
        }
    }
}

/// Why a command set could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommandError {
    #[error("command set truncated at byte {offset}")]
    Truncated { offset: usize },
    #[error("element ({group:04X},{element:04X}) in a command set, which holds group 0000 only")]
    NotCommandGroup { group: u16, element: u16 },
    #[error("command element (0000,{element:04X}) has length {length}, expected {expected}")]
    BadLength {
        element: u16,
        length: u32,
        expected: u32,
    },
    #[error("command set has no Command Field (0000,0100)")]
    MissingCommandField,
}

/// A decoded command set. `None` means the element is absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub command_field: CommandField,
    pub affected_sop_class_uid: Option<String>,
    pub requested_sop_class_uid: Option<String>,
    pub message_id: Option<u16>,
    pub message_id_being_responded_to: Option<u16>,
    pub move_destination: Option<String>,
    pub priority: Option<u16>,
    /// [`NO_DATA_SET`] when no data set follows; anything else when one does.
    pub command_data_set_type: u16,
    pub status: Option<Status>,
    pub error_comment: Option<String>,
    pub affected_sop_instance_uid: Option<String>,
    pub requested_sop_instance_uid: Option<String>,
    pub remaining_sub_operations: Option<u16>,
    pub completed_sub_operations: Option<u16>,
    pub failed_sub_operations: Option<u16>,
    pub warning_sub_operations: Option<u16>,
    pub move_originator_ae_title: Option<String>,
    pub move_originator_message_id: Option<u16>,
}

impl Command {
    /// A command with only its Command Field set and no data set.
    pub fn new(command_field: CommandField) -> Self {
        Command {
            command_field,
            affected_sop_class_uid: None,
            requested_sop_class_uid: None,
            message_id: None,
            message_id_being_responded_to: None,
            move_destination: None,
            priority: None,
            command_data_set_type: NO_DATA_SET,
            status: None,
            error_comment: None,
            affected_sop_instance_uid: None,
            requested_sop_instance_uid: None,
            remaining_sub_operations: None,
            completed_sub_operations: None,
            failed_sub_operations: None,
            warning_sub_operations: None,
            move_originator_ae_title: None,
            move_originator_message_id: None,
        }
    }

    /// Whether a data set follows this command.
    pub fn has_data_set(&self) -> bool {
        self.command_data_set_type != NO_DATA_SET
    }

    /// The response to `request` with `status`, carrying over the fields
    /// every composite response repeats (affected SOP class and instance,
    /// message id being responded to). `None` for requests that get no
    /// response (C-CANCEL) and for responses.
    pub fn response_to(request: &Command, status: Status) -> Option<Command> {
        let field = request.command_field.response()?;
        let mut response = Command::new(field);
        response.affected_sop_class_uid = request
            .affected_sop_class_uid
            .clone()
            .or_else(|| request.requested_sop_class_uid.clone());
        response.affected_sop_instance_uid = request.affected_sop_instance_uid.clone();
        response.message_id_being_responded_to = request.message_id;
        response.status = Some(status);
        Some(response)
    }

    /// Encodes the command set in implicit VR little endian, Command Group
    /// Length first.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        // Placeholder for (0000,0000) UL, patched below.
        put_u32(&mut out, tag::GROUP_LENGTH, 0);
        let body_start = out.len();
        let text = |out: &mut Vec<u8>, element, value: &Option<String>, pad| {
            if let Some(value) = value {
                put_text(out, element, value, pad);
            }
        };
        let short = |out: &mut Vec<u8>, element, value: Option<u16>| {
            if let Some(value) = value {
                put_u16(out, element, value);
            }
        };
        text(
            &mut out,
            tag::AFFECTED_SOP_CLASS_UID,
            &self.affected_sop_class_uid,
            0,
        );
        text(
            &mut out,
            tag::REQUESTED_SOP_CLASS_UID,
            &self.requested_sop_class_uid,
            0,
        );
        put_u16(&mut out, tag::COMMAND_FIELD, self.command_field.code());
        short(&mut out, tag::MESSAGE_ID, self.message_id);
        short(
            &mut out,
            tag::MESSAGE_ID_BEING_RESPONDED_TO,
            self.message_id_being_responded_to,
        );
        text(
            &mut out,
            tag::MOVE_DESTINATION,
            &self.move_destination,
            b' ',
        );
        short(&mut out, tag::PRIORITY, self.priority);
        put_u16(
            &mut out,
            tag::COMMAND_DATA_SET_TYPE,
            self.command_data_set_type,
        );
        short(&mut out, tag::STATUS, self.status.map(|s| s.0));
        text(&mut out, tag::ERROR_COMMENT, &self.error_comment, b' ');
        text(
            &mut out,
            tag::AFFECTED_SOP_INSTANCE_UID,
            &self.affected_sop_instance_uid,
            0,
        );
        text(
            &mut out,
            tag::REQUESTED_SOP_INSTANCE_UID,
            &self.requested_sop_instance_uid,
            0,
        );
        short(
            &mut out,
            tag::REMAINING_SUB_OPERATIONS,
            self.remaining_sub_operations,
        );
        short(
            &mut out,
            tag::COMPLETED_SUB_OPERATIONS,
            self.completed_sub_operations,
        );
        short(
            &mut out,
            tag::FAILED_SUB_OPERATIONS,
            self.failed_sub_operations,
        );
        short(
            &mut out,
            tag::WARNING_SUB_OPERATIONS,
            self.warning_sub_operations,
        );
        text(
            &mut out,
            tag::MOVE_ORIGINATOR_AE_TITLE,
            &self.move_originator_ae_title,
            b' ',
        );
        short(
            &mut out,
            tag::MOVE_ORIGINATOR_MESSAGE_ID,
            self.move_originator_message_id,
        );
        let group_length = (out.len() - body_start) as u32;
        out[body_start - 4..body_start].copy_from_slice(&group_length.to_le_bytes());
        out
    }

    /// Decodes a command set. Text values lose their padding; unknown
    /// group 0000 elements are skipped; the group length is not trusted
    /// (element lengths drive the parse).
    pub fn decode(bytes: &[u8]) -> Result<Command, CommandError> {
        let mut command = Command::new(CommandField::Other(0));
        let mut saw_command_field = false;
        let mut offset = 0usize;
        while offset < bytes.len() {
            let header = bytes
                .get(offset..offset + 8)
                .ok_or(CommandError::Truncated { offset })?;
            let group = u16::from_le_bytes([header[0], header[1]]);
            let element = u16::from_le_bytes([header[2], header[3]]);
            let length = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            if group != 0x0000 {
                return Err(CommandError::NotCommandGroup { group, element });
            }
            let start = offset + 8;
            let value = usize::try_from(length)
                .ok()
                .and_then(|len| start.checked_add(len))
                .and_then(|end| bytes.get(start..end))
                .ok_or(CommandError::Truncated { offset: start })?;
            offset = start + value.len();

            let us = || -> Result<u16, CommandError> {
                match value {
                    [a, b] => Ok(u16::from_le_bytes([*a, *b])),
                    _ => Err(CommandError::BadLength {
                        element,
                        length,
                        expected: 2,
                    }),
                }
            };
            let text = || Some(decode_text(value));
            match element {
                tag::AFFECTED_SOP_CLASS_UID => command.affected_sop_class_uid = text(),
                tag::REQUESTED_SOP_CLASS_UID => command.requested_sop_class_uid = text(),
                tag::COMMAND_FIELD => {
                    command.command_field = CommandField::from_code(us()?);
                    saw_command_field = true;
                }
                tag::MESSAGE_ID => command.message_id = Some(us()?),
                tag::MESSAGE_ID_BEING_RESPONDED_TO => {
                    command.message_id_being_responded_to = Some(us()?)
                }
                tag::MOVE_DESTINATION => command.move_destination = text(),
                tag::PRIORITY => command.priority = Some(us()?),
                tag::COMMAND_DATA_SET_TYPE => command.command_data_set_type = us()?,
                tag::STATUS => command.status = Some(Status(us()?)),
                tag::ERROR_COMMENT => command.error_comment = text(),
                tag::AFFECTED_SOP_INSTANCE_UID => command.affected_sop_instance_uid = text(),
                tag::REQUESTED_SOP_INSTANCE_UID => command.requested_sop_instance_uid = text(),
                tag::REMAINING_SUB_OPERATIONS => command.remaining_sub_operations = Some(us()?),
                tag::COMPLETED_SUB_OPERATIONS => command.completed_sub_operations = Some(us()?),
                tag::FAILED_SUB_OPERATIONS => command.failed_sub_operations = Some(us()?),
                tag::WARNING_SUB_OPERATIONS => command.warning_sub_operations = Some(us()?),
                tag::MOVE_ORIGINATOR_AE_TITLE => command.move_originator_ae_title = text(),
                tag::MOVE_ORIGINATOR_MESSAGE_ID => command.move_originator_message_id = Some(us()?),
                _ => {}
            }
        }
        if !saw_command_field {
            return Err(CommandError::MissingCommandField);
        }
        Ok(command)
    }
}

fn put_header(out: &mut Vec<u8>, element: u16, length: u32) {
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&length.to_le_bytes());
}

fn put_u16(out: &mut Vec<u8>, element: u16, value: u16) {
    put_header(out, element, 2);
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, element: u16, value: u32) {
    put_header(out, element, 4);
    out.extend_from_slice(&value.to_le_bytes());
}

/// Writes a text value padded to even length (`0` for UI, space otherwise).
fn put_text(out: &mut Vec<u8>, element: u16, value: &str, pad: u8) {
    let bytes = value.as_bytes();
    let padded = bytes.len() + bytes.len() % 2;
    put_header(out, element, padded as u32);
    out.extend_from_slice(bytes);
    if padded != bytes.len() {
        out.push(pad);
    }
}

fn decode_text(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .trim_matches(|c: char| c == '\0' || c == ' ')
        .to_string()
}

#[cfg(test)]
mod tests;
