//! Loading a study: its series list, a series' metadata, then its frames,
//! the slice on screen first and the rest streaming in around it with a
//! few requests in flight, decoded by the workers.

use std::cell::RefCell;
use std::rc::Rc;

use viewer_core::dicom_json::Attributes;
use viewer_core::palette::{PaletteLut, PaletteSource};
use viewer_core::tags;

use super::draw::{request_redraw, show_fatal, show_notice, update_progress};
use super::state::{LoadedSeries, SeriesEntry, Shared, SliceState};
use super::strip;
use crate::frames::{
    accept_for, accept_uncompressed, frame_url, instance_of_location, metadata_url, series_url,
};
use crate::multipart::{OwnedPart, PartReader};
use crate::series::{SeriesLayout, next_to_fetch, stream_the_rest};
use crate::url::encode_component;
use crate::web::decode::{DecodeFailure, Decoded};
use crate::web::dom;
use crate::web::net::{self, DICOMWEB, NetError};
use crate::web::text::{tr, tr_with};

/// Frame requests in flight at once: enough to hide the link's latency;
/// browsers open six connections to one HTTP/1.1 origin.
const MAX_IN_FLIGHT: usize = 6;

/// Fetched frames waiting for (or in) a decoder: bounds the bodies held in
/// memory when the network outruns the workers.
const MAX_DECODING: usize = 12;

/// Modalities of series that hold no images to show.
const NON_IMAGE: [&str; 6] = ["SR", "PR", "KO", "DOC", "REG", "RWV"];

/// Whether a series holds images (not reports, key objects or
/// presentation states).
pub fn is_image_series(entry: &SeriesEntry) -> bool {
    !NON_IMAGE.contains(&entry.modality.as_str())
}

/// The message for a failed request, in the reader's words.
pub fn net_message(error: &NetError) -> String {
    match error {
        NetError::Unreachable => tr("error.server_unreachable"),
        NetError::Status { status: 404, .. } => tr("error.study_not_found"),
        NetError::Status { status: 403, .. } => tr("error.forbidden"),
        NetError::Status { status, .. } => {
            tr_with("error.server", &[("status", &status.to_string())])
        }
        NetError::Body(detail) => format!(
            "{} ({detail})",
            tr("error.server").replace(" ({status})", "")
        ),
    }
}

/// Lists the study's series and opens the requested (or first) one in
/// the first viewport.
pub async fn open_study(shared: Shared, wanted_series: Option<String>) {
    let study_uid = shared.borrow().study_uid.clone();
    let url = format!("{DICOMWEB}/studies/{}/series", encode_component(&study_uid));
    let entries = match net::get_attributes(&url).await {
        Ok(list) => series_entries(&study_uid, &list),
        Err(error) => {
            show_fatal(&shared, &net_message(&error));
            return;
        }
    };
    let Some(entries) = entries else {
        show_fatal(&shared, &tr("error.study_not_found"));
        return;
    };
    let images: Vec<SeriesEntry> = entries.into_iter().filter(is_image_series).collect();
    if images.is_empty() {
        show_fatal(&shared, &tr("error.no_images"));
        return;
    }
    let wanted = wanted_series.map(|uid| images.iter().find(|e| e.series_uid == uid).cloned());
    let first = match wanted {
        Some(Some(entry)) => entry,
        // A link to a series the study does not have (or one without
        // images) must not pass the first series off as the one asked for.
        Some(None) => {
            show_notice(&shared, &tr("viewer.series_not_in_study"));
            images[0].clone()
        }
        None => images[0].clone(),
    };
    shared.borrow_mut().series_list = images;
    strip::build(&shared);
    open_series(shared.clone(), 0, first).await;
}

/// Reads the series list; `None` when the study does not exist (an empty
/// answer), series sorted by number.
pub fn series_entries(study_uid: &str, list: &[Attributes]) -> Option<Vec<SeriesEntry>> {
    if list.is_empty() {
        return None;
    }
    let mut entries: Vec<SeriesEntry> = list
        .iter()
        .filter_map(|a| {
            Some(SeriesEntry {
                study_uid: study_uid.to_owned(),
                series_uid: a.string(tags::SERIES_INSTANCE_UID)?,
                number: a.int(tags::SERIES_NUMBER),
                modality: a.string(tags::MODALITY).unwrap_or_default(),
                description: a.string(tags::SERIES_DESCRIPTION).unwrap_or_default(),
                count: a.int(tags::NUMBER_OF_SERIES_RELATED_INSTANCES),
            })
        })
        .collect();
    entries.sort_by_key(|e| (e.number.is_none(), e.number));
    Some(entries)
}

