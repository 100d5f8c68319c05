//! DIMSE messages over P-DATA-TF (PS3.7 §9.3.1, PS3.8 Annex E).
//!
//! Receiving: [`pdvs`] splits a P-DATA-TF body into presentation data value
//! fragments and [`Assembler`] joins fragments into complete [`Message`]s,
//! one in progress per presentation context. Invariants the assembler holds:
//! - a fragment is accepted only on a presentation context that was accepted
//!   at negotiation;
//! - command fragments come first; data set fragments are accepted only after
//!   the last command fragment of a command that announced a data set;
//! - all bytes held for unfinished messages never exceed the configured
//!   maximum message size, so a peer cannot make us allocate without bound;
//!   given a [`MemoryBudget`], a data set is also covered by it as it
//!   grows (the budget every association shares), and one the budget
//!   cannot cover is dropped like one over the size;
//! - a message leaves the assembler only when complete: nothing half received
//!   is ever handed on.
//!
//! The data set of a message is copied once, from the PDU into one growing
//! `BytesMut`, and handed out frozen as `Bytes`.
//!
//! Sending: [`encode_message`] fragments a command and its data set into
//! P-DATA-TF PDUs that fit the peer's maximum PDU length.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use dicom_ul::Pdu;
use dicom_ul::pdu::{PDataValue, PDataValueType};
use memory_budget::{Held, MemoryBudget};

use crate::command::{Command, CommandError, DATA_SET_PRESENT, NO_DATA_SET};

/// Largest command set we accept; real ones are a few hundred bytes.
pub const MAX_COMMAND_SIZE: usize = 64 * 1024;

/// Bytes of a PDV item header: item length (4), context id (1), control (1).
pub const PDV_HEADER_SIZE: usize = 6;

/// Largest PDU we build when sending, even when the peer accepts more: it
/// keeps the write buffer bounded and is far above what helps throughput.
pub const MAX_SEND_PDU_LENGTH: u32 = 4 * 1024 * 1024;

/// One presentation data value, borrowed from the PDU that carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub presentation_context_id: u8,
    /// Message control header bit 0: command (true) or data set (false).
    pub is_command: bool,
    /// Message control header bit 1: last fragment of the command or data set.
    pub is_last: bool,
    pub data: &'a [u8],
}

/// A complete DIMSE message.
#[derive(Debug)]
pub struct Message {
    pub presentation_context_id: u8,
    pub command: Command,
    /// The data set, exactly as received, when the command announced one.
    pub data_set: Option<Bytes>,
    /// Set instead of `data_set` when the data set could not be held: its
    /// bytes were dropped as they arrived.
    pub dropped: Option<Dropped>,
    /// The part of the memory budget the data set holds: keep it as long
    /// as the data set is in memory.
    pub held: Option<Held>,
}

/// A data set dropped as it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Bytes of it that came.
    pub size: usize,
    pub reason: DropReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Over the maximum message size.
    TooLarge,
    /// The memory budget, shared with every other upload, could not cover
    /// it: a transient refusal.
    OutOfMemory,
}

/// A protocol violation in P-DATA; the association must be aborted.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("malformed PDV item at byte {offset} of a P-DATA-TF PDU")]
    MalformedPdv { offset: usize },
    #[error("fragment on presentation context {id}, which was not accepted")]
    UnknownContext { id: u8 },
    #[error("data set fragment on presentation context {id} before its command")]
    DataBeforeCommand { id: u8 },
    #[error("command fragment on presentation context {id} while its data set was expected")]
    CommandDuringDataSet { id: u8 },
    #[error("command set of {size} bytes exceeds the limit of {MAX_COMMAND_SIZE}")]
    CommandTooLarge { size: usize },
    #[error("message of at least {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge { size: usize, limit: usize },
    #[error("undecodable command set on presentation context {id}: {source}")]
    BadCommand {
        id: u8,
        #[source]
        source: CommandError,
    },
}

/// Splits the body of a P-DATA-TF PDU (after the 6-byte PDU header) into
/// its PDV items.
pub fn pdvs(body: &[u8]) -> impl Iterator<Item = Result<Fragment<'_>, MessageError>> + '_ {
    let mut offset = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || offset >= body.len() {
            return None;
        }
        let item = parse_pdv(body, offset);
        match &item {
            Ok((_, next)) => offset = *next,
            Err(_) => failed = true,
        }
        Some(item.map(|(fragment, _)| fragment))
    })
}

fn parse_pdv(body: &[u8], offset: usize) -> Result<(Fragment<'_>, usize), MessageError> {
    let malformed = MessageError::MalformedPdv { offset };
    let header = body
        .get(offset..offset + PDV_HEADER_SIZE)
        .ok_or(MessageError::MalformedPdv { offset })?;
    let item_length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    // The item length counts the context id and control header bytes.
    if item_length < 2 {
        return Err(malformed);
    }
    let start = offset + PDV_HEADER_SIZE;
    let end = start
        .checked_add(item_length - 2)
        .filter(|end| *end <= body.len())
        .ok_or(malformed)?;
    let control = header[5];
    let fragment = Fragment {
        presentation_context_id: header[4],
        is_command: control & 0x01 != 0,
        is_last: control & 0x02 != 0,
        data: &body[start..end],
    };
    Ok((fragment, end))
}

