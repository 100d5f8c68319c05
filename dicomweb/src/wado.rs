//! WADO-RS (PS3.18 §10.4): instances, metadata, frames, rendered images,
//! thumbnails and bulk data.

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use pacs_core::index::StoredInstance;
use pacs_core::layout::PixelLayout;
use pacs_core::render::{ImageFormat, RenderParams, SourceRegion, VoiFunction, Window};
use pacs_core::{Archive, ArchiveError, Uid};
use warp::reply::Response;

use crate::WebState;
use crate::accept::{
    EXPLICIT_VR_LITTLE_ENDIAN, FrameRendition, InstanceTransferSyntax, MediaType, Packaging,
    names_transfer_syntax, negotiate_frames, negotiate_instance, negotiate_one_instance,
};
use crate::error::WebError;
use crate::multipart::{MultipartWriter, OutgoingPart, PartBody};
use crate::request::Request;
use crate::router::response;

type Part = OutgoingPart<std::io::Error>;

/// A streamed multipart/related response.
fn multipart_response<S>(type_param: &str, parts: S) -> Response
where
    S: futures::Stream<Item = Result<Part, std::io::Error>> + Send + 'static,
{
    let writer = MultipartWriter::new(type_param);
    let content_type = writer.content_type();
    let body = sync_wrapper::SyncStream::new(writer.body(parts));
    let mut r = warp::reply::Reply::into_response(warp::reply::stream(body));
    if let Ok(v) = warp::http::HeaderValue::from_str(&content_type) {
        r.headers_mut().insert(warp::http::header::CONTENT_TYPE, v);
    }
    r
}

/// A response whose body is `part` alone.
fn single_part_response(part: Part) -> Response {
    let (content_type, body) = part.into_content();
    let body: futures::stream::BoxStream<'static, Result<Bytes, std::io::Error>> = match body {
        PartBody::Full(bytes) => Box::pin(stream::once(async move { Ok(bytes) })),
        PartBody::Streamed(s) => s,
    };
    let body = sync_wrapper::SyncStream::new(body);
    let mut r = warp::reply::Reply::into_response(warp::reply::stream(body));
    if let Ok(v) = warp::http::HeaderValue::from_str(&content_type) {
        r.headers_mut().insert(warp::http::header::CONTENT_TYPE, v);
    }
    r
}

/// Retrieve of a study, series or instance as `application/dicom` parts,
/// or as their pixel data for a client that accepts bulk data only. A
/// request for one instance may ask for it as a single-part
/// `application/dicom` body instead.
pub async fn retrieve(
    state: &WebState,
    req: &Request,
    study: &Uid,
    series: Option<&Uid>,
    sop: Option<&Uid>,
) -> Result<Response, WebError> {
    let instances = state.archive.instances(study, series, sop).await?;
    let ranges = req.ranges();
    // Explicit VR Little Endian is always on offer: a client for which it
    // will not do takes no application/dicom at all.
    if negotiate_instance(&ranges, EXPLICIT_VR_LITTLE_ENDIAN).is_err()
        && ranges.iter().any(|r| {
            let m = r.media_type();
            r.q() > 0.0
                && m.is("multipart", "related")
                && m.param("type")
                    .is_some_and(|t| !t.eq_ignore_ascii_case("application/dicom"))
        })
    {
        return retrieve_bulk_data(state, req, instances).await;
    }
    let fallback = !names_transfer_syntax(&ranges, EXPLICIT_VR_LITTLE_ENDIAN);
    if let (Some(_), [instance]) = (sop, &instances[..]) {
        let (how, packaging) = negotiate_one_instance(&ranges, &instance.transfer_syntax_uid)
            .map_err(|e| WebError::not_acceptable(e.message))?;
        if packaging == Packaging::SinglePart {
            let part = instance_part(&state.archive, instance.clone(), how, fallback).await?;
            return Ok(single_part_response(part));
        }
    }
    let mut plan = Vec::with_capacity(instances.len());
    for i in instances {
        let how = negotiate_instance(&ranges, &i.transfer_syntax_uid)
            .map_err(|e| WebError::not_acceptable(e.message))?;
        plan.push((i, how));
    }
    let archive = state.archive.clone();
    let mut parts = Box::pin(stream::iter(plan).then(move |(instance, how)| {
        let archive = archive.clone();
        async move { instance_part(&archive, instance, how, fallback).await }
    }));
    // The first part is made before the status goes out, so that a
    // single instance that cannot be sent is an error a client can read,
    // not a 200 cut short.
    let first = match parts.next().await {
        Some(Ok(part)) => Some(Ok(part)),
        Some(Err(e)) => return Err(e.into()),
        None => None,
    };
    let rest = parts.map(|part| part.map_err(std::io::Error::other));
    Ok(multipart_response(
        "application/dicom",
        stream::iter(first).chain(rest),
    ))
}

