//! Transfer syntax negotiation tests: every PS3.18 case the WADO-RS
//! routes rely on.

use super::*;
use crate::accept::{parse_accept, requested_ranges};

const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const JPEG_LOSSLESS_SV1: &str = "1.2.840.10008.1.2.4.70";
const JLS_LOSSLESS: &str = "1.2.840.10008.1.2.4.80";
const JLS_NEAR: &str = "1.2.840.10008.1.2.4.81";
const J2K: &str = "1.2.840.10008.1.2.4.91";
const IMPLICIT: &str = "1.2.840.10008.1.2";

fn instance(accept: &str, stored: &str) -> Result<InstanceTransferSyntax, NotAcceptable> {
    negotiate_instance(&parse_accept(accept), stored)
}

fn frames(accept: &str, stored: &str) -> Result<FrameRendition, NotAcceptable> {
    negotiate_frames(&parse_accept(accept), stored)
}

fn stored(media_type: &'static str, uid: &str) -> Result<FrameRendition, NotAcceptable> {
    Ok(FrameRendition::Stored {
        media_type,
        transfer_syntax: uid.to_owned(),
    })
}

#[test]
fn table_maps_both_ways() {
    for (media, uids) in [
        (
            "image/jpeg",
            &[
                "1.2.840.10008.1.2.4.70",
                "1.2.840.10008.1.2.4.50",
                "1.2.840.10008.1.2.4.51",
                "1.2.840.10008.1.2.4.57",
            ][..],
        ),
        ("image/jls", &[JLS_LOSSLESS, JLS_NEAR]),
        ("image/jp2", &["1.2.840.10008.1.2.4.90", J2K]),
        (
            "image/jpx",
            &["1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93"],
        ),
        (
            "image/jphc",
            &[
                "1.2.840.10008.1.2.4.201",
                "1.2.840.10008.1.2.4.202",
                "1.2.840.10008.1.2.4.203",
            ],
        ),
        ("image/dicom-rle", &["1.2.840.10008.1.2.5"]),
        ("application/octet-stream", &[EXPLICIT_VR_LITTLE_ENDIAN]),
    ] {
        assert_eq!(
            transfer_syntaxes_for_media_type(media),
            uids.to_vec(),
            "{media}"
        );
        assert_eq!(default_transfer_syntax(media), Some(uids[0]));
        for uid in uids {
            assert_eq!(media_type_for_transfer_syntax(uid), Some(media), "{uid}");
        }
    }
    assert_eq!(
        transfer_syntaxes_for_media_type("IMAGE/JLS "),
        vec![JLS_LOSSLESS, JLS_NEAR]
    );
    for native in [
        IMPLICIT,
        "1.2.840.10008.1.2.1\0",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.1.99",
    ] {
        assert_eq!(
            media_type_for_transfer_syntax(native),
            Some("application/octet-stream")
        );
    }
    assert_eq!(
        media_type_for_transfer_syntax("1.2.840.10008.1.2.4.100"),
        None
    );
    assert!(transfer_syntaxes_for_media_type("image/png").is_empty());
    assert_eq!(default_transfer_syntax("video/mp4"), None);
}