/// Loads `entry`'s metadata and shows the series in viewport `pane`.
pub async fn open_series(shared: Shared, pane: usize, entry: SeriesEntry) {
    {
        let mut v = shared.borrow_mut();
        if let Some(p) = v.panes.get_mut(pane) {
            p.error = None;
        }
        v.dom.progress.set_text_content(Some(&tr("progress.study")));
        v.dom.progress.set_hidden(false);
    }
    let url = metadata_url(DICOMWEB, &entry.study_uid, &entry.series_uid);
    let prefetched = net::take_first_metadata(&entry.series_uid).await;
    let layout = match net::get_attributes_from(&url, prefetched).await {
        Ok(list) => SeriesLayout::from_metadata(&list).map_err(|_| tr("error.no_images")),
        Err(error @ NetError::Body(_)) => Err(format!("{} ({error})", tr("error.decode"))),
        Err(error) => Err(net_message(&error)),
    };
    let layout = match layout {
        Ok(layout) => layout,
        Err(message) => {
            let mut v = shared.borrow_mut();
            v.dom.progress.set_hidden(true);
            if pane == 0 && !v.first_image_marked {
                drop(v);
                show_fatal(&shared, &message);
            } else if let Some(p) = v.panes.get_mut(pane) {
                p.error = Some(message);
                drop(v);
                request_redraw(&shared);
            }
            return;
        }
    };
    if pane == 0 {
        dom::mark("pacs:metadata-read");
    }
    let palettes = load_palettes(&layout).await;
    let series = Rc::new(RefCell::new(loaded_series(
        &shared, &entry, layout, palettes,
    )));
    {
        let mut v = shared.borrow_mut();
        let previous = v.panes.get(pane).and_then(|p| p.series.clone());
        if let Some(p) = v.panes.get_mut(pane) {
            p.show(series);
        }
        if let Some(previous) = previous {
            close_if_hidden(&mut v, &previous);
        }
    }
    strip::mark_active(&shared);
    super::controls::fill_presets(&shared);
    pump(&shared);
    // After the frame requests pump started have gone out.
    let s = shared.clone();
    wasm_bindgen_futures::spawn_local(async move { super::draw::warm_up(&s) });
    request_redraw(&shared);
}

/// Per instance, the colour palette of a `PALETTE COLOR` image, its table
/// data fetched where the metadata gives it by URI (large tables); an
/// instance shares the palette of an earlier one with the same source.
async fn load_palettes(layout: &SeriesLayout) -> Vec<Result<Option<Rc<PaletteLut>>, String>> {
    let mut built: Vec<(&PaletteSource, Rc<PaletteLut>)> = Vec::new();
    let mut out = Vec::with_capacity(layout.instances.len());
    for info in &layout.instances {
        let Some(source) = &info.palette else {
            out.push(Ok(None));
            continue;
        };
        if let Some((_, lut)) = built.iter().find(|(s, _)| *s == source) {
            out.push(Ok(Some(lut.clone())));
            continue;
        }
        let mut fetched = Vec::new();
        let mut failure = None;
        for (channel, uri) in source.bulk_uris() {
            match fetch_bulk(uri).await {
                Ok(bytes) => fetched.push((channel, bytes)),
                Err(message) => {
                    failure = Some(message);
                    break;
                }
            }
        }
        let lut = match failure {
            Some(message) => Err(message),
            None => source.build(&fetched).map_err(|e| e.to_string()),
        };
        match lut {
            Ok(lut) => {
                let lut = Rc::new(lut);
                built.push((source, lut.clone()));
                out.push(Ok(Some(lut)));
            }
            Err(message) => {
                dom::log(&format!("palette of {}: {message}", info.sop_instance_uid));
                out.push(Err(format!("{}: {message}", tr("error.decode"))));
            }
        }
    }
    out
}