/// One instance of a retrieve, as `how` says. An instance the archive
/// cannot convert to the default syntax (a damaged codestream, or an image
/// no codec here takes, such as 12-bit colour JPEG) goes as it was
/// stored, its part saying so, when `fallback`
/// allows: the client took the default rather than naming it.
async fn instance_part(
    archive: &Archive,
    instance: StoredInstance,
    how: InstanceTransferSyntax,
    fallback: bool,
) -> Result<Part, ArchiveError> {
    if how == InstanceTransferSyntax::ExplicitVrLittleEndian {
        match archive.object_explicit_le(&instance).await {
            Ok(bytes) => {
                return Ok(Part::new(
                    format!("application/dicom; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}"),
                    bytes,
                ));
            }
            Err(e @ (ArchiveError::NotAcceptable(_) | ArchiveError::Unprocessable(_)))
                if fallback =>
            {
                tracing::warn!(
                    sop_instance_uid = %instance.sop_instance_uid,
                    transfer_syntax = %instance.transfer_syntax_uid,
                    error = %e,
                    "sent as stored: it cannot be converted to explicit VR little endian"
                );
            }
            Err(e) => return Err(e),
        }
    }
    let ts = InstanceTransferSyntax::AsStored.uid(&instance.transfer_syntax_uid);
    let stream = archive.object_stream(&instance).await?;
    Ok(Part::streamed(
        format!("application/dicom; transfer-syntax={ts}"),
        stream.map(|r| r.map_err(std::io::Error::other)),
    ))
}

/// The bulk data of a study, series or instance (PS3.18 §10.4.1.1.3): the
/// pixel data of each instance that has any, in the rendition the Accept
/// asks for. Uncompressed, an instance's frames make one part, located at
/// its pixel data's BulkDataURI; in a compressed syntax, each frame is a
/// part of its own, located at its frame URL. Other binary values are
/// inline in the metadata. Every instance's rendition is settled before
/// the first byte goes out, so what cannot be met is a 406, not a cut-off
/// body.
async fn retrieve_bulk_data(
    state: &WebState,
    req: &Request,
    instances: Vec<StoredInstance>,
) -> Result<Response, WebError> {
    let ranges = req.ranges();
    let mut plan = Vec::with_capacity(instances.len());
    for instance in instances {
        let frames = instance.image.as_ref().map_or(0, |i| i.number_of_frames);
        // (Absent with an image: pixel data not located in the stored
        // bytes, as in a deflated data set, and read from the whole object.)
        if frames == 0 || instance.pixel == PixelLayout::Absent && instance.image.is_none() {
            continue;
        }
        let rendition = negotiate_frames(&ranges, &instance.transfer_syntax_uid)
            .map_err(|e| WebError::not_acceptable(e.message))?;
        plan.push((instance, frames, rendition));
    }
    let Some(media) = plan.first().map(|(_, _, r)| r.media_type()) else {
        return Err(WebError::not_found(
            "none of the requested instances has pixel data",
        ));
    };
    let archive = state.archive.clone();
    let base = req.base.clone();
    let parts = stream::iter(plan).flat_map(move |(instance, frames, rendition)| {
        let url = format!(
            "{base}/studies/{}/series/{}/instances/{}",
            instance.study_uid, instance.series_uid, instance.sop_instance_uid
        );
        let archive = archive.clone();
        let content_type = rendition.part_content_type();
        let uncompressed = matches!(rendition, FrameRendition::Uncompressed);
        let frame = move |n: u32| {
            let (archive, instance, rendition) =
                (archive.clone(), instance.clone(), rendition.clone());
            async move { frame_bytes(&archive, &instance, n, &rendition).await }
        };
        let parts: futures::stream::BoxStream<'static, Result<Part, WebError>> = if uncompressed {
            let location = format!("{url}/bulkdata/7FE00010");
            stream::once(async move {
                let mut pixels = Vec::new();
                for n in 1..=frames {
                    pixels.extend_from_slice(&frame(n).await?);
                }
                Ok(Part::new(content_type, Bytes::from(pixels))
                    .with_header("Content-Location", location))
            })
            .boxed()
        } else {
            stream::iter(1..=frames)
                .then(frame)
                .enumerate()
                .map(move |(i, bytes)| {
                    bytes.map(|b| {
                        Part::new(content_type.clone(), b)
                            .with_header("Content-Location", format!("{url}/frames/{}", i + 1))
                    })
                })
                .boxed()
        };
        parts
    });
    // As for instances: the first part is made before the status goes out.
    let mut parts = Box::pin(parts);
    let first = match parts.next().await {
        Some(Ok(part)) => Some(Ok(part)),
        Some(Err(e)) => return Err(e),
        None => None,
    };
    let rest = parts.map(|part| part.map_err(|e| std::io::Error::other(e.message)));
    Ok(multipart_response(media, stream::iter(first).chain(rest)))
}

