//! What to ask WADO-RS for, frame by frame: the stored transfer syntax
//! when the browser can decode it (less data over a slow link), otherwise
//! uncompressed little endian, which the archive always offers.

use crate::url::encode_component;

/// Explicit VR Little Endian: the uncompressed syntax every frame can be
/// had in.
pub const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";

/// The transfer syntaxes whose frames are native (uncompressed) samples.
/// Their frames come back as little-endian bytes whatever the stored byte
/// order, so they are always requested as Explicit VR Little Endian.
const NATIVE: [&str; 4] = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.2",
];

/// The media type of a compressed frame in a given transfer syntax
/// (PS3.18 Table 8.7.3-2), or `None` for syntaxes with no single-frame
/// media type.
pub fn media_type(transfer_syntax: &str) -> Option<&'static str> {
    Some(match transfer_syntax {
        "1.2.840.10008.1.2.4.50"
        | "1.2.840.10008.1.2.4.51"
        | "1.2.840.10008.1.2.4.57"
        | "1.2.840.10008.1.2.4.70" => "image/jpeg",
        "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => "image/jls",
        "1.2.840.10008.1.2.4.90" | "1.2.840.10008.1.2.4.91" => "image/jp2",
        "1.2.840.10008.1.2.4.201" | "1.2.840.10008.1.2.4.202" | "1.2.840.10008.1.2.4.203" => {
            "image/jphc"
        }
        "1.2.840.10008.1.2.5" => "image/dicom-rle",
        _ => return None,
    })
}

/// The `Accept` header that asks for frames uncompressed.
pub fn accept_uncompressed() -> String {
    format!(
        "multipart/related; type=\"application/octet-stream\"; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}"
    )
}

/// The `Accept` header for the frames of an instance stored in
/// `stored` (Available Transfer Syntax UID, when the metadata has it):
/// the stored syntax when `can_decode` accepts it and it has a media type,
/// uncompressed otherwise.
pub fn accept_for(stored: Option<&str>, can_decode: impl Fn(&str) -> bool) -> String {
    match stored {
        Some(ts) if !NATIVE.contains(&ts) && can_decode(ts) => match media_type(ts) {
            Some(media) => format!("multipart/related; type=\"{media}\"; transfer-syntax={ts}"),
            None => accept_uncompressed(),
        },
        _ => accept_uncompressed(),
    }
}

/// The transfer syntax a frame part was sent in: its own
/// `transfer-syntax` parameter, else the one requested.
pub fn part_transfer_syntax(part_param: Option<String>, requested: &str) -> String {
    part_param.unwrap_or_else(|| {
        crate::multipart::media_type_param(requested, "transfer-syntax")
            .unwrap_or_else(|| EXPLICIT_VR_LITTLE_ENDIAN.to_owned())
    })
}

/// The WADO-RS address of one frame (1-based, as PS3.18 counts them).
pub fn frame_url(root: &str, study: &str, series: &str, instance: &str, frame: u32) -> String {
    format!(
        "{root}/studies/{}/series/{}/instances/{}/frames/{frame}",
        encode_component(study),
        encode_component(series),
        encode_component(instance)
    )
}

/// The address of a series (WADO-RS retrieves all of it there).
pub fn series_url(root: &str, study: &str, series: &str) -> String {
    format!(
        "{root}/studies/{}/series/{}",
        encode_component(study),
        encode_component(series)
    )
}

/// The address of a series' metadata.
pub fn metadata_url(root: &str, study: &str, series: &str) -> String {
    format!(
        "{root}/studies/{}/series/{}/metadata",
        encode_component(study),
        encode_component(series)
    )
}

/// The address of a series' thumbnail, sized for the series strip.
pub fn thumbnail_url(root: &str, study: &str, series: &str) -> String {
    format!(
        "{root}/studies/{}/series/{}/thumbnail?viewport=128,128",
        encode_component(study),
        encode_component(series)
    )
}

/// The SOP Instance UID in a WADO-RS resource location such as
/// `…/instances/{uid}/bulkdata/7FE00010` or `…/instances/{uid}/frames/1`.
pub fn instance_of_location(location: &str) -> Option<&str> {
    let (_, rest) = location.rsplit_once("/instances/")?;
    let uid = rest.split('/').next()?;
    (!uid.is_empty()).then_some(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_name_their_instance() {
        let base = "http://h/dicom-web/studies/1.2/series/1.2.3/instances";
        assert_eq!(
            instance_of_location(&format!("{base}/1.2.3.4/bulkdata/7FE00010")),
            Some("1.2.3.4")
        );
        assert_eq!(
            instance_of_location(&format!("{base}/1.2.3.5/frames/1")),
            Some("1.2.3.5")
        );
        assert_eq!(instance_of_location("/dicom-web/studies/1.2"), None);
        assert_eq!(instance_of_location("/instances/"), None);
    }

    #[test]
    fn native_syntaxes_are_always_requested_little_endian() {
        for ts in NATIVE {
            assert_eq!(accept_for(Some(ts), |_| true), accept_uncompressed());
        }
        assert_eq!(accept_for(None, |_| true), accept_uncompressed());
    }

    #[test]
    fn decodable_compressed_syntaxes_are_requested_as_stored() {
        assert_eq!(
            accept_for(Some("1.2.840.10008.1.2.4.80"), |_| true),
            "multipart/related; type=\"image/jls\"; transfer-syntax=1.2.840.10008.1.2.4.80"
        );
        assert_eq!(
            accept_for(Some("1.2.840.10008.1.2.4.201"), |_| true),
            "multipart/related; type=\"image/jphc\"; transfer-syntax=1.2.840.10008.1.2.4.201"
        );
    }

    #[test]
    fn refused_or_unknown_syntaxes_fall_back_to_uncompressed() {
        let only_jpeg = |ts: &str| ts == "1.2.840.10008.1.2.4.50";
        assert_eq!(
            accept_for(Some("1.2.840.10008.1.2.4.90"), only_jpeg),
            accept_uncompressed()
        );
        assert_eq!(
            accept_for(Some("1.2.840.10008.1.2.4.100"), |_| true),
            accept_uncompressed()
        );
    }

    #[test]
    fn a_part_without_its_own_syntax_is_what_was_asked_for() {
        let asked = accept_for(Some("1.2.840.10008.1.2.4.50"), |_| true);
        assert_eq!(part_transfer_syntax(None, &asked), "1.2.840.10008.1.2.4.50");
        assert_eq!(
            part_transfer_syntax(Some("1.2.840.10008.1.2.4.70".into()), &asked),
            "1.2.840.10008.1.2.4.70"
        );
        assert_eq!(
            part_transfer_syntax(None, "multipart/related; type=\"application/octet-stream\""),
            EXPLICIT_VR_LITTLE_ENDIAN
        );
    }

    #[test]
    fn addresses_are_built_from_encoded_uids() {
        assert_eq!(
            frame_url("/dicom-web", "1.2", "3.4", "5.6", 1),
            "/dicom-web/studies/1.2/series/3.4/instances/5.6/frames/1"
        );
        assert_eq!(
            metadata_url("/dicom-web", "1.2", "3 4"),
            "/dicom-web/studies/1.2/series/3%204/metadata"
        );
        assert!(thumbnail_url("", "1", "2").ends_with("/thumbnail?viewport=128,128"));
    }
}
