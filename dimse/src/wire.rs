//! PDU framing on the receive path.
//!
//! `dicom-ul` decodes every P-DATA-TF into owned `Vec`s per PDV; for data
//! sets of hundreds of megabytes that costs copies we do not need. Here a
//! PDU is cut out of the connection's read buffer without copying and
//! P-DATA-TF bodies are handed on as bytes for [`crate::message::pdvs`];
//! every other PDU type is small and decoded by `dicom-ul`.
//!
//! Invariant: the announced length of a PDU is checked against our maximum
//! before any buffer is grown for it, so a hostile length cannot make us
//! allocate.

use bytes::BytesMut;
use dicom_ul::Pdu;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes of the PDU header: type (1), reserved (1), length (4).
pub const PDU_HEADER_SIZE: usize = 6;

/// PDU type of P-DATA-TF.
pub const PDATA_TF: u8 = 0x04;

/// Spare room kept in the read buffer so small PDUs arrive in few reads.
const READ_CHUNK: usize = 64 * 1024;

/// One PDU read from the wire.
#[derive(Debug)]
pub enum RawPdu {
    /// The body of a P-DATA-TF (after the PDU header): PDV items.
    PData(BytesMut),
    /// Any other PDU, decoded.
    Other(Pdu),
}

/// Why no PDU could be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("peer closed the connection")]
    Closed,
    #[error("peer closed the connection in the middle of a PDU")]
    ClosedMidPdu,
    #[error("PDU of type {pdu_type:#04x} announces {length} bytes, more than our maximum of {max}")]
    TooLarge { pdu_type: u8, length: u32, max: u32 },
    #[error("undecodable PDU of type {pdu_type:#04x}: {source}")]
    Decode {
        pdu_type: u8,
        #[source]
        source: dicom_ul::pdu::ReadError,
    },
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one PDU whose body is at most `max_pdu_length` bytes. Bytes read
/// past the PDU stay in `buffer` for the next call.
pub async fn read_pdu<R>(
    reader: &mut R,
    buffer: &mut BytesMut,
    max_pdu_length: u32,
) -> Result<RawPdu, WireError>
where
    R: AsyncRead + Unpin,
{
    fill(reader, buffer, PDU_HEADER_SIZE).await?;
    let pdu_type = buffer[0];
    let length = u32::from_be_bytes([buffer[2], buffer[3], buffer[4], buffer[5]]);
    if length > max_pdu_length {
        return Err(WireError::TooLarge {
            pdu_type,
            length,
            max: max_pdu_length,
        });
    }
    let total = PDU_HEADER_SIZE + length as usize;
    fill(reader, buffer, total).await?;
    let mut pdu = buffer.split_to(total);
    if pdu_type == PDATA_TF {
        let _header = pdu.split_to(PDU_HEADER_SIZE);
        return Ok(RawPdu::PData(pdu));
    }
    match dicom_ul::read_pdu(&pdu[..], max_pdu_length.max(MIN_DECODE_LIMIT), true) {
        Ok(Some(decoded)) => Ok(RawPdu::Other(decoded)),
        // The whole PDU is in `pdu`, so "need more bytes" cannot happen;
        // treat it as the peer's framing being wrong.
        Ok(None) => Err(WireError::ClosedMidPdu),
        Err(source) => Err(WireError::Decode { pdu_type, source }),
    }
}

/// `dicom-ul` refuses maximum lengths below this when decoding.
const MIN_DECODE_LIMIT: u32 = dicom_ul::pdu::MINIMUM_PDU_SIZE;

/// Reads until `buffer` holds at least `needed` bytes.
async fn fill<R>(reader: &mut R, buffer: &mut BytesMut, needed: usize) -> Result<(), WireError>
where
    R: AsyncRead + Unpin,
{
    while buffer.len() < needed {
        let spare = buffer.capacity() - buffer.len();
        let missing = needed - buffer.len();
        if spare < missing.max(READ_CHUNK) {
            buffer.reserve(missing.max(READ_CHUNK));
        }
        if reader.read_buf(buffer).await? == 0 {
            return Err(if buffer.is_empty() {
                WireError::Closed
            } else {
                WireError::ClosedMidPdu
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn absurd_length_is_refused_before_reading_the_body() {
        let mut wire: &[u8] = &[0x04, 0x00, 0xFF, 0xFF, 0xFF, 0xF0, 1, 2, 3];
        let mut buffer = BytesMut::new();
        let error = read_pdu(&mut wire, &mut buffer, 1 << 20).await;
        assert!(matches!(
            error,
            Err(WireError::TooLarge {
                length: 0xFFFF_FFF0,
                ..
            })
        ));
        assert!(buffer.capacity() < 1 << 20);
    }

    #[tokio::test]
    async fn reads_consecutive_pdus_from_one_buffer() {
        let mut bytes = Vec::new();
        dicom_ul::write_pdu(&mut bytes, &Pdu::ReleaseRQ).expect("encodable");
        bytes.extend_from_slice(&[0x04, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
        dicom_ul::write_pdu(&mut bytes, &Pdu::ReleaseRP).expect("encodable");
        let mut wire = &bytes[..];
        let mut buffer = BytesMut::new();
        assert!(matches!(
            read_pdu(&mut wire, &mut buffer, 16_384).await,
            Ok(RawPdu::Other(Pdu::ReleaseRQ))
        ));
        match read_pdu(&mut wire, &mut buffer, 16_384).await {
            Ok(RawPdu::PData(body)) => assert_eq!(&body[..], &[0, 0, 0, 0]),
            other => panic!("expected P-DATA, got {other:?}"),
        }
        assert!(matches!(
            read_pdu(&mut wire, &mut buffer, 16_384).await,
            Ok(RawPdu::Other(Pdu::ReleaseRP))
        ));
        assert!(matches!(
            read_pdu(&mut wire, &mut buffer, 16_384).await,
            Err(WireError::Closed)
        ));
    }

    #[tokio::test]
    async fn truncated_pdu_is_reported() {
        let mut wire: &[u8] = &[0x04, 0x00, 0, 0, 0, 10, 1, 2];
        let mut buffer = BytesMut::new();
        assert!(matches!(
            read_pdu(&mut wire, &mut buffer, 16_384).await,
            Err(WireError::ClosedMidPdu)
        ));
    }
}