/// Metadata of a study, series or instance: the DICOM JSON stored at
/// ingest, concatenated.
pub async fn metadata(
    state: &WebState,
    req: &Request,
    study: &Uid,
    series: Option<&Uid>,
    sop: Option<&Uid>,
) -> Result<Response, WebError> {
    let content_type = req.json_content_type().ok_or_else(|| {
        WebError::not_acceptable("metadata is available as application/dicom+json only")
    })?;
    let body = state
        .archive
        .metadata(study, series, sop, &req.base)
        .await?;
    Ok(response(content_type, body))
}

/// Parses a frame list `1,2,3` (1-based), its commas sent as they are or
/// percent-encoded (`1%2C2`), as clients do either. A frame asked for
/// twice is refused: the list would otherwise make a response of any
/// size from one instance.
pub fn frame_list(list: &str) -> Result<Vec<u32>, WebError> {
    let decoded = list.replace("%2C", ",").replace("%2c", ",");
    let frames: Result<Vec<u32>, _> = decoded
        .split(',')
        .map(|f| f.trim().parse::<u32>())
        .collect();
    let frames = match frames {
        Ok(f) if !f.is_empty() && f.iter().all(|&n| n >= 1) => f,
        _ => {
            return Err(WebError::bad_request(format!(
                "frame list {decoded:?} is not a comma-separated list of frame numbers starting at 1"
            )));
        }
    };
    let mut seen = std::collections::HashSet::with_capacity(frames.len());
    if let Some(again) = frames.iter().find(|n| !seen.insert(**n)) {
        return Err(WebError::bad_request(format!(
            "frame {again} is asked for more than once in {decoded:?}"
        )));
    }
    Ok(frames)
}

