//! Measurements on a slice: their shapes in image coordinates and the
//! result text shown beside them (length, angle, region statistics), in
//! the reader's language and in calibrated units where the image has a
//! spacing.

use viewer_core::calibration::Calibration;
use viewer_core::i18n::{Lang, t};
use viewer_core::image::ImageInfo;
use viewer_core::measure::{Roi, angle_degrees_calibrated, roi_stats};

use crate::format::trimmed;
use crate::pixels::StoredPixels;

type Point = (f64, f64);

/// A measurement's geometry, in image coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Length { a: Point, b: Point },
    Angle { a: Point, vertex: Point, b: Point },
    Rect { from: Point, to: Point },
    Ellipse { from: Point, to: Point },
}

impl Shape {
    /// The region a rectangle or ellipse encloses.
    pub fn roi(&self) -> Option<Roi> {
        match *self {
            Shape::Rect { from, to } => Some(Roi::Rectangle { from, to }),
            Shape::Ellipse { from, to } => Some(Roi::ellipse_in(from, to)),
            _ => None,
        }
    }

    /// The same shape with every point moved by `f` (image to screen).
    pub fn mapped(&self, f: impl Fn(Point) -> Point) -> Shape {
        match *self {
            Shape::Length { a, b } => Shape::Length { a: f(a), b: f(b) },
            Shape::Angle { a, vertex, b } => Shape::Angle {
                a: f(a),
                vertex: f(vertex),
                b: f(b),
            },
            Shape::Rect { from, to } => Shape::Rect {
                from: f(from),
                to: f(to),
            },
            Shape::Ellipse { from, to } => Shape::Ellipse {
                from: f(from),
                to: f(to),
            },
        }
    }

    /// Where the result text goes, for a shape in screen coordinates (y
    /// down), so that it stays clear of the shape's lines however the
    /// image is rotated or flipped: right of a line's right end, below
    /// and right of a region, and on the side of an angle's vertex away
    /// from both its arms.
    pub fn label_place(&self) -> LabelPlace {
        match *self {
            Shape::Length { a, b } => LabelPlace {
                at: if b.0 >= a.0 { b } else { a },
                leftward: false,
                upward: false,
            },
            Shape::Angle { a, vertex, b } => {
                let unit = |p: Point| {
                    let (dx, dy) = (p.0 - vertex.0, p.1 - vertex.1);
                    let len = dx.hypot(dy);
                    if len > 0.0 {
                        (dx / len, dy / len)
                    } else {
                        (0.0, 0.0)
                    }
                };
                let (ua, ub) = (unit(a), unit(b));
                // Where the arms point, together; the text goes the other way.
                let arms = (ua.0 + ub.0, ua.1 + ub.1);
                LabelPlace {
                    at: vertex,
                    leftward: arms.0 > ARMS_ALONG_AXIS,
                    upward: arms.1 > ARMS_ALONG_AXIS,
                }
            }
            Shape::Rect { from, to } | Shape::Ellipse { from, to } => LabelPlace {
                at: (from.0.max(to.0), from.1.max(to.1)),
                leftward: false,
                upward: false,
            },
        }
    }
}

/// How far an angle's arms must reach, together, to one side of its
/// vertex before its label moves to the other: arms that lie along one
/// axis (an angle near 180°) leave the label below and to the right.
const ARMS_ALONG_AXIS: f64 = 0.05;

/// Where a measurement's result text goes on screen ([`Shape::label_place`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelPlace {
    /// The point of the shape the text is set beside, in screen pixels.
    pub at: Point,
    /// The text ends left of `at` (otherwise it starts right of it).
    pub leftward: bool,
    /// The text's last line is above `at` (otherwise its first is below).
    pub upward: bool,
}

/// A finished measurement on one slice of a viewport's series.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// The slice (index in stack order) it was drawn on; it is shown only
    /// there.
    pub slice: usize,
    pub shape: Shape,
    /// The result, one line per entry.
    pub lines: Vec<String>,
}

/// Modality values of an image's pixels `x0..x1 × y0..y1`, row by row;
/// `None` while they are not all known (a slice still loading). A slice
/// reads them from its decoded values ([`slice_region`]), a reformat
/// samples them from the series' slices.
pub type RegionValues<'a> = dyn Fn((usize, usize, usize, usize)) -> Option<Vec<f32>> + 'a;

/// The modality values of a region of a decoded slice described by `info`.
pub fn slice_region(
    pixels: &StoredPixels,
    info: &ImageInfo,
    region: (usize, usize, usize, usize),
) -> Option<Vec<f32>> {
    let (columns, rows) = (info.columns as usize, info.rows as usize);
    if pixels.pixel_count() != columns * rows {
        return None;
    }
    Some(pixels.modality_region(columns, region, info.rescale_slope, info.rescale_intercept))
}