/// The bytes of one bulk data value (WADO-RS answers with one part).
async fn fetch_bulk(uri: &str) -> Result<Vec<u8>, String> {
    let fetched = net::get_bytes(uri, "multipart/related; type=\"application/octet-stream\"")
        .await
        .map_err(|e| net_message(&e))?;
    let body = js_sys::Uint8Array::new(&fetched.body).to_vec();
    let parts = crate::multipart::split(&fetched.content_type, &body).map_err(|e| e.to_string())?;
    let part = parts
        .first()
        .ok_or_else(|| "the server's bulk data response is empty".to_owned())?;
    Ok(body[part.body.clone()].to_vec())
}

fn loaded_series(
    shared: &Shared,
    entry: &SeriesEntry,
    layout: SeriesLayout,
    palettes: Vec<Result<Option<Rc<PaletteLut>>, String>>,
) -> LoadedSeries {
    let accept: Vec<String> = layout
        .instances
        .iter()
        .map(|i| {
            accept_for(
                i.available_transfer_syntax.as_deref(),
                viewer_codecs::can_decode,
            )
        })
        .collect();
    let descriptors = layout
        .instances
        .iter()
        .map(|i| {
            let d = viewer_codecs::FrameDescriptor {
                rows: i.rows as u16,
                columns: i.columns as u16,
                samples_per_pixel: i.samples_per_pixel,
                bits_allocated: i.bits_allocated,
                bits_stored: i.bits_stored,
                pixel_representation: i.pixel_representation,
                photometric: i.photometric.as_str().to_owned(),
                planar_configuration: i.planar_configuration,
            };
            serde_json::to_string(&d).unwrap_or_default()
        })
        .collect();
    let planes = layout.planes();
    let slices = layout.slices.iter().map(|_| SliceState::Missing).collect();
    let streamable = layout.slices.len() == layout.instances.len()
        && layout.instances.iter().all(|i| i.number_of_frames == 1);
    let mut v = shared.borrow_mut();
    v.next_series_key += 1;
    LoadedSeries {
        study_uid: entry.study_uid.clone(),
        series_uid: entry.series_uid.clone(),
        layout,
        slices,
        accept,
        descriptors,
        palettes,
        planes,
        done: 0,
        closed: false,
        loaded_marked: false,
        key: v.next_series_key,
        streamable,
        requested: 0,
        sample: Default::default(),
        streaming: false,
    }
}

/// A palette image's decoded indices as colours.
fn through_palette(decoded: Decoded, palette: &PaletteLut) -> Decoded {
    let pixels = decoded.pixels.through_palette(palette);
    let (min, max) = pixels.range();
    Decoded { pixels, min, max }
}

/// Marks `series` closed and frees its textures when no viewport shows it.
pub fn close_if_hidden(v: &mut super::state::Viewer, series: &Rc<RefCell<LoadedSeries>>) {
    if v.is_shown(series) {
        return;
    }
    let key = {
        let mut s = series.borrow_mut();
        s.closed = true;
        // The stored values go with it; only the metadata stays until the
        // last in-flight answer is dropped.
        for slice in &mut s.slices {
            *slice = SliceState::Missing;
        }
        s.key
    };
    let renderer = v.renderer.as_mut();
    v.textures.release_series(renderer, key);
}

/// Starts frame requests until [`MAX_IN_FLIGHT`] are under way: for each
/// shown series (the active viewport's first), the missing slice nearest
/// the one on screen.
pub fn pump(shared: &Shared) {
    loop {
        let job = {
            let mut v = shared.borrow_mut();
            // Until the first slice has arrived its request travels alone:
            // on a slow link it would otherwise share the bandwidth with
            // five others and arrive six times later.
            let first_pending = !v.first_image_marked
                && !v.first_failed
                && v.panes[0].series.as_ref().is_some_and(|s| {
                    matches!(
                        s.borrow().slices.get(v.panes[0].stack.index()),
                        Some(SliceState::Missing | SliceState::InFlight)
                    )
                });
            let limit = if first_pending { 1 } else { MAX_IN_FLIGHT };
            if v.in_flight >= limit || v.decoding >= MAX_DECODING {
                return;
            }
            let count = v.layout.count().min(v.panes.len());
            let mut order: Vec<usize> = (0..count).collect();
            order.sort_by_key(|&i| i != v.active);
            let mut job = None;
            for i in order {
                let pane = &v.panes[i];
                let Some(series) = pane.series.clone() else {
                    continue;
                };
                let next = {
                    let s = series.borrow();
                    // A reformat needs every slice; start from the middle.
                    let current = if pane.mpr.is_some() {
                        s.len() / 2
                    } else {
                        pane.stack.index()
                    };
                    next_to_fetch(
                        current,
                        |k| matches!(s.slices[k], SliceState::Missing),
                        s.len(),
                    )
                };
                if let Some(index) = next {
                    job = Some((series, index));
                    break;
                }
            }
            let Some((series, index)) = job else { return };
            series.borrow_mut().slices[index] = SliceState::InFlight;
            v.in_flight += 1;
            (series, index)
        };
        let shared = shared.clone();
        wasm_bindgen_futures::spawn_local(async move {
            fetch_slice(&shared, job.0, job.1).await;
            pump(&shared);
        });
    }
}