pub async fn frames(
    state: &WebState,
    req: &Request,
    study: &Uid,
    series: &Uid,
    sop: &Uid,
    list: &str,
) -> Result<Response, WebError> {
    let numbers = frame_list(list)?;
    let instance = state.archive.instance(study, series, sop).await?;
    let frames_in = instance
        .image
        .as_ref()
        .map(|i| i.number_of_frames)
        .unwrap_or(0);
    if let Some(bad) = numbers.iter().find(|&&n| n > frames_in) {
        return Err(WebError::not_found(format!(
            "frame {bad} does not exist: the instance has {frames_in} frame(s)"
        )));
    }
    let rendition = negotiate_frames(&req.ranges(), &instance.transfer_syntax_uid)
        .map_err(|e| WebError::not_acceptable(e.message))?;
    // Read the first frame before answering, so that a frame that cannot be
    // produced is an HTTP error rather than a cut-off body.
    let archive = state.archive.clone();
    let first = frame_bytes(&archive, &instance, numbers[0], &rendition).await?;
    let part_type = rendition.part_content_type();
    let media = rendition.media_type();
    // Each part says which frame it is (PS3.18 §8.6.1.2).
    let url = format!(
        "{}/studies/{study}/series/{series}/instances/{sop}/frames",
        req.base
    );
    let first_number = numbers[0];
    let rest = numbers[1..].to_vec();
    let parts = stream::once(async move { Ok((first_number, first)) })
        .chain(stream::iter(rest).then(move |n| {
            let archive = archive.clone();
            let instance = instance.clone();
            let rendition = rendition.clone();
            async move {
                frame_bytes(&archive, &instance, n, &rendition)
                    .await
                    .map(|b| (n, b))
                    .map_err(|e| std::io::Error::other(e.message))
            }
        }))
        .map(move |r: Result<(u32, Bytes), std::io::Error>| {
            r.map(|(n, b)| {
                Part::new(part_type.clone(), b)
                    .with_header("Content-Location", format!("{url}/{n}"))
            })
        });
    Ok(multipart_response(media, parts))
}

async fn frame_bytes(
    archive: &pacs_core::Archive,
    instance: &StoredInstance,
    number: u32,
    rendition: &FrameRendition,
) -> Result<Bytes, WebError> {
    Ok(match rendition {
        FrameRendition::Uncompressed => archive.frame_uncompressed(instance, number).await?,
        FrameRendition::Stored { .. } => archive.frame_as_stored(instance, number).await?.bytes,
    })
}

/// Rendering parameters from the query (PS3.18 §8.3.5).
fn render_params(req: &Request, thumbnail: bool) -> Result<(RenderParams, &'static str), WebError> {
    let offered = [
        MediaType::new("image", "jpeg"),
        MediaType::new("image", "png"),
    ];
    let chosen = crate::accept::choose(&req.ranges(), &offered).ok_or_else(|| {
        WebError::not_acceptable("rendered images are available as image/jpeg or image/png")
    })?;
    let quality = match req.param("quality") {
        Some(q) => q
            .parse::<u8>()
            .ok()
            .filter(|q| (1..=100).contains(q))
            .ok_or_else(|| WebError::bad_request("quality must be an integer from 1 to 100"))?,
        None => 90,
    };
    let (format, ct) = if chosen.is("image", "png") {
        (ImageFormat::Png, "image/png")
    } else {
        (ImageFormat::Jpeg { quality }, "image/jpeg")
    };
    let mut params = RenderParams {
        format,
        ..RenderParams::default()
    };
    if let Some(w) = req.param("window") {
        let parts: Vec<&str> = w.split(',').map(str::trim).collect();
        let num = |s: &str| s.parse::<f64>().ok().filter(|f| f.is_finite());
        match parts.as_slice() {
            [c, w, rest @ ..] if rest.len() <= 1 => {
                let (Some(center), Some(width)) = (num(c), num(w)) else {
                    return Err(WebError::bad_request(
                        "window must be center,width[,function] with numbers",
                    ));
                };
                if width <= 0.0 {
                    return Err(WebError::bad_request("the window width must be positive"));
                }
                params.window = Some(Window { center, width });
                if let Some(f) = rest.first() {
                    params.voi_function = Some(VoiFunction::parse(&f.replace('-', "_")).ok_or_else(|| {
                        WebError::bad_request(format!("unknown VOI LUT function {f:?}: use linear, linear-exact or sigmoid"))
                    })?);
                }
            }
            _ => {
                return Err(WebError::bad_request(
                    "window must be center,width[,function]",
                ));
            }
        }
    }
    let (viewport, region) = match req.param("viewport") {
        Some(v) => parse_viewport(v)
            .map(|(size, region)| (Some(size), region))
            .ok_or_else(|| {
                WebError::bad_request(
                    "viewport must be vw,vh[,sx,sy,sw,sh]: the viewport's width and height \
                 (1 to 8192), then optionally the source region's left, top, width and \
                 height in the frame's pixels (a negative width or height flips it)",
                )
            })?,
        None if thumbnail => (Some((128, 128)), None),
        None => (None, None),
    };
    params.viewport = viewport;
    params.region = region;
    Ok((params, ct))
}

