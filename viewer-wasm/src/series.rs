//! A series as the viewer shows it: its instances' metadata, the slices in
//! stack order (a multi-frame instance gives one slice per frame), and the
//! order in which slices are fetched.

use viewer_core::dicom_json::Attributes;
use viewer_core::geometry::{ImagePlane, sort_stack_with_instances};
use viewer_core::image::ImageInfo;

/// One displayable slice: frame `frame` (1-based, as WADO-RS counts) of
/// instance `instance` (an index into [`SeriesLayout::instances`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceRef {
    pub instance: usize,
    pub frame: u32,
}

/// Why a series cannot be shown.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeriesError {
    /// The metadata lists no instance with pixel data the viewer reads.
    #[error("the series has no images")]
    NoImages,
}

/// The instances of a series and its slices in display order.
#[derive(Debug, Clone)]
pub struct SeriesLayout {
    pub instances: Vec<ImageInfo>,
    pub slices: Vec<SliceRef>,
    /// Instances whose metadata could not be read, with the reason; shown
    /// to the reader, never silently dropped.
    pub skipped: Vec<String>,
}

impl SeriesLayout {
    /// Reads the series metadata (one DICOM JSON object per instance).
    /// Single-frame instances are ordered by position along their normal
    /// (Instance Number where geometry is missing or not parallel);
    /// multi-frame instances follow by Instance Number, frame by frame.
    pub fn from_metadata(metadata: &[Attributes]) -> Result<SeriesLayout, SeriesError> {
        let mut instances = Vec::new();
        let mut skipped = Vec::new();
        for attributes in metadata {
            match ImageInfo::from_attributes(attributes) {
                Ok(info) => instances.push(info),
                // Objects without pixel data (reports, presentation states)
                // are not images of the series; anything else is a defect
                // the reader should hear about.
                Err(e) => {
                    if attributes.contains(viewer_core::tags::ROWS) {
                        skipped.push(e.to_string());
                    }
                }
            }
        }
        if instances.is_empty() {
            return Err(SeriesError::NoImages);
        }
        let single: Vec<usize> = (0..instances.len())
            .filter(|&i| instances[i].number_of_frames == 1)
            .collect();
        let planes: Vec<Option<ImagePlane>> = single.iter().map(|&i| instances[i].plane).collect();
        let numbers: Vec<Option<i64>> = single
            .iter()
            .map(|&i| instances[i].instance_number)
            .collect();
        let mut slices: Vec<SliceRef> = sort_stack_with_instances(&planes, &numbers)
            .into_iter()
            .map(|k| SliceRef {
                instance: single[k],
                frame: 1,
            })
            .collect();
        let mut multi: Vec<usize> = (0..instances.len())
            .filter(|&i| instances[i].number_of_frames > 1)
            .collect();
        multi.sort_by_key(|&i| {
            (
                instances[i].instance_number.is_none(),
                instances[i].instance_number,
            )
        });
        for i in multi {
            for frame in 1..=instances[i].number_of_frames {
                slices.push(SliceRef { instance: i, frame });
            }
        }
        Ok(SeriesLayout {
            instances,
            slices,
            skipped,
        })
    }

    /// The metadata of slice `index`.
    pub fn info(&self, index: usize) -> Option<&ImageInfo> {
        self.slices.get(index).map(|s| &self.instances[s.instance])
    }

    /// The planes of the slices in display order, when every slice has one
    /// (what linked scrolling and reference lines need).
    pub fn planes(&self) -> Option<Vec<ImagePlane>> {
        self.slices
            .iter()
            .map(|s| self.instances[s.instance].plane)
            .collect()
    }
}

/// Which slice to fetch next: the one nearest the slice on screen that is
/// neither loaded nor in flight (ties go forward, the usual reading
/// direction), so what the reader looks at arrives first and the rest
/// streams in around it.
pub fn next_to_fetch(current: usize, wanted: impl Fn(usize) -> bool, len: usize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    let current = current.min(len - 1);
    for distance in 0..len {
        let ahead = current + distance;
        if ahead < len && wanted(ahead) {
            return Some(ahead);
        }
        if distance > 0 && distance <= current && wanted(current - distance) {
            return Some(current - distance);
        }
    }
    None
}