/// Fetches `url`, sending the request again while it fails in a way that
/// may pass ([`NetError::is_transient`]: the link dropped, the server is
/// restarting) and the series is still open, after the waits of
/// [`crate::retry`]. The page says meanwhile that the connection was
/// lost. The request keeps its place among those in flight while it
/// waits, so an outage does not turn into a burst of requests.
async fn fetch_retrying(
    shared: &Shared,
    series: &Rc<RefCell<LoadedSeries>>,
    url: &str,
    accept: &str,
) -> Result<net::Fetched, NetError> {
    let again = |answer: &Result<net::Fetched, NetError>| {
        let lost = net::transient(answer) && !series.borrow().closed;
        let changed = {
            let mut v = shared.borrow_mut();
            std::mem::replace(&mut v.link_lost, lost) != lost
        };
        if changed {
            force_progress(shared);
            // The note over a slice still on its way says why.
            super::draw::request_redraw(shared);
        }
        lost
    };
    net::retrying(url, async || net::get_bytes(url, accept).await, again).await
}

/// Writes the loading progress now, not at its usual pace.
fn force_progress(shared: &Shared) {
    shared.borrow_mut().progress_shown_at = f64::NEG_INFINITY;
    update_progress(shared);
}

/// Fetches and decodes one slice, retrying once uncompressed when the
/// browser's decoders cannot handle the stored syntax. The request holds
/// one of the [`MAX_IN_FLIGHT`] network places only until its body has
/// arrived, so the next request goes out while the workers decode.
async fn fetch_slice(shared: &Shared, series: Rc<RefCell<LoadedSeries>>, index: usize) {
    let decoder = shared.borrow().decoder.clone();
    let mut outcome = Err(tr("error.decode"));
    for attempt in 0..2 {
        if attempt > 0 {
            shared.borrow_mut().in_flight += 1;
        }
        let (url, accept, descriptor, instance, frame_bytes) = {
            let s = series.borrow();
            let slice = s.layout.slices[index];
            let info = &s.layout.instances[slice.instance];
            (
                frame_url(
                    DICOMWEB,
                    &info.study_instance_uid,
                    &info.series_instance_uid,
                    &info.sop_instance_uid,
                    slice.frame,
                ),
                s.accept[slice.instance].clone(),
                s.descriptors[slice.instance].clone(),
                slice.instance,
                info.frame_bytes(),
            )
        };
        // Every request but the series' first (which also waits for the
        // server to open the series) tells how fast the link is.
        let sampled = {
            let mut s = series.borrow_mut();
            s.requested += 1;
            let sampled = s.requested > 1;
            if sampled {
                s.sample.begin(dom::now_ms());
            }
            sampled
        };
        let fetched = fetch_retrying(shared, &series, &url, &accept).await;
        if sampled {
            let arrived = fetched.as_ref().ok().map(|f| (f.url.as_str(), frame_bytes));
            sample_link(shared, &series, arrived);
        }
        {
            let mut v = shared.borrow_mut();
            v.in_flight -= 1;
            v.decoding += 1;
        }
        pump(shared);
        let decoded = match fetched {
            Ok(fetched) => {
                decoder
                    .decode(&fetched.content_type, &accept, fetched.body, &descriptor)
                    .await
            }
            Err(error) => {
                shared.borrow_mut().decoding -= 1;
                outcome = Err(net_message(&error));
                break;
            }
        };
        shared.borrow_mut().decoding -= 1;
        match decoded {
            Ok(decoded) => {
                outcome = Ok(decoded);
                break;
            }
            Err(DecodeFailure::NeedsServer(_)) if attempt == 0 => {
                series.borrow_mut().accept[instance] = accept_uncompressed();
            }
            Err(failure) => {
                dom::log(&format!("frame {url}: {}", failure.message()));
                outcome = Err(format!("{}: {}", tr("error.decode"), failure.message()));
                break;
            }
        }
    }
    settle(shared, &series, index, outcome);
}