/// The result lines of `shape` drawn on an image described by `info`,
/// whose modality values `values` gives (regions need them; `None` gives
/// the area alone).
pub fn measure(
    shape: &Shape,
    info: &ImageInfo,
    values: Option<&RegionValues<'_>>,
    lang: Lang,
) -> Vec<String> {
    let calibration = info.calibration;
    let uncalibrated = |text: String| {
        if calibration.spacing().is_some() {
            text
        } else {
            format!("{text} ({})", t(lang, "overlay.uncalibrated"))
        }
    };
    match *shape {
        Shape::Length { a, b } => {
            vec![uncalibrated(calibration.length(a, b).display(lang, 1))]
        }
        Shape::Angle { a, vertex, b } => {
            match angle_degrees_calibrated(a, vertex, b, &calibration) {
                Some(angle) => vec![format!("{}{}", trimmed(angle, 1), t(lang, "unit.degree"))],
                None => Vec::new(),
            }
        }
        Shape::Rect { .. } | Shape::Ellipse { .. } => {
            let Some(roi) = shape.roi() else {
                return Vec::new();
            };
            let area = calibration.area(roi.area_px()).display(lang, 1);
            let area_line = uncalibrated(format!("{} {area}", t(lang, "measure.area")));
            let stats = values.and_then(|v| region_stats(v, info, &roi, &calibration));
            let Some(stats) = stats else {
                return vec![area_line];
            };
            let unit = if info.is_hounsfield() {
                t(lang, "unit.hu")
            } else {
                t(lang, "unit.modality")
            };
            vec![
                format!(
                    "{} {} {unit}, {} {}",
                    t(lang, "measure.mean"),
                    trimmed(stats.mean, 1),
                    t(lang, "measure.sd"),
                    trimmed(stats.std_dev, 1)
                ),
                format!(
                    "{} {}, {} {}",
                    t(lang, "measure.min"),
                    trimmed(stats.min, 1),
                    t(lang, "measure.max"),
                    trimmed(stats.max, 1)
                ),
                area_line,
            ]
        }
    }
}

