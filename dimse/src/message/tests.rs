use super::*;
use crate::command::CommandField;

fn store_rq() -> Command {
    let mut command = Command::new(CommandField::CStoreRq);
    command.affected_sop_class_uid = Some("1.2.840.10008.5.1.4.1.1.2".into());
    command.affected_sop_instance_uid = Some("1.2.3.4".into());
    command.message_id = Some(1);
    command
}

/// Serialises PDUs as on the wire and feeds their PDVs to `assembler`.
fn feed(assembler: &mut Assembler, pdus: &[Pdu]) -> Result<Vec<Message>, MessageError> {
    let mut out = Vec::new();
    for pdu in pdus {
        let mut wire = Vec::new();
        dicom_ul::write_pdu(&mut wire, pdu).expect("encodable PDU");
        for fragment in pdvs(&wire[6..]) {
            if let Some(message) = assembler.push(fragment?)? {
                out.push(message);
            }
        }
    }
    Ok(out)
}

#[test]
fn fragments_fit_the_peer_limit_and_reassemble() {
    let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let pdus = encode_message(3, &store_rq(), Some(&data), 16_384);
    assert!(pdus.len() > 6);
    for pdu in &pdus {
        let mut wire = Vec::new();
        dicom_ul::write_pdu(&mut wire, pdu).expect("encodable PDU");
        assert!(wire.len() - 6 <= 16_384);
    }
    let mut assembler = Assembler::new([1, 3], 1 << 20);
    let messages = feed(&mut assembler, &pdus).expect("valid stream");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].presentation_context_id, 3);
    assert_eq!(
        messages[0].command.affected_sop_instance_uid.as_deref(),
        Some("1.2.3.4")
    );
    assert!(messages[0].command.has_data_set());
    assert_eq!(messages[0].data_set.as_deref(), Some(&data[..]));
    assert!(assembler.is_idle());
}

#[test]
fn command_split_over_tiny_fragments() {
    let pdus = encode_message(1, &store_rq(), Some(b"ab"), 16);
    let mut assembler = Assembler::new([1], 1 << 20);
    let messages = feed(&mut assembler, &pdus).expect("valid stream");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].data_set.as_deref(), Some(&b"ab"[..]));
}

#[test]
fn message_without_data_set_completes_on_last_command_fragment() {
    let mut echo = Command::new(CommandField::CEchoRq);
    echo.message_id = Some(9);
    let mut assembler = Assembler::new([1], 1 << 20);
    let messages = feed(&mut assembler, &encode_message(1, &echo, None, 1 << 20)).expect("valid");
    assert_eq!(messages.len(), 1);
    assert!(messages[0].data_set.is_none());
}

#[test]
fn empty_data_set_is_sent_and_received() {
    let pdus = encode_message(1, &store_rq(), Some(&[]), 1 << 20);
    let mut assembler = Assembler::new([1], 1 << 20);
    let messages = feed(&mut assembler, &pdus).expect("valid stream");
    assert_eq!(messages[0].data_set.as_deref(), Some(&[][..]));
}

#[test]
fn unknown_context_is_a_protocol_error() {
    let pdus = encode_message(5, &store_rq(), Some(b"x"), 1 << 20);
    let mut assembler = Assembler::new([1, 3], 1 << 20);
    assert!(matches!(
        feed(&mut assembler, &pdus),
        Err(MessageError::UnknownContext { id: 5 })
    ));
}

#[test]
fn data_before_command_is_a_protocol_error() {
    let mut assembler = Assembler::new([1], 1 << 20);
    let fragment = Fragment {
        presentation_context_id: 1,
        is_command: false,
        is_last: true,
        data: b"xx",
    };
    assert!(matches!(
        assembler.push(fragment),
        Err(MessageError::DataBeforeCommand { id: 1 })
    ));
}