/// Counts a request of the series' own that has just ended (with a frame
/// of `bytes` from `url` when it succeeded) in its sample of the link, and
/// once the sample says the link is fast, starts fetching the rest of the
/// series in one request ([`stream_rest`]).
fn sample_link(
    shared: &Shared,
    series: &Rc<RefCell<LoadedSeries>>,
    arrived: Option<(&str, usize)>,
) {
    let start = {
        let mut s = series.borrow_mut();
        let now = dom::now_ms();
        // When the bytes were in, not when the page got round to them.
        let end = arrived
            .and_then(|(url, _)| dom::response_end_ms(url))
            .map_or(now, |end| end.min(now));
        let bytes = arrived.map(|(_, bytes)| bytes);
        s.sample.end(end, bytes);
        // One request asks in one syntax: every instance must be wanted in
        // the same (stored the same, or all uncompressed).
        let one_syntax = s.accept.windows(2).all(|pair| pair[0] == pair[1]);
        if bytes.is_none() || !s.streamable || !one_syntax || s.streaming || s.closed {
            return;
        }
        let remaining = s
            .slices
            .iter()
            .filter(|x| matches!(x, SliceState::Missing))
            .count();
        let start = stream_the_rest(&s.sample, remaining, now);
        s.streaming = start;
        start
    };
    if start {
        let (shared, series) = (shared.clone(), series.clone());
        wasm_bindgen_futures::spawn_local(async move { stream_rest(shared, series).await });
    }
}

/// Fetches every slice of `series` not yet asked for in one series-level
/// WADO-RS request for its pixel data, in the syntax its slices are asked
/// for one by one (as stored when the browser decodes it, else
/// uncompressed), decoding each instance's part as it arrives. The request holds one of the network places. What it does
/// not bring (the link broke, the server left an instance out) goes back
/// to one request per slice, with their retries.
async fn stream_rest(shared: Shared, series: Rc<RefCell<LoadedSeries>>) {
    let (url, accept, mut wanted) = {
        let mut s = series.borrow_mut();
        let mut wanted = std::collections::HashMap::new();
        for index in 0..s.len() {
            if matches!(s.slices[index], SliceState::Missing) {
                let instance = s.layout.slices[index].instance;
                let uid = s.layout.instances[instance].sop_instance_uid.clone();
                wanted.insert(uid, index);
                s.slices[index] = SliceState::InFlight;
            }
        }
        let accept = s
            .accept
            .first()
            .cloned()
            .unwrap_or_else(accept_uncompressed);
        (
            series_url(DICOMWEB, &s.study_uid, &s.series_uid),
            accept,
            wanted,
        )
    };
    shared.borrow_mut().in_flight += 1;
    let read = read_stream(&shared, &series, &url, &accept, &mut wanted).await;
    shared.borrow_mut().in_flight -= 1;
    if let Err(message) = read {
        dom::log(&format!("{url}: {message}; the rest one slice at a time"));
    }
    {
        let mut s = series.borrow_mut();
        for index in wanted.into_values() {
            if matches!(s.slices[index], SliceState::InFlight) {
                s.slices[index] = SliceState::Missing;
            }
        }
    }
    pump(&shared);
}

