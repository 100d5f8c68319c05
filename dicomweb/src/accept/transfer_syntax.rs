//! WADO-RS transfer syntax negotiation (PS3.18 §8.7.3) and the PS3.18
//! Table 8.7.3-5 mapping between bulk data media types and transfer syntax
//! UIDs.

use super::{MediaRange, MediaType, best_offer, match_specificity};

/// Explicit VR Little Endian: the PS3.18 default for `application/dicom`
/// and for uncompressed `application/octet-stream` bulk data.
pub const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";

const OCTET_STREAM: &str = "application/octet-stream";

/// PS3.18 Table 8.7.3-5 (compressed) and Table 8.7.3-4 (uncompressed):
/// media type, transfer syntax UID, and whether it is the media type's
/// default when a request names no `transfer-syntax`.
const BULKDATA_TABLE: &[(&str, &str, bool)] = &[
    (OCTET_STREAM, EXPLICIT_VR_LITTLE_ENDIAN, true),
    ("image/jpeg", "1.2.840.10008.1.2.4.70", true),
    ("image/jpeg", "1.2.840.10008.1.2.4.50", false),
    ("image/jpeg", "1.2.840.10008.1.2.4.51", false),
    ("image/jpeg", "1.2.840.10008.1.2.4.57", false),
    ("image/jls", "1.2.840.10008.1.2.4.80", true),
    ("image/jls", "1.2.840.10008.1.2.4.81", false),
    ("image/jp2", "1.2.840.10008.1.2.4.90", true),
    ("image/jp2", "1.2.840.10008.1.2.4.91", false),
    ("image/jpx", "1.2.840.10008.1.2.4.92", true),
    ("image/jpx", "1.2.840.10008.1.2.4.93", false),
    ("image/jphc", "1.2.840.10008.1.2.4.201", true),
    ("image/jphc", "1.2.840.10008.1.2.4.202", false),
    ("image/jphc", "1.2.840.10008.1.2.4.203", false),
    ("image/dicom-rle", "1.2.840.10008.1.2.5", true),
];

/// Native (uncompressed) transfer syntaxes: their frames are plain pixels,
/// sent as `application/octet-stream`.
const NATIVE: &[&str] = &[
    "1.2.840.10008.1.2",
    EXPLICIT_VR_LITTLE_ENDIAN,
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.2",
];

/// The bulk data media type for frames stored in transfer syntax `uid`:
/// `image/jpeg` for JPEG, `application/octet-stream` for native syntaxes,
/// `None` for syntaxes PS3.18 gives no frame media type (video, ...).
/// Trailing NUL or space padding from a DICOM UI value is ignored.
pub fn media_type_for_transfer_syntax(uid: &str) -> Option<&'static str> {
    let uid = clean_uid(uid);
    if NATIVE.contains(&uid) {
        return Some(OCTET_STREAM);
    }
    BULKDATA_TABLE
        .iter()
        .find(|(_, u, _)| *u == uid)
        .map(|(media, _, _)| *media)
}

/// The transfer syntaxes that media type `media_type` (`image/jls`, no
/// parameters, any case) can carry, the default first; empty when unknown.
pub fn transfer_syntaxes_for_media_type(media_type: &str) -> Vec<&'static str> {
    let mut rows: Vec<_> = BULKDATA_TABLE
        .iter()
        .filter(|(media, _, _)| media.eq_ignore_ascii_case(media_type.trim()))
        .collect();
    rows.sort_by_key(|(_, _, default)| !default);
    rows.into_iter().map(|(_, uid, _)| *uid).collect()
}

/// The transfer syntax meant when a request names media type `media_type`
/// without a `transfer-syntax` parameter.
pub fn default_transfer_syntax(media_type: &str) -> Option<&'static str> {
    transfer_syntaxes_for_media_type(media_type)
        .first()
        .copied()
}

fn clean_uid(uid: &str) -> &str {
    uid.trim_end_matches(['\0', ' ']).trim_start()
}

/// The requested media types cannot be produced for this resource: answer
/// 406 with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NotAcceptable {
    /// What was requested and what is available, for the response body.
    pub message: String,
}

/// How to send an instance in a WADO-RS retrieve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceTransferSyntax {
    /// The stored bytes as they are, in the stored transfer syntax.
    AsStored,
    /// Transcoded to Explicit VR Little Endian, the PS3.18 default.
    ExplicitVrLittleEndian,
}

impl InstanceTransferSyntax {
    /// The transfer syntax UID that will be sent, given the stored one.
    pub fn uid<'a>(&self, stored: &'a str) -> &'a str {
        match self {
            Self::AsStored => clean_uid(stored),
            Self::ExplicitVrLittleEndian => EXPLICIT_VR_LITTLE_ENDIAN,
        }
    }
}