#[test]
fn oversized_data_set_is_dropped_as_it_arrives_and_the_next_message_assembles() {
    let data = vec![0u8; 10_000];
    let mut pdus = encode_message(1, &store_rq(), Some(&data), 4096);
    pdus.extend(encode_message(1, &store_rq(), Some(&data[..100]), 4096));
    let mut assembler = Assembler::new([1], 8_000);
    let messages = feed(&mut assembler, &pdus).expect("no protocol error");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].data_set, None);
    assert_eq!(
        messages[0].dropped,
        Some(Dropped {
            size: 10_000,
            reason: DropReason::TooLarge
        })
    );
    assert_eq!(messages[1].data_set.as_deref(), Some(&data[..100]));
    assert_eq!(messages[1].dropped, None);
    assert!(assembler.is_idle());
}

#[test]
fn data_sets_the_shared_budget_cannot_cover_are_dropped_until_it_is_given_back() {
    // Two associations sharing 3 MiB; each data set is 2 MiB.
    let budget = MemoryBudget::new(3 << 20);
    let data = vec![7u8; 2 << 20];
    let pdus = encode_message(1, &store_rq(), Some(&data), 64 * 1024);
    // The size limit is the largest data set: buffers grow no further.
    let limit = data.len() + 1024;
    let mut first = Assembler::new([1], limit).with_budget(budget.clone());
    let mut second = Assembler::new([1], limit).with_budget(budget.clone());
    // The first is all but in when the second arrives whole.
    let last = pdus.len() - 1;
    assert!(feed(&mut first, &pdus[..last]).expect("valid").is_empty());
    let refused = feed(&mut second, &pdus).expect("no protocol error");
    assert_eq!(refused.len(), 1);
    assert!(refused[0].data_set.is_none());
    assert_eq!(
        refused[0].dropped,
        Some(Dropped {
            size: data.len(),
            reason: DropReason::OutOfMemory
        })
    );
    assert!(second.is_idle(), "the refused one holds nothing");
    let done = feed(&mut first, &pdus[last..]).expect("valid");
    assert!(done[0].data_set.as_deref() == Some(&data[..]));
    let held = done[0].held.as_ref().expect("held while in memory");
    assert!(held.bytes() >= data.len() as u64);
    // Stored and let go: the budget is back, and the second gets through.
    drop(done);
    assert_eq!(budget.available(), budget.total());
    let again = feed(&mut second, &pdus).expect("valid");
    assert!(again[0].data_set.as_deref() == Some(&data[..]));
}

#[test]
fn oversized_command_is_refused() {
    let mut assembler = Assembler::new([1], usize::MAX);
    let chunk = vec![0u8; 16 * 1024];
    let mut result = Ok(None);
    for _ in 0..5 {
        result = assembler.push(Fragment {
            presentation_context_id: 1,
            is_command: true,
            is_last: false,
            data: &chunk,
        });
        if result.is_err() {
            break;
        }
    }
    assert!(matches!(result, Err(MessageError::CommandTooLarge { .. })));
}

#[test]
fn malformed_pdv_items_are_rejected() {
    // Item length 1 (< 2 for context id and control byte).
    let body = [0, 0, 0, 1, 1, 3];
    assert!(matches!(
        pdvs(&body).next(),
        Some(Err(MessageError::MalformedPdv { offset: 0 }))
    ));
    // Item length runs past the PDU.
    let body = [0xFF, 0xFF, 0xFF, 0xF0, 1, 3, 0];
    assert!(matches!(
        pdvs(&body).next(),
        Some(Err(MessageError::MalformedPdv { .. }))
    ));
    // Truncated header.
    assert!(matches!(
        pdvs(&[0, 0]).next(),
        Some(Err(MessageError::MalformedPdv { .. }))
    ));
}

#[test]
fn interleaved_contexts_are_kept_apart() {
    let first = encode_message(1, &store_rq(), Some(b"first"), 1 << 20);
    let second = encode_message(3, &store_rq(), Some(b"second!"), 1 << 20);
    // command 1, command 3, data 1, data 3
    let order = [&first[0], &second[0], &first[1], &second[1]].map(Clone::clone);
    let mut assembler = Assembler::new([1, 3], 1 << 20);
    let messages = feed(&mut assembler, &order).expect("valid stream");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].data_set.as_deref(), Some(&b"first"[..]));
    assert_eq!(messages[1].data_set.as_deref(), Some(&b"second!"[..]));
}