enum Partial {
    /// Command fragments received so far.
    Command(BytesMut),
    /// The command is complete and announced a data set; fragments so far,
    /// and the part of the memory budget covering them.
    DataSet {
        command: Box<Command>,
        data: BytesMut,
        held: Option<Held>,
    },
    /// A data set that could not be held: counted, not held.
    Dropped {
        command: Box<Command>,
        size: usize,
        reason: DropReason,
    },
}

impl Partial {
    fn len(&self) -> usize {
        match self {
            Partial::Command(bytes) => bytes.len(),
            Partial::DataSet { data, .. } => data.len(),
            Partial::Dropped { .. } => 0,
        }
    }
}

/// Joins fragments into messages. See the module docs for its invariants.
pub struct Assembler {
    accepted: [bool; 256],
    max_message_size: usize,
    budget: Option<MemoryBudget>,
    partial: HashMap<u8, Partial>,
    /// Bytes held in `partial`, all contexts together.
    buffered: usize,
}

impl Assembler {
    /// `accepted_contexts`: ids of the presentation contexts accepted at
    /// negotiation. `max_message_size`: most bytes (command and data set)
    /// held for unfinished messages at once.
    pub fn new(accepted_contexts: impl IntoIterator<Item = u8>, max_message_size: usize) -> Self {
        let mut accepted = [false; 256];
        for id in accepted_contexts {
            accepted[usize::from(id)] = true;
        }
        Assembler {
            accepted,
            max_message_size,
            budget: None,
            partial: HashMap::new(),
            buffered: 0,
        }
    }