/// What the first requests of a series, one frame each, showed of the
/// link: frames received, their pixels' bytes uncompressed (what the
/// link brought of the series, whatever the syntax it travelled in), and
/// the milliseconds during which at least one of them was on its way.
///
/// Only that busy time counts: while no request is out the viewer is
/// drawing or decoding, and a laptop busy drawing the first slice says
/// nothing of the link.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkSample {
    pub frames: usize,
    pub bytes: usize,
    /// Busy time of the requests already ended.
    busy_ms: f64,
    /// Requests on their way, and since when one has been.
    open: usize,
    open_since: f64,
}

impl LinkSample {
    /// A request went out at `now` (milliseconds).
    pub fn begin(&mut self, now: f64) {
        if self.open == 0 {
            self.open_since = now;
        }
        self.open += 1;
    }

    /// A request that went out ended at `now`, bringing a frame of
    /// `bytes` when it succeeded.
    pub fn end(&mut self, now: f64, bytes: Option<usize>) {
        if let Some(bytes) = bytes {
            self.frames += 1;
            self.bytes += bytes;
        }
        self.open = self.open.saturating_sub(1);
        if self.open == 0 {
            self.busy_ms += (now - self.open_since).max(0.0);
        }
    }

    /// Milliseconds up to `now` during which a request was on its way.
    pub fn busy_ms(&self, now: f64) -> f64 {
        let running = if self.open > 0 {
            (now - self.open_since).max(0.0)
        } else {
            0.0
        };
        self.busy_ms + running
    }
}

/// Frames fetched one by one before the link is judged.
pub const SAMPLE_FRAMES: usize = 6;

/// From this many bytes per millisecond (10 MB/s, a link of 80 Mbit/s or
/// more) the rest of a series comes in one streamed request.
pub const FAST_LINK_BYTES_PER_MS: f64 = 10_000.0;

/// Fewest slices left for one request to be worth it.
pub const STREAM_MIN_REMAINING: usize = 12;

