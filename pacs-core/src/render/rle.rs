//! RLE Lossless (PS3.5 Annex G) decoding.
//!
//! Done here rather than through the registry's adapter, which panics on a
//! truncated segment: PackBits is small, and every length is checked.

use super::frame::Samples;
use super::header::ImageHeader;

/// Decodes one RLE frame into interleaved samples.
pub(crate) fn decode(header: &ImageHeader, data: &[u8]) -> Result<Samples, String> {
    let bytes_per_sample = usize::from(header.bits_allocated / 8);
    let spp = usize::from(header.samples_per_pixel);
    let pixels = header.pixel_count();
    let word = |i: usize| {
        data.get(i * 4..i * 4 + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = word(0)
        .filter(|_| data.len() >= 64)
        .ok_or("RLE header is truncated")?;
    let expected = spp * bytes_per_sample;
    if count != expected {
        return Err(format!(
            "RLE frame has {count} segments, {expected} expected for {spp} sample(s) of {} bits",
            header.bits_allocated
        ));
    }
    let mut offsets: Vec<usize> = (1..=count).map(|i| word(i).unwrap_or(0)).collect();
    offsets.push(data.len());

    // Segments: for each sample, its bytes from most to least significant.
    let mut segments = Vec::with_capacity(count);
    for i in 0..count {
        let (start, end) = (offsets[i], offsets[i + 1]);
        let segment = (start >= 64 && start <= end)
            .then(|| data.get(start..end))
            .flatten()
            .ok_or_else(|| format!("RLE segment {} offset {start} is out of range", i + 1))?;
        segments.push(unpack_bits(segment, pixels).map_err(|got| {
            format!(
                "RLE segment {} decodes to {got} bytes, {pixels} expected",
                i + 1
            )
        })?);
    }

    Ok(if bytes_per_sample == 1 {
        let mut out = vec![0u8; pixels * spp];
        for (s, segment) in segments.iter().enumerate() {
            for (p, &b) in segment.iter().enumerate() {
                out[p * spp + s] = b;
            }
        }
        Samples::U8(out)
    } else {
        let mut out = vec![0u16; pixels * spp];
        for s in 0..spp {
            let (high, low) = (&segments[2 * s], &segments[2 * s + 1]);
            for (p, (&h, &l)) in high.iter().zip(low).enumerate() {
                out[p * spp + s] = u16::from_be_bytes([h, l]);
            }
        }
        Samples::U16(out)
    })
}

/// PackBits: a header byte n; 0..=127 copies n + 1 literal bytes, −127..=−1
/// repeats the next byte 1 − n times, −128 does nothing. Output beyond
/// `expected` (some encoders overrun a row) is dropped; less is an error
/// carrying the length obtained.
fn unpack_bits(input: &[u8], expected: usize) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(expected);
    let mut pos = 0;
    while out.len() < expected && pos < input.len() {
        let n = input[pos] as i8;
        pos += 1;
        match n {
            0..=127 => {
                let run = usize::from(n as u8) + 1;
                let literal = input.get(pos..pos + run).ok_or(out.len())?;
                out.extend_from_slice(literal);
                pos += run;
            }
            -127..=-1 => {
                let byte = *input.get(pos).ok_or(out.len())?;
                out.resize(out.len() + (1 - isize::from(n)) as usize, byte);
                pos += 1;
            }
            -128 => {}
        }
    }
    if out.len() < expected {
        return Err(out.len());
    }
    out.truncate(expected);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_literals_runs_and_no_ops() {
        // 3 literals, a run of 4, a no-op, 1 literal.
        let input = [2, 1, 2, 3, 0xFD, 9, 0x80, 0, 7];
        assert_eq!(unpack_bits(&input, 8), Ok(vec![1, 2, 3, 9, 9, 9, 9, 7]));
        assert_eq!(unpack_bits(&input, 5), Ok(vec![1, 2, 3, 9, 9]));
        assert_eq!(unpack_bits(&input[..5], 8), Err(3));
    }

    #[test]
    fn truncated_rle_frames_are_errors() {
        let header = ImageHeader::monochrome("1.2.840.10008.1.2.5", 2, 2, 16, 16, false);
        let mut frame = vec![0u8; 64];
        frame[0] = 2;
        frame[4] = 64;
        frame[8] = 66;
        frame.extend_from_slice(&[0xFD, 0x12, 0xFD]);
        let err = decode(&header, &frame).expect_err("second segment is cut");
        assert!(err.contains("segment 2"), "{err}");
        frame.push(0x34);
        let samples = decode(&header, &frame).expect("whole");
        assert_eq!(samples, Samples::U16(vec![0x1234; 4]));
        assert!(decode(&header, &frame[..40]).is_err());
    }
}