/// Statistics over the region, computed on the modality values of its
/// bounding box only (the region is shifted by whole pixels, which keeps
/// the same pixel centres inside).
pub fn region_stats(
    values: &RegionValues<'_>,
    info: &ImageInfo,
    roi: &Roi,
    calibration: &Calibration,
) -> Option<viewer_core::measure::RoiStats> {
    let (columns, rows) = (info.columns as usize, info.rows as usize);
    let (bx0, by0, bx1, by1) = roi.bounds();
    if ![bx0, by0, bx1, by1].iter().all(|v| v.is_finite()) {
        return None;
    }
    let clamp = |v: f64, max: usize| (v.max(0.0) as usize).min(max);
    let x0 = clamp(bx0.floor(), columns);
    let y0 = clamp(by0.floor(), rows);
    let x1 = clamp(bx1.ceil(), columns);
    let y1 = clamp(by1.ceil(), rows);
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    let values = values((x0, y0, x1, y1))?;
    if values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let (dx, dy) = (x0 as f64, y0 as f64);
    let shifted = match *roi {
        Roi::Rectangle { from, to } => Roi::Rectangle {
            from: (from.0 - dx, from.1 - dy),
            to: (to.0 - dx, to.1 - dy),
        },
        Roi::Ellipse {
            center,
            radius_x,
            radius_y,
        } => Roi::Ellipse {
            center: (center.0 - dx, center.1 - dy),
            radius_x,
            radius_y,
        },
    };
    roi_stats(&values, x1 - x0, y1 - y0, &shifted, calibration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use viewer_core::dicom_json::Attributes;

    /// A 4×4 CT image (slope 1, intercept −1024), 0.5 mm pixels.
    fn ct_info(spacing: bool) -> ImageInfo {
        let mut json = json!({
            "0020000D": {"vr": "UI", "Value": ["1"]},
            "0020000E": {"vr": "UI", "Value": ["2"]},
            "00080018": {"vr": "UI", "Value": ["3"]},
            "00080060": {"vr": "CS", "Value": ["CT"]},
            "00280010": {"vr": "US", "Value": [4]},
            "00280011": {"vr": "US", "Value": [4]},
            "00280100": {"vr": "US", "Value": [16]},
            "00281052": {"vr": "DS", "Value": [-1024]},
            "00281053": {"vr": "DS", "Value": [1]}
        });
        if spacing {
            json["00280030"] = json!({"vr": "DS", "Value": [0.5, 0.5]});
        }
        ImageInfo::from_attributes(&Attributes::new(json).unwrap()).unwrap()
    }

    #[test]
    fn lengths_are_in_millimetres_or_say_uncalibrated() {
        // 3-4-5 triangle in pixels; at 0.5 mm per pixel, 2.5 mm.
        let shape = Shape::Length {
            a: (0.0, 0.0),
            b: (3.0, 4.0),
        };
        assert_eq!(measure(&shape, &ct_info(true), None, Lang::En), ["2.5 mm"]);
        assert_eq!(
            measure(&shape, &ct_info(false), None, Lang::En),
            ["5.0 px (Uncalibrated)"]
        );
    }

    #[test]
    fn angles_are_in_degrees() {
        let shape = Shape::Angle {
            a: (0.0, 0.0),
            vertex: (1.0, 0.0),
            b: (1.0, 1.0),
        };
        assert_eq!(measure(&shape, &ct_info(true), None, Lang::En), ["90°"]);
    }

    #[test]
    fn rectangle_statistics_are_in_hounsfield_units() {
        // Stored values 1024 + index, so HU = index (0..16). The rectangle
        // from (1, 1) to (3, 3) holds the centres of pixels (1..=2, 1..=2):
        // indices 5, 6, 9, 10 → mean 7.5, population SD 2.061 (deviations
        // ±2.5, ±1.5), min 5, max 10. Area 2×2 px × 0.25 mm² = 1 mm².
        let pixels = StoredPixels::U16((0..16).map(|i| 1024 + i).collect());
        let shape = Shape::Rect {
            from: (3.0, 3.0),
            to: (1.0, 1.0),
        };
        let info = ct_info(true);
        let values = |r| slice_region(&pixels, &info, r);
        let lines = measure(&shape, &info, Some(&values), Lang::En);
        assert_eq!(
            lines,
            ["Mean 7.5 HU, SD 2.1", "Min 5, Max 10", "Area 1.0 mm²"]
        );
    }

    #[test]
    fn an_ellipse_counts_the_pixel_centres_inside() {
        // The ellipse inscribed in (0, 0)–(4, 4): centre (2, 2), radius 2.
        // Centres at distance ≤ 2: the 12 pixels other than the corners.
        let pixels = StoredPixels::U16(vec![1024; 16]);
        let info = ct_info(false);
        let roi = Shape::Ellipse {
            from: (0.0, 0.0),
            to: (4.0, 4.0),
        }
        .roi()
        .unwrap();
        let values = |r| slice_region(&pixels, &info, r);
        let stats = region_stats(&values, &info, &roi, &info.calibration).unwrap();
        assert_eq!(stats.count, 12);
        assert_eq!((stats.mean, stats.min, stats.max), (0.0, 0.0, 0.0));
    }

    #[test]
    fn a_region_of_a_loading_slice_shows_its_area() {
        let shape = Shape::Ellipse {
            from: (0.0, 0.0),
            to: (2.0, 2.0),
        };
        // π × 1 × 1 px² × 0.25 mm² = 0.785 mm².
        assert_eq!(
            measure(&shape, &ct_info(true), None, Lang::En),
            ["Area 0.8 mm²"]
        );
        let rect = Shape::Rect {
            from: (5.0, 1.0),
            to: (2.0, 7.0),
        };
        assert_eq!(rect.label_place().at, (5.0, 7.0));
    }

    /// The label is placed on screen, after rotation and flips: on a
    /// mirrored image, a line's right end on screen is its left end in
    /// the image.
    #[test]
    fn a_label_sits_clear_of_its_shape_as_the_reader_sees_it() {
        let line = Shape::Length {
            a: (10.0, 10.0),
            b: (50.0, 40.0),
        };
        let width = 100.0;
        let mirrored = line.mapped(|(x, y)| (width - x, y));
        assert_eq!(line.label_place().at, (50.0, 40.0));
        assert_eq!(mirrored.label_place().at, (90.0, 10.0));
        assert!(!mirrored.label_place().leftward);

        // Arms down and to the right: the text goes up and to the left.
        let angle = Shape::Angle {
            a: (60.0, 50.0),
            vertex: (50.0, 50.0),
            b: (50.0, 60.0),
        };
        let place = angle.label_place();
        assert_eq!(place.at, (50.0, 50.0));
        assert!(place.leftward && place.upward);
        // Turned a half turn, the arms point up and left: the text goes
        // down and right.
        let turned = angle.mapped(|(x, y)| (100.0 - x, 100.0 - y)).label_place();
        assert!(!turned.leftward && !turned.upward);
        // A straight angle along the screen's x axis: below, as a line's.
        let straight = Shape::Angle {
            a: (40.0, 50.0),
            vertex: (50.0, 50.0),
            b: (60.0, 50.0),
        };
        let place = straight.label_place();
        assert!(!place.leftward && !place.upward);

        // A region drawn from its lower right corner, then turned a
        // quarter turn: the label stays below and right on screen.
        let region = Shape::Ellipse {
            from: (30.0, 30.0),
            to: (10.0, 20.0),
        };
        let quarter = region.mapped(|(x, y)| (100.0 - y, x)).label_place();
        assert_eq!(quarter.at, (80.0, 30.0));
    }
}