    /// Data sets are also covered by `budget` as they grow.
    pub fn with_budget(mut self, budget: MemoryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Whether no message is half received.
    pub fn is_idle(&self) -> bool {
        self.partial.is_empty()
    }

    /// Whether the data set arriving on context `id` is being dropped for
    /// its size.
    pub fn is_dropping(&self, id: u8) -> bool {
        matches!(self.partial.get(&id), Some(Partial::Dropped { .. }))
    }

    /// The command whose data set is now arriving on context `id`, if its
    /// command is complete and its data set is not.
    pub fn awaiting_data_set(&self, id: u8) -> Option<&Command> {
        match self.partial.get(&id) {
            Some(Partial::DataSet { command, .. }) => Some(command),
            _ => None,
        }
    }

    /// Takes one fragment; returns the message it completes, if any. On
    /// error the assembler's state is unspecified: abort the association.
    pub fn push(&mut self, fragment: Fragment<'_>) -> Result<Option<Message>, MessageError> {
        let id = fragment.presentation_context_id;
        if !self.accepted[usize::from(id)] {
            return Err(MessageError::UnknownContext { id });
        }
        let mut state = self.partial.remove(&id);
        if let Some(held) = &state {
            self.buffered -= held.len();
        }
        // A data set that outgrows the limit is dropped, not refused: its
        // peer learns why in the response once the last fragment is in,
        // and the association goes on. A command that does is an abort.
        let size = self.buffered + state.as_ref().map_or(0, Partial::len) + fragment.data.len();
        state = match state {
            Some(Partial::DataSet {
                command,
                data,
                mut held,
            }) if !fragment.is_command => {
                // What the buffer will occupy once it holds the fragment:
                // the budget covers memory, not bytes received.
                let capacity = grown_capacity(&data, &fragment, self.max_message_size);
                let reason = if size > self.max_message_size {
                    Some(DropReason::TooLarge)
                } else if held.as_mut().is_some_and(|h| !h.cover(capacity)) {
                    Some(DropReason::OutOfMemory)
                } else {
                    None
                };
                Some(match reason {
                    Some(reason) => Partial::Dropped {
                        command,
                        size: data.len(),
                        reason,
                    },
                    None => Partial::DataSet {
                        command,
                        data,
                        held,
                    },
                })
            }
            other => other,
        };
        if let Some(Partial::Dropped {
            command,
            size,
            reason,
        }) = state
        {
            if fragment.is_command {
                return Err(MessageError::CommandDuringDataSet { id });
            }
            let size = size + fragment.data.len();
            if fragment.is_last {
                return Ok(Some(Message {
                    presentation_context_id: id,
                    command: *command,
                    data_set: None,
                    dropped: Some(Dropped { size, reason }),
                    held: None,
                }));
            }
            self.partial.insert(
                id,
                Partial::Dropped {
                    command,
                    size,
                    reason,
                },
            );
            return Ok(None);
        }
        if size > self.max_message_size {
            return Err(MessageError::MessageTooLarge {
                size,
                limit: self.max_message_size,
            });
        }
        let partial = match (state.take(), fragment.is_command) {
            (None, true) => Partial::Command(BytesMut::from(fragment.data)),
            (Some(Partial::Command(mut bytes)), true) => {
                bytes.extend_from_slice(fragment.data);
                Partial::Command(bytes)
            }
            (None, false) | (Some(Partial::Command(_)), false) => {
                return Err(MessageError::DataBeforeCommand { id });
            }
            // (a dropped data set is taken care of above)
            (Some(Partial::DataSet { .. } | Partial::Dropped { .. }), true) => {
                return Err(MessageError::CommandDuringDataSet { id });
            }
            (Some(Partial::Dropped { .. }), false) => {
                return Err(MessageError::DataBeforeCommand { id });
            }
            (
                Some(Partial::DataSet {
                    command,
                    mut data,
                    held,
                }),
                false,
            ) => {
                let capacity = grown_capacity(&data, &fragment, self.max_message_size);
                if capacity > data.capacity() {
                    data.reserve(capacity - data.len());
                }
                data.extend_from_slice(fragment.data);
                Partial::DataSet {
                    command,
                    data,
                    held,
                }
            }
        };

        let partial = match partial {
            Partial::Command(bytes) if bytes.len() > MAX_COMMAND_SIZE => {
                return Err(MessageError::CommandTooLarge { size: bytes.len() });
            }
            Partial::Command(bytes) if fragment.is_last => {
                let command = Command::decode(&bytes)
                    .map_err(|source| MessageError::BadCommand { id, source })?;
                if !command.has_data_set() {
                    return Ok(Some(Message {
                        presentation_context_id: id,
                        command,
                        data_set: None,
                        dropped: None,
                        held: None,
                    }));
                }
                Partial::DataSet {
                    command: Box::new(command),
                    data: BytesMut::new(),
                    held: self.budget.as_ref().map(MemoryBudget::hold),
                }
            }
            Partial::DataSet {
                command,
                data,
                held,
            } if fragment.is_last => {
                return Ok(Some(Message {
                    presentation_context_id: id,
                    command: *command,
                    data_set: Some(data.freeze()),
                    dropped: None,
                    held,
                }));
            }
            unfinished => unfinished,
        };
        self.buffered += partial.len();
        self.partial.insert(id, partial);
        Ok(None)
    }
}

/// The capacity a data set buffer grows to for `fragment`. The first
/// fragment gets exactly its size when it is the only one, else room for
/// another like it; growth then doubles, so the handed-out buffer wastes
/// at most its own size. Never past `max` unless the bytes need it.
fn grown_capacity(data: &BytesMut, fragment: &Fragment<'_>, max: usize) -> usize {
    let need = data.len() + fragment.data.len();
    if need <= data.capacity() {
        return data.capacity();
    }
    let wanted = if data.is_empty() && fragment.is_last {
        need
    } else if data.is_empty() {
        need.saturating_mul(2)
    } else {
        data.capacity().saturating_mul(2)
    };
    wanted.min(max).max(need)
}

/// Fragments a message into P-DATA-TF PDUs of at most `peer_max_pdu_length`
/// bytes each (capped at [`MAX_SEND_PDU_LENGTH`]). The Command Data Set Type
/// is set from `data_set`, whatever `command` says.
pub fn encode_message(
    presentation_context_id: u8,
    command: &Command,
    data_set: Option<&[u8]>,
    peer_max_pdu_length: u32,
) -> Vec<Pdu> {
    let mut command = command.clone();
    command.command_data_set_type = match (data_set, command.command_data_set_type) {
        (None, _) => NO_DATA_SET,
        (Some(_), NO_DATA_SET) => DATA_SET_PRESENT,
        (Some(_), announced) => announced,
    };
    let pdu_length = peer_max_pdu_length.min(MAX_SEND_PDU_LENGTH) as usize;
    let chunk = pdu_length.saturating_sub(PDV_HEADER_SIZE).max(1);

    let mut pdus = Vec::new();
    let mut push = |bytes: &[u8], value_type: PDataValueType| {
        let mut chunks = bytes.chunks(chunk).peekable();
        if chunks.peek().is_none() {
            pdus.push(pdv_pdu(presentation_context_id, value_type, true, &[]));
            return;
        }
        while let Some(part) = chunks.next() {
            let is_last = chunks.peek().is_none();
            pdus.push(pdv_pdu(
                presentation_context_id,
                value_type.clone(),
                is_last,
                part,
            ));
        }
    };
    push(&command.encode(), PDataValueType::Command);
    if let Some(data_set) = data_set {
        push(data_set, PDataValueType::Data);
    }
    pdus
}

fn pdv_pdu(id: u8, value_type: PDataValueType, is_last: bool, data: &[u8]) -> Pdu {
    Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: id,
            value_type,
            is_last,
            data: data.to_vec(),
        }],
    }
}

#[cfg(test)]
mod tests;