/// Decides how to send an instance stored in `stored_ts` as
/// `multipart/related; type="application/dicom"`.
///
/// A range without `transfer-syntax` asks for the PS3.18 default (Explicit
/// VR Little Endian); `transfer-syntax=*` accepts the stored syntax; a
/// named syntax is met only if it is the stored one or the default. Ties
/// favour sending the stored bytes (no transcoding). Ranges for other media
/// types (`application/dicom+json`, ...) are not considered.
pub fn negotiate_instance(
    ranges: &[MediaRange],
    stored_ts: &str,
) -> Result<InstanceTransferSyntax, NotAcceptable> {
    negotiate_packaged(ranges, stored_ts, &[Packaging::Multipart]).map(|(syntax, _)| syntax)
}

/// How a retrieved instance is packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packaging {
    /// A part of a `multipart/related; type="application/dicom"` body.
    Multipart,
    /// The whole body of an `application/dicom` response, for a request
    /// that names one instance and asks for it by name: simple clients
    /// (curl, scripts saving a file) do, and PS3.18's wording allowed it
    /// for a while. Never the default.
    SinglePart,
}

/// [`negotiate_instance`] for a request that names one instance, which may
/// also be sent as a single-part `application/dicom` body. A range that
/// matches both forms equally (`*/*`) gets the multipart one, the default.
pub fn negotiate_one_instance(
    ranges: &[MediaRange],
    stored_ts: &str,
) -> Result<(InstanceTransferSyntax, Packaging), NotAcceptable> {
    negotiate_packaged(
        ranges,
        stored_ts,
        &[Packaging::Multipart, Packaging::SinglePart],
    )
}

fn negotiate_packaged(
    ranges: &[MediaRange],
    stored_ts: &str,
    packagings: &[Packaging],
) -> Result<(InstanceTransferSyntax, Packaging), NotAcceptable> {
    let stored = clean_uid(stored_ts);
    let mut syntaxes = vec![(stored, InstanceTransferSyntax::AsStored)];
    if stored != EXPLICIT_VR_LITTLE_ENDIAN {
        syntaxes.push((
            EXPLICIT_VR_LITTLE_ENDIAN,
            InstanceTransferSyntax::ExplicitVrLittleEndian,
        ));
    }
    let offers: Vec<_> = packagings
        .iter()
        .flat_map(|&packaging| {
            syntaxes.iter().map(move |&(uid, syntax)| {
                let offer = match packaging {
                    Packaging::Multipart => Offer::new("application/dicom", uid),
                    Packaging::SinglePart => Offer::single("application/dicom", uid),
                };
                (offer, (syntax, packaging))
            })
        })
        .collect();
    best_offer(ranges, &offers, |range, (offer, _)| {
        offer.score(range, EXPLICIT_VR_LITTLE_ENDIAN)
    })
    .map(|at| offers[at].1)
    .ok_or_else(|| not_acceptable(ranges, offers.iter().map(|(o, _)| o)))
}

/// Whether an acceptable range names transfer syntax `uid` itself. A
/// client that asked for Explicit VR Little Endian by name takes nothing
/// else; one that took it as the default may be sent an instance the
/// archive cannot convert as it was stored (PS3.18 §8.7.3.4 allows this
/// for lossy pixel data; for the rest it beats a response cut short).
pub fn names_transfer_syntax(ranges: &[MediaRange], uid: &str) -> bool {
    ranges.iter().any(|r| {
        r.q() > 0.0
            && r.media_type()
                .param("transfer-syntax")
                .is_some_and(|ts| clean_uid(ts) == uid)
    })
}

/// How to send the frames of an instance stored in a given transfer syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameRendition {
    /// Decoded to native little-endian pixels, each part
    /// `application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1`.
    Uncompressed,
    /// The stored bitstream as it is, each part labelled
    /// `media_type; transfer-syntax=transfer_syntax`.
    Stored {
        /// `image/jpeg`, `image/jls`, ... or `application/octet-stream`
        /// when the client asked for octet streams in any syntax.
        media_type: &'static str,
        /// The stored transfer syntax UID.
        transfer_syntax: String,
    },
}

impl FrameRendition {
    /// The `Content-Type` of each frame part.
    pub fn part_content_type(&self) -> String {
        match self {
            Self::Uncompressed => {
                format!("{OCTET_STREAM}; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}")
            }
            Self::Stored {
                media_type,
                transfer_syntax,
            } => format!("{media_type}; transfer-syntax={transfer_syntax}"),
        }
    }

    /// The `type` parameter of the multipart response.
    pub fn media_type(&self) -> &'static str {
        match self {
            Self::Uncompressed => OCTET_STREAM,
            Self::Stored { media_type, .. } => media_type,
        }
    }
}

