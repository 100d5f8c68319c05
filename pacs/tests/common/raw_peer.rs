//! A peer that speaks the DICOM upper layer (PS3.8) by hand over a plain
//! TCP socket, for what no well-behaved tool does: stay silent, announce
//! absurd PDU lengths, or vanish in the middle of a data set.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use dimse::command::{Command, CommandField, DATA_SET_PRESENT};

use crate::common::Server;

pub const VERIFICATION: &str = "1.2.840.10008.1.1";
pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
pub const STUDY_ROOT_FIND: &str = "1.2.840.10008.5.1.4.1.2.2.1";

/// Presentation context ids we propose.
pub const PC_VERIFICATION: u8 = 1;
pub const PC_CT: u8 = 3;
pub const PC_FIND: u8 = 5;

/// PDU types.
pub const ASSOCIATE_AC: u8 = 0x02;
pub const ASSOCIATE_RJ: u8 = 0x03;
pub const P_DATA_TF: u8 = 0x04;
pub const RELEASE_RP: u8 = 0x06;
pub const ABORT: u8 = 0x07;

/// What the server did when we waited for it.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// A PDU: its type and body.
    Pdu(u8, Vec<u8>),
    /// The server closed the connection.
    Closed,
    /// Nothing arrived in time.
    Silent,
}

pub struct RawPeer {
    pub stream: TcpStream,
}

impl RawPeer {
    /// A plain TCP connection to the server's DICOM port.
    pub fn connect(server: &Server) -> RawPeer {
        let stream = TcpStream::connect(server.dicom).expect("connect to the DICOM port");
        stream.set_nodelay(true).expect("nodelay");
        RawPeer { stream }
    }

    /// Connects and associates for Verification and CT Image Storage
    /// (explicit VR little endian); panics unless accepted.
    pub fn associate(server: &Server, calling: &str) -> RawPeer {
        let mut peer = RawPeer::connect(server);
        peer.send(&associate_rq(calling, crate::common::AE_TITLE));
        match peer.receive(Duration::from_secs(30)) {
            Answer::Pdu(ASSOCIATE_AC, body) => {
                assert_eq!(
                    accepted_context(&body, PC_CT),
                    Some(EXPLICIT_VR_LE.to_owned()),
                    "CT storage accepted in explicit VR LE"
                );
            }
            other => panic!("association not accepted: {other:?}"),
        }
        peer
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send to the server");
    }

    /// Sends one P-DATA-TF holding one PDV.
    pub fn send_pdv(&mut self, pc: u8, command: bool, last: bool, data: &[u8]) {
        self.send(&p_data(pc, command, last, data));
    }

    /// Sends a C-STORE command for `sop_instance_uid` (CT, explicit VR LE
    /// context).
    pub fn send_store_command(&mut self, sop_instance_uid: &str) {
        let mut command = Command::new(CommandField::CStoreRq);
        command.affected_sop_class_uid = Some(CT_IMAGE_STORAGE.into());
        command.affected_sop_instance_uid = Some(sop_instance_uid.into());
        command.message_id = Some(1);
        command.priority = Some(0);
        command.command_data_set_type = DATA_SET_PRESENT;
        self.send_pdv(PC_CT, true, true, &command.encode());
    }

    /// Reads the next PDU, waiting at most `limit`.
    pub fn receive(&mut self, limit: Duration) -> Answer {
        let deadline = Instant::now() + limit;
        let mut header = [0u8; 6];
        match self.read_exact_by(&mut header, deadline) {
            Ok(true) => {}
            Ok(false) => return Answer::Closed,
            Err(()) => return Answer::Silent,
        }
        let length = u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize;
        assert!(length < 1 << 24, "the server announced a {length}-byte PDU");
        let mut body = vec![0u8; length];
        match self.read_exact_by(&mut body, deadline) {
            Ok(true) => Answer::Pdu(header[0], body),
            Ok(false) => Answer::Closed,
            Err(()) => Answer::Silent,
        }
    }