#[test]
fn instance_any_syntax_or_the_stored_one_sends_stored_bytes() {
    let all = r#"multipart/related; type="application/dicom"; transfer-syntax=*"#;
    assert_eq!(
        instance(all, JPEG_BASELINE),
        Ok(InstanceTransferSyntax::AsStored)
    );
    let named =
        format!(r#"multipart/related; type="application/dicom"; transfer-syntax={JPEG_BASELINE}"#);
    assert_eq!(
        instance(&named, "1.2.840.10008.1.2.4.50\0"),
        Ok(InstanceTransferSyntax::AsStored)
    );
    assert_eq!(
        InstanceTransferSyntax::AsStored.uid("1.2.840.10008.1.2.4.50\0"),
        JPEG_BASELINE
    );
    // Unquoted type, odd case, PS3.18 style.
    let sloppy = "Multipart/Related;Type=Application/DICOM;Transfer-Syntax=*";
    assert_eq!(
        instance(sloppy, IMPLICIT),
        Ok(InstanceTransferSyntax::AsStored)
    );
}

#[test]
fn instance_without_a_syntax_gets_the_ps318_default() {
    for accept in [
        r#"multipart/related; type="application/dicom""#,
        "multipart/related",
        "multipart/*",
        "*/*",
        &format!(
            r#"multipart/related; type="application/dicom"; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}"#
        ),
    ] {
        assert_eq!(
            instance(accept, JPEG_BASELINE),
            Ok(InstanceTransferSyntax::ExplicitVrLittleEndian),
            "{accept}"
        );
        assert_eq!(
            instance(accept, EXPLICIT_VR_LITTLE_ENDIAN),
            Ok(InstanceTransferSyntax::AsStored)
        );
    }
    assert_eq!(
        negotiate_instance(&requested_ranges(None::<&str>, None::<&str>), IMPLICIT),
        Ok(InstanceTransferSyntax::ExplicitVrLittleEndian)
    );
    assert_eq!(
        InstanceTransferSyntax::ExplicitVrLittleEndian.uid(IMPLICIT),
        EXPLICIT_VR_LITTLE_ENDIAN
    );
}

#[test]
fn instance_q_values_decide_between_stored_and_default() {
    let mr = r#"multipart/related; type="application/dicom""#;
    let prefer_default = format!(
        "{mr}; transfer-syntax={JPEG_BASELINE}; q=0.5, {mr}; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}; q=0.9"
    );
    assert_eq!(
        instance(&prefer_default, JPEG_BASELINE),
        Ok(InstanceTransferSyntax::ExplicitVrLittleEndian)
    );
    let no_default =
        format!("{mr}; transfer-syntax=*, {mr}; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}; q=0");
    assert_eq!(
        instance(&no_default, JPEG_BASELINE),
        Ok(InstanceTransferSyntax::AsStored)
    );
    let no_stored = format!("{mr}; transfer-syntax=*, {mr}; transfer-syntax={JPEG_BASELINE}; q=0");
    assert_eq!(
        instance(&no_stored, JPEG_BASELINE),
        Ok(InstanceTransferSyntax::ExplicitVrLittleEndian)
    );
    assert!(instance(&format!("{mr}; transfer-syntax=*; q=0"), JPEG_BASELINE).is_err());
}

#[test]
fn instance_syntaxes_we_cannot_produce_are_not_acceptable() {
    let accept = format!(r#"multipart/related; type="application/dicom"; transfer-syntax={J2K}"#);
    let err = instance(&accept, JPEG_BASELINE)
        .err()
        .unwrap_or_else(|| panic!("should be 406"));
    assert!(err.message.contains(J2K), "{}", err.message);
    assert!(err.message.contains(JPEG_BASELINE) && err.message.contains(EXPLICIT_VR_LITTLE_ENDIAN));
    for other in [
        "application/dicom+json",
        "application/json",
        "image/png",
        "multipart/related; type=\"image/jls\"",
        "",
    ] {
        assert!(instance(other, JPEG_BASELINE).is_err(), "{other:?}");
    }
    assert!(
        instance("nonsense", JPEG_BASELINE)
            .is_err_and(|e| e.message.contains("no valid media type"))
    );
}

#[test]
fn frames_in_the_stored_compressed_syntax() {
    let jpeg = format!(r#"multipart/related; type="image/jpeg"; transfer-syntax={JPEG_BASELINE}"#);
    assert_eq!(
        frames(&jpeg, JPEG_BASELINE),
        stored("image/jpeg", JPEG_BASELINE)
    );
    // No transfer-syntax: the media type's PS3.18 default only.
    assert_eq!(
        frames(r#"multipart/related; type="image/jpeg""#, JPEG_LOSSLESS_SV1),
        stored("image/jpeg", JPEG_LOSSLESS_SV1)
    );
    assert!(frames(r#"multipart/related; type="image/jpeg""#, JPEG_BASELINE).is_err());
    assert_eq!(
        frames("multipart/related; type=image/jls", JLS_LOSSLESS),
        stored("image/jls", JLS_LOSSLESS)
    );
    assert_eq!(
        frames(
            "multipart/related; type=image/jls; transfer-syntax=*",
            JLS_NEAR
        ),
        stored("image/jls", JLS_NEAR)
    );
    assert_eq!(
        frames(
            "multipart/related; type=image/jphc",
            "1.2.840.10008.1.2.4.201"
        ),
        stored("image/jphc", "1.2.840.10008.1.2.4.201")
    );
    assert_eq!(
        frames(
            "multipart/related; type=image/dicom-rle",
            "1.2.840.10008.1.2.5"
        ),
        stored("image/dicom-rle", "1.2.840.10008.1.2.5")
    );
    assert_eq!(
        frames("multipart/related; type=image/*; transfer-syntax=*", J2K),
        stored("image/jp2", J2K)
    );
    // OHIF: octet streams in whatever syntax is stored.
    let ohif = "multipart/related; type=application/octet-stream; transfer-syntax=*";
    assert_eq!(frames(ohif, J2K), stored("application/octet-stream", J2K));
    assert_eq!(
        frames(ohif, "1.2.840.10008.1.2.4.100"),
        stored("application/octet-stream", "1.2.840.10008.1.2.4.100")
    );
}

#[test]
fn frames_uncompressed() {
    for accept in [
        "multipart/related; type=application/octet-stream",
        &format!(
            "multipart/related; type=application/octet-stream; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}"
        ),
        "multipart/related; type=image/jls; q=0.3, multipart/related; type=application/octet-stream",
    ] {
        assert_eq!(
            frames(accept, JLS_LOSSLESS),
            Ok(FrameRendition::Uncompressed),
            "{accept}"
        );
    }
    // Native storage: octet streams are the stored form; images are not.
    assert_eq!(frames("*/*", IMPLICIT), Ok(FrameRendition::Uncompressed));
    assert_eq!(
        frames(
            "multipart/related; type=application/octet-stream; transfer-syntax=*",
            EXPLICIT_VR_LITTLE_ENDIAN
        ),
        Ok(FrameRendition::Uncompressed)
    );
    assert!(
        frames(
            "multipart/related; type=image/jpeg; transfer-syntax=*",
            EXPLICIT_VR_LITTLE_ENDIAN
        )
        .is_err()
    );
    // A client that names no type gets the default: uncompressed.
    for accept in [
        "*/*",
        "multipart/related",
        "multipart/*",
        "multipart/related; type=\"*/*\"",
    ] {
        assert_eq!(
            frames(accept, JLS_LOSSLESS),
            Ok(FrameRendition::Uncompressed),
            "{accept}"
        );
    }
    assert_eq!(frames("*/*", JLS_NEAR), Ok(FrameRendition::Uncompressed));
    // One that names the stored one among others gets it; ties favour it.
    assert_eq!(
        frames("multipart/related; type=image/jls, */*", JLS_LOSSLESS),
        stored("image/jls", JLS_LOSSLESS)
    );
    assert_eq!(
        frames(
            "multipart/related; type=\"*/*\"; transfer-syntax=*",
            JLS_LOSSLESS
        ),
        stored("image/jls", JLS_LOSSLESS)
    );
    assert_eq!(
        frames(
            "multipart/related; type=image/jls, multipart/related; type=application/octet-stream; q=0.5",
            JLS_LOSSLESS
        ),
        stored("image/jls", JLS_LOSSLESS)
    );
}

#[test]
fn frames_not_acceptable_and_part_labels() {
    let err = frames("multipart/related; type=image/jp2", JPEG_BASELINE).err();
    assert!(
        err.is_some_and(|e| e.message.contains("image/jp2") && e.message.contains("image/jpeg"))
    );
    assert!(
        frames(
            "multipart/related; type=application/octet-stream; q=0",
            JLS_LOSSLESS
        )
        .is_err()
    );
    assert!(frames("application/dicom+json", JLS_LOSSLESS).is_err());
    assert_eq!(
        FrameRendition::Uncompressed.part_content_type(),
        "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    );
    let jpeg = FrameRendition::Stored {
        media_type: "image/jpeg",
        transfer_syntax: JPEG_BASELINE.into(),
    };
    assert_eq!(
        jpeg.part_content_type(),
        "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50"
    );
    assert_eq!(jpeg.media_type(), "image/jpeg");
}

#[test]
fn one_instance_may_be_asked_for_as_a_single_part() {
    let one = |accept: &str, stored: &str| negotiate_one_instance(&parse_accept(accept), stored);
    use InstanceTransferSyntax::{AsStored, ExplicitVrLittleEndian};
    use Packaging::{Multipart, SinglePart};
    assert_eq!(
        one("application/dicom", JPEG_BASELINE),
        Ok((ExplicitVrLittleEndian, SinglePart))
    );
    assert_eq!(
        one("application/dicom; transfer-syntax=*", JPEG_BASELINE),
        Ok((AsStored, SinglePart))
    );
    assert_eq!(
        one(
            &format!("application/dicom; transfer-syntax={JPEG_BASELINE}"),
            JPEG_BASELINE
        ),
        Ok((AsStored, SinglePart))
    );
    // Anything, or both forms alike: the multipart default.
    assert_eq!(
        one("*/*", IMPLICIT),
        Ok((ExplicitVrLittleEndian, Multipart))
    );
    assert_eq!(
        one(
            r#"application/dicom; q=0.5, multipart/related; type="application/dicom""#,
            IMPLICIT
        ),
        Ok((ExplicitVrLittleEndian, Multipart))
    );
    // A syntax the archive cannot make is refused in either form.
    let refused = one(
        &format!("application/dicom; transfer-syntax={J2K}"),
        JPEG_BASELINE,
    )
    .expect_err("J2K is not on offer");
    assert!(
        refused
            .message
            .contains("application/dicom; transfer-syntax="),
        "{}",
        refused.message
    );
    // negotiate_instance, for several instances, never offers it.
    assert!(instance("application/dicom", IMPLICIT).is_err());
}