/// Reads the series' pixel data part by part, handing each wanted
/// instance's part to the decoders (at most [`MAX_DECODING`] at once:
/// the body is read no faster than they decode).
async fn read_stream(
    shared: &Shared,
    series: &Rc<RefCell<LoadedSeries>>,
    url: &str,
    accept: &str,
    wanted: &mut std::collections::HashMap<String, usize>,
) -> Result<(), String> {
    let (content_type, body) = net::get_stream(url, accept)
        .await
        .map_err(|e| e.to_string())?;
    let mut reader = PartReader::new(&content_type).map_err(|e| e.to_string())?;
    loop {
        if series.borrow().closed {
            body.cancel();
            return Ok(());
        }
        let Some(chunk) = body.next().await.map_err(|e| e.to_string())? else {
            break;
        };
        for part in reader.push(&chunk).map_err(|e| e.to_string())? {
            let index = part
                .content_location
                .as_deref()
                .and_then(instance_of_location)
                .and_then(|uid| wanted.remove(uid));
            let Some(index) = index else { continue };
            while shared.borrow().decoding >= MAX_DECODING {
                dom::sleep(2).await;
            }
            shared.borrow_mut().decoding += 1;
            let (shared, series) = (shared.clone(), series.clone());
            wasm_bindgen_futures::spawn_local(async move {
                decode_part(&shared, &series, index, part).await;
            });
        }
    }
    if reader.is_complete() {
        Ok(())
    } else {
        Err("the series' pixel data ended early".into())
    }
}

/// Decodes one instance's part of the series' pixel data into slice
/// `index`.
async fn decode_part(
    shared: &Shared,
    series: &Rc<RefCell<LoadedSeries>>,
    index: usize,
    part: OwnedPart,
) {
    let decoder = shared.borrow().decoder.clone();
    let (accept, descriptor) = {
        let s = series.borrow();
        let instance = s.layout.slices[index].instance;
        (s.accept[instance].clone(), s.descriptors[instance].clone())
    };
    let content_type = part
        .content_type
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let body = js_sys::Uint8Array::from(part.body.as_slice()).buffer();
    let decoded = decoder
        .decode(&content_type, &accept, body, &descriptor)
        .await;
    shared.borrow_mut().decoding -= 1;
    let outcome = decoded.map_err(|failure| {
        dom::log(&format!("slice {index}: {}", failure.message()));
        format!("{}: {}", tr("error.decode"), failure.message())
    });
    settle(shared, series, index, outcome);
    pump(shared);
}

/// Stores what became of slice `index` (its pixels through the series'
/// palette, or why it failed), then marks the series loaded, redraws or
/// fails the page as that calls for.
fn settle(
    shared: &Shared,
    series: &Rc<RefCell<LoadedSeries>>,
    index: usize,
    outcome: Result<Decoded, String>,
) {
    let all_done = {
        let mut s = series.borrow_mut();
        if s.closed {
            return;
        }
        let instance = s.layout.slices[index].instance;
        let outcome = match (outcome, &s.palettes[instance]) {
            (Ok(decoded), Ok(Some(palette))) => Ok(through_palette(decoded, palette)),
            (Ok(_), Err(message)) => Err(message.clone()),
            (outcome, _) => outcome,
        };
        s.slices[index] = match outcome {
            Ok(decoded) => SliceState::Ready(decoded),
            Err(message) => SliceState::Failed(message),
        };
        s.done += 1;
        let all = s.done == s.len() && !s.loaded_marked;
        if all {
            s.loaded_marked = true;
        }
        all
    };
    if all_done {
        dom::mark("pacs:series-loaded");
        strip::load_thumbnails(shared);
        // Reformats wait for the whole series.
        request_redraw(shared);
    }
    update_progress(shared);
    let failed_first = {
        let v = shared.borrow();
        let s = series.borrow();
        !v.first_image_marked
            && matches!(s.slices[index], SliceState::Failed(_))
            && v.panes[0]
                .series
                .as_ref()
                .is_some_and(|p| Rc::ptr_eq(p, series))
            && v.panes[0].stack.index() == index
    };
    if failed_first {
        // Nothing could be shown: the page has failed, and says why in the
        // viewport.
        shared.borrow_mut().first_failed = true;
        dom::set_root_data("state", "error");
        strip::load_thumbnails(shared);
    }
    let visible = {
        let v = shared.borrow();
        v.panes.iter().take(v.layout.count()).any(|p| {
            p.series.as_ref().is_some_and(|s| Rc::ptr_eq(s, series)) && p.stack.index() == index
        })
    };
    if visible {
        if !shared.borrow().first_image_marked {
            dom::mark("pacs:first-slice-decoded");
        }
        request_redraw(shared);
    }
}