    /// Fills `buf`; `Ok(false)` when the connection closed (or was reset),
    /// `Err` when the deadline passed.
    fn read_exact_by(&mut self, buf: &mut [u8], deadline: Instant) -> Result<bool, ()> {
        let mut filled = 0;
        while filled < buf.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(());
            }
            self.stream
                .set_read_timeout(Some(left))
                .expect("read timeout");
            match self.stream.read(&mut buf[filled..]) {
                Ok(0) => return Ok(false),
                Ok(n) => filled += n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Ok(false), // reset by the server
            }
        }
        Ok(true)
    }

    /// Waits until the server ends the connection: an A-ABORT and/or the
    /// connection closing. Returns how long it took; fails the test if the
    /// server sends anything else or keeps the connection beyond `limit`.
    pub fn expect_end_within(&mut self, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let left = limit.saturating_sub(started.elapsed());
            match self.receive(left) {
                Answer::Pdu(ABORT, _) => continue,
                Answer::Closed => return started.elapsed(),
                Answer::Silent => panic!("the server kept the connection open for {limit:?}"),
                Answer::Pdu(t, body) => {
                    panic!("unexpected PDU type {t:#04x} ({} bytes)", body.len())
                }
            }
        }
    }

    /// Closes the connection without releasing or aborting, as a peer
    /// that crashed would.
    pub fn vanish(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

fn item(item_type: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![item_type, 0];
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    out
}

fn ae_field(title: &str) -> [u8; 16] {
    let mut field = [b' '; 16];
    field[..title.len()].copy_from_slice(title.as_bytes());
    field
}

/// An A-ASSOCIATE-RQ proposing Verification (context 1), CT Image
/// Storage (context 3) and Study Root C-FIND (context 5), in explicit VR
/// little endian.
pub fn associate_rq(calling: &str, called: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&1u16.to_be_bytes()); // protocol version
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&ae_field(called));
    body.extend_from_slice(&ae_field(calling));
    body.extend_from_slice(&[0; 32]);
    body.extend(item(0x10, b"1.2.840.10008.3.1.1.1"));
    for (id, abstract_syntax) in [
        (PC_VERIFICATION, VERIFICATION),
        (PC_CT, CT_IMAGE_STORAGE),
        (PC_FIND, STUDY_ROOT_FIND),
    ] {
        let mut pc = vec![id, 0, 0, 0];
        pc.extend(item(0x30, abstract_syntax.as_bytes()));
        pc.extend(item(0x40, EXPLICIT_VR_LE.as_bytes()));
        body.extend(item(0x20, &pc));
    }
    let mut user = item(0x51, &16_384u32.to_be_bytes());
    user.extend(item(0x52, b"1.2.826.0.1.3680043.10.1453.99"));
    user.extend(item(0x55, b"RAW_PEER"));
    body.extend(item(0x50, &user));
    pdu(0x01, &body)
}

/// A PDU: type, reserved byte, 32-bit big endian length, body.
pub fn pdu(pdu_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![pdu_type, 0];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A P-DATA-TF with one presentation data value.
pub fn p_data(pc: u8, command: bool, last: bool, data: &[u8]) -> Vec<u8> {
    let header = u8::from(command) | (u8::from(last) << 1);
    let mut pdv = Vec::with_capacity(data.len() + 6);
    pdv.extend_from_slice(&((data.len() + 2) as u32).to_be_bytes());
    pdv.push(pc);
    pdv.push(header);
    pdv.extend_from_slice(data);
    pdu(P_DATA_TF, &pdv)
}

/// The transfer syntax accepted for context `id` in an A-ASSOCIATE-AC
/// body, or `None` when that context was refused or is absent.
pub fn accepted_context(ac_body: &[u8], id: u8) -> Option<String> {
    let mut pos = 68; // fixed fields
    while pos + 4 <= ac_body.len() {
        let item_type = ac_body[pos];
        let length = u16::from_be_bytes([ac_body[pos + 2], ac_body[pos + 3]]) as usize;
        let value = ac_body.get(pos + 4..pos + 4 + length)?;
        if item_type == 0x21 && value[0] == id {
            if value[2] != 0 {
                return None;
            }
            let sub = &value[4..];
            let ts_length = u16::from_be_bytes([sub[2], sub[3]]) as usize;
            let ts = String::from_utf8_lossy(&sub[4..4 + ts_length]);
            return Some(ts.trim_end_matches(['\0', ' ']).to_owned());
        }
        pos += 4 + length;
    }
    None
}