/// Decides how to send frames stored in `stored_ts` in a
/// `multipart/related` response.
///
/// The candidates are the stored bitstream under its PS3.18 media type
/// (`image/jpeg` for 1.2.840.10008.1.2.4.50, ...), the stored bitstream as
/// `application/octet-stream` (only for an explicit `transfer-syntax=*` or
/// the stored UID, as OHIF asks), and uncompressed little-endian pixels. A
/// range without `transfer-syntax` means the default syntax of its media
/// type (PS3.18 Table 8.7.3-5: `image/jpeg` alone means JPEG lossless
/// 1.2.840.10008.1.2.4.70). Ties favour the stored bitstream, except for
/// a client that names no type at all (no Accept, `*/*`,
/// `multipart/related` without one): it gets the default, uncompressed
/// pixels in explicit VR little endian (PS3.18 §8.7.3), as from any
/// other archive.
pub fn negotiate_frames(
    ranges: &[MediaRange],
    stored_ts: &str,
) -> Result<FrameRendition, NotAcceptable> {
    let names_a_type = ranges.iter().filter(|r| r.q() > 0.0).any(|r| {
        let m = r.media_type();
        let wildcard = m.main_type() == "*" || m.subtype() == "*";
        let untyped_multipart =
            m.is("multipart", "related") && m.param("type").is_none_or(|t| t.trim() == "*/*");
        !(wildcard || untyped_multipart) || m.param("transfer-syntax").is_some()
    });
    if !names_a_type && ranges.iter().any(|r| r.q() > 0.0) {
        return Ok(FrameRendition::Uncompressed);
    }
    let stored = clean_uid(stored_ts);
    let mut offers = Vec::new();
    if !NATIVE.contains(&stored) {
        let stored_as = |media_type| FrameRendition::Stored {
            media_type,
            transfer_syntax: stored.to_owned(),
        };
        if let Some(media) = media_type_for_transfer_syntax(stored) {
            offers.push((Offer::new(media, stored), stored_as(media)));
        }
        offers.push((Offer::new(OCTET_STREAM, stored), stored_as(OCTET_STREAM)));
    }
    offers.push((
        Offer::new(OCTET_STREAM, EXPLICIT_VR_LITTLE_ENDIAN),
        FrameRendition::Uncompressed,
    ));
    let at = best_offer(ranges, &offers, |range, (offer, _)| {
        let default = default_transfer_syntax(offer.part_type)?;
        offer.score(range, default)
    });
    match at {
        Some(at) => Ok(offers.swap_remove(at).1),
        None => Err(not_acceptable(ranges, offers.iter().map(|(o, _)| o))),
    }
}

/// A `multipart/related` response the server can produce: parts of
/// `part_type` in transfer syntax `uid`.
struct Offer<'a> {
    part_type: &'static str,
    uid: &'a str,
    media_type: MediaType,
}

impl<'a> Offer<'a> {
    fn new(part_type: &'static str, uid: &'a str) -> Self {
        Self {
            part_type,
            uid,
            media_type: MediaType::new("multipart", "related")
                .with_param("type", part_type)
                .with_param("transfer-syntax", uid),
        }
    }

    /// A single-part response of media type `part_type` (`type/subtype`)
    /// in transfer syntax `uid`.
    fn single(part_type: &'static str, uid: &'a str) -> Self {
        let (kind, subtype) = part_type.split_once('/').unwrap_or((part_type, "*"));
        Self {
            part_type,
            uid,
            media_type: MediaType::new(kind, subtype).with_param("transfer-syntax", uid),
        }
    }

    /// The range's specificity for this offer, judging `transfer-syntax`
    /// the PS3.18 way: absent means `default_uid`, `*` means any.
    fn score(&self, range: &MediaRange, default_uid: &str) -> Option<u32> {
        let spec = match_specificity(
            range.media_type(),
            &self.media_type,
            Some("transfer-syntax"),
        )?;
        match range.media_type().param("transfer-syntax").map(clean_uid) {
            None => (self.uid == default_uid).then_some(spec),
            Some("*") => Some(spec + 1),
            Some(uid) => (uid == self.uid).then_some(spec + 10),
        }
    }
}

fn not_acceptable<'a, 'b: 'a>(
    ranges: &[MediaRange],
    offers: impl Iterator<Item = &'a Offer<'b>>,
) -> NotAcceptable {
    let requested: Vec<String> = ranges
        .iter()
        .map(|r| match r.q {
            1000 => r.media_type().to_string(),
            q => format!("{}; q={}", r.media_type(), f32::from(q) / 1000.0),
        })
        .collect();
    let available: Vec<String> = offers.map(|o| o.media_type.to_string()).collect();
    let requested = if requested.is_empty() {
        "no valid media type".to_owned()
    } else {
        requested.join(", ")
    };
    NotAcceptable {
        message: format!(
            "cannot produce any of the requested media types ({requested}); available: {}",
            available.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests;