/// Whether, at `now`, the `remaining` slices of a series should come in
/// one request for the whole series rather than one request each.
///
/// One request per slice costs the browser and the server a few
/// milliseconds each, which on a fast link is most of the time a series
/// takes; on a slow link the bytes are what takes long, and slices
/// requested one by one, nearest the one on screen first, let the reader
/// start while the rest arrive. So the whole-series request is made only
/// when the first frames came fast.
pub fn stream_the_rest(sample: &LinkSample, remaining: usize, now: f64) -> bool {
    let busy = sample.busy_ms(now);
    sample.frames >= SAMPLE_FRAMES
        && remaining >= STREAM_MIN_REMAINING
        && busy > 0.0
        && sample.bytes as f64 / busy >= FAST_LINK_BYTES_PER_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn instance(uid: &str, number: i64, z: f64, frames: Option<u32>) -> Value {
        let mut object = json!({
            "0020000D": {"vr": "UI", "Value": ["1.2"]},
            "0020000E": {"vr": "UI", "Value": ["1.2.3"]},
            "00080018": {"vr": "UI", "Value": [uid]},
            "00200013": {"vr": "IS", "Value": [number]},
            "00280010": {"vr": "US", "Value": [4]},
            "00280011": {"vr": "US", "Value": [4]},
            "00280100": {"vr": "US", "Value": [16]},
            "00200032": {"vr": "DS", "Value": [0, 0, z]},
            "00200037": {"vr": "DS", "Value": [1, 0, 0, 0, 1, 0]},
            "00280030": {"vr": "DS", "Value": [1, 1]}
        });
        if let Some(n) = frames {
            object["00280008"] = json!({"vr": "IS", "Value": [n]});
        }
        object
    }

    fn layout(values: Vec<Value>) -> SeriesLayout {
        let metadata = Attributes::list(Value::Array(values)).unwrap();
        SeriesLayout::from_metadata(&metadata).unwrap()
    }

    #[test]
    fn only_a_fast_link_gets_the_rest_in_one_request() {
        // `frames` slices of 512 KiB, one after the other, at `mb_per_s`.
        let sample = |frames, mb_per_s: f64| {
            let mut sample = LinkSample::default();
            let each = 524_288.0 / (mb_per_s * 1000.0);
            for k in 0..frames {
                let start = k as f64 * each;
                sample.begin(start);
                sample.end(start + each, Some(524_288));
            }
            sample
        };
        let end = 1000.0;
        // Loopback or a gigabit LAN.
        assert!(stream_the_rest(&sample(6, 100.0), 290, end));
        // 100 Mbit/s, a district hospital's link: slice by slice.
        assert!(!stream_the_rest(&sample(6, 9.0), 290, end));
        // Too soon to judge, or too little left.
        assert!(!stream_the_rest(&sample(5, 100.0), 290, end));
        assert!(!stream_the_rest(&sample(6, 100.0), 11, end));
        assert!(!stream_the_rest(&LinkSample::default(), 290, end));
    }

    #[test]
    fn only_time_with_a_request_on_its_way_counts_against_the_link() {
        let mut sample = LinkSample::default();
        // Two requests side by side for 10 ms, each bringing 100 kB.
        sample.begin(0.0);
        sample.begin(2.0);
        sample.end(8.0, Some(100_000));
        sample.end(10.0, Some(100_000));
        assert_eq!(sample.busy_ms(10.0), 10.0);
        // The viewer draws for 500 ms with nothing asked: not the link's.
        sample.begin(510.0);
        assert_eq!(sample.busy_ms(515.0), 15.0);
        // A request that failed still took the link's time.
        sample.end(520.0, None);
        assert_eq!((sample.frames, sample.bytes), (2, 200_000));
        assert_eq!(sample.busy_ms(900.0), 20.0);
    }

    #[test]
    fn slices_follow_the_acquisition_direction() {
        // Instance 1 is at the top (z = 20) and instance 3 at the bottom:
        // ascending z would put instance 3 first, so the order is turned
        // round to keep instance 1 first (the first image a reader expects).
        let series = layout(vec![
            instance("b", 2, 10.0, None),
            instance("c", 3, 0.0, None),
            instance("a", 1, 20.0, None),
        ]);
        let uids: Vec<&str> = (0..3)
            .map(|i| series.info(i).unwrap().sop_instance_uid.as_str())
            .collect();
        assert_eq!(uids, ["a", "b", "c"]);
        assert_eq!(series.planes().map(|p| p.len()), Some(3));
    }

    #[test]
    fn multi_frame_instances_give_one_slice_per_frame() {
        let series = layout(vec![instance("m", 1, 0.0, Some(3))]);
        assert_eq!(
            series.slices,
            vec![
                SliceRef {
                    instance: 0,
                    frame: 1
                },
                SliceRef {
                    instance: 0,
                    frame: 2
                },
                SliceRef {
                    instance: 0,
                    frame: 3
                },
            ]
        );
    }

    #[test]
    fn non_images_are_left_out_and_broken_images_reported() {
        let report = json!({
            "00080018": {"vr": "UI", "Value": ["sr"]},
            "00080060": {"vr": "CS", "Value": ["SR"]}
        });
        let mut broken = instance("x", 2, 0.0, None);
        broken["00280100"] = json!({"vr": "US", "Value": [12]});
        let series = layout(vec![report, broken, instance("a", 1, 0.0, None)]);
        assert_eq!(series.slices.len(), 1);
        assert_eq!(series.skipped.len(), 1);

        let only_report =
            Attributes::list(json!([{"00080018": {"vr": "UI", "Value": ["sr"]}}])).unwrap();
        assert_eq!(
            SeriesLayout::from_metadata(&only_report).unwrap_err(),
            SeriesError::NoImages
        );
    }

    #[test]
    fn fetching_starts_at_the_slice_on_screen_and_spreads_out() {
        let mut loaded = [false; 6];
        let mut order = Vec::new();
        while let Some(i) = next_to_fetch(2, |i| !loaded[i], 6) {
            loaded[i] = true;
            order.push(i);
        }
        // Distance 0, then forward before backward at each distance.
        assert_eq!(order, [2, 3, 1, 4, 0, 5]);
        assert_eq!(next_to_fetch(0, |_| true, 0), None);
        assert_eq!(next_to_fetch(9, |i| i == 0, 3), Some(0));
    }
}