/// PS3.18's `viewport=vw,vh[,sx,sy,sw,sh]`; sx and sy default to 0 and sw
/// and sh to the rest of the frame when left empty.
fn parse_viewport(value: &str) -> Option<((u32, u32), Option<SourceRegion>)> {
    let fields: Vec<&str> = value.split(',').map(str::trim).collect();
    let size = |s: &str| s.parse::<u32>().ok().filter(|n| (1..=8192).contains(n));
    let (vw, vh) = (size(fields.first()?)?, size(fields.get(1)?)?);
    match fields.len() {
        2 => Some(((vw, vh), None)),
        6 => {
            let offset = |s: &str| {
                if s.is_empty() {
                    Some(0)
                } else {
                    s.parse::<u32>().ok()
                }
            };
            let extent = |s: &str| {
                if s.is_empty() {
                    Some(None)
                } else {
                    s.parse::<i32>().ok().filter(|&n| n != 0).map(Some)
                }
            };
            let (x, y) = (offset(fields[2])?, offset(fields[3])?);
            let (width, height) = (extent(fields[4])?, extent(fields[5])?);
            if (width, height, x, y) == (None, None, 0, 0) {
                return Some(((vw, vh), None));
            }
            Some((
                (vw, vh),
                Some(SourceRegion {
                    x,
                    y,
                    width,
                    height,
                }),
            ))
        }
        _ => None,
    }
}

pub async fn rendered(
    state: &WebState,
    req: &Request,
    study: &Uid,
    series: &Uid,
    sop: &Uid,
    frame: Option<u32>,
    thumbnail: bool,
) -> Result<Response, WebError> {
    let (params, ct) = render_params(req, thumbnail)?;
    let instance = state.archive.instance(study, series, sop).await?;
    let image = state
        .archive
        .rendered(&instance, frame.unwrap_or(1), params)
        .await?;
    Ok(response(ct, image))
}

/// Rendered or thumbnail of a study or series: its middle image.
pub async fn representative(
    state: &WebState,
    req: &Request,
    study: &Uid,
    series: Option<&Uid>,
    thumbnail: bool,
) -> Result<Response, WebError> {
    let (params, ct) = render_params(req, thumbnail)?;
    let instances = state.archive.instances(study, series, None).await?;
    let images: Vec<&StoredInstance> = instances.iter().filter(|i| i.image.is_some()).collect();
    let first_series = images.first().map(|i| i.series_uid.clone());
    let in_series: Vec<&&StoredInstance> = images
        .iter()
        .filter(|i| Some(&i.series_uid) == first_series.as_ref())
        .collect();
    let chosen = in_series
        .get(in_series.len() / 2)
        .ok_or_else(|| WebError::not_found("no image to render in this study or series"))?;
    let image = state.archive.rendered(chosen, 1, params).await?;
    Ok(response(ct, image))
}

/// Bulk data: the pixel data by frames, or another binary value.
pub async fn bulkdata(
    state: &WebState,
    req: &Request,
    study: &Uid,
    series: &Uid,
    sop: &Uid,
    path: &[&str],
) -> Result<Response, WebError> {
    let instance = state.archive.instance(study, series, sop).await?;
    if path.len() == 1 && path[0].eq_ignore_ascii_case("7FE00010") {
        let frames = instance
            .image
            .as_ref()
            .map(|i| i.number_of_frames)
            .unwrap_or(0);
        if frames == 0 || instance.pixel == PixelLayout::Absent && instance.image.is_none() {
            return Err(WebError::not_found("the instance has no pixel data"));
        }
        // The value its BulkDataURI names, as the instance's bulk data
        // retrieve sends it: uncompressed, all frames in one part.
        return retrieve_bulk_data(state, req, vec![instance]).await;
    }
    let object = state.archive.object(&instance).await?;
    let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
    let value =
        tokio::task::spawn_blocking(move || pacs_core::transcode::element_bytes(&object, &path))
            .await
            .map_err(|e| {
                WebError::new(warp::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            })??;
    let parts = stream::once(async move { Ok(Part::new("application/octet-stream", value)) });
    Ok(multipart_response("application/octet-stream", parts))
}
