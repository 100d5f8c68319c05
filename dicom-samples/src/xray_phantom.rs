//! A PA chest radiograph phantom.
//!
//! The phantom is defined on a nominal 350 × 430 mm detector and sampled in
//! normalised image coordinates, so every matrix size shows the whole chest.
//! `X` runs across the image (negative = image left = patient's right, as a
//! PA chest is conventionally displayed), `Y` from the top edge down.
//! Values are relative attenuation along the ray (0 = direct exposure).

/// Nominal detector width in mm.
pub(crate) const NOMINAL_WIDTH_MM: f64 = 350.0;
/// Nominal detector height in mm.
pub(crate) const NOMINAL_HEIGHT_MM: f64 = 430.0;

const RIBS: usize = 10;

#[inline]
fn smoothstep(e0: f64, e1: f64, x: f64) -> f64 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Depth profile of an ellipse: 1 at the centre, 0 at and beyond the edge.
#[inline]
fn ellipse_depth(x: f64, y: f64, cx: f64, cy: f64, a: f64, b: f64) -> f64 {
    let dx = (x - cx) / a;
    let dy = (y - cy) / b;
    let q = dx * dx + dy * dy;
    if q >= 1.0 { 0.0 } else { (1.0 - q).sqrt() }
}

/// Half width of the torso at height `y` (neck, shoulders, chest).
#[inline]
fn torso_half_width(y: f64) -> f64 {
    55.0 + 100.0 * smoothstep(35.0, 115.0, y)
}

/// Which structure dominates a point; used by tests to pick regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChestRegion {
    /// Outside the patient: direct exposure.
    Background,
    /// Lung field away from ribs, heart and clavicles.
    Lung,
    /// Mediastinum / spine column between the lungs.
    Mediastinum,
    /// Any other part of the body.
    OtherBody,
}

/// Relative attenuation at nominal position `(x, y)` mm, and its region.
pub(crate) fn chest_attenuation(x: f64, y: f64) -> (f64, ChestRegion) {
    let hw = torso_half_width(y);
    if y < 0.0 || x.abs() >= hw {
        return (0.0, ChestRegion::Background);
    }
    // soft tissue path through an elliptic cross-section
    let u = x / hw;
    let mut a = (1.0 - u * u).sqrt();
    // abdomen below the diaphragm is thicker
    a += 0.25 * smoothstep(320.0, 400.0, y) * (1.0 - u * u).sqrt();
    // lungs: air replaces tissue
    let right = ellipse_depth(x, y, -72.0, 215.0, 62.0, 135.0);
    let left = ellipse_depth(x, y, 72.0, 222.0, 60.0, 132.0);
    let lung = right.max(left);
    a -= 0.65 * lung;
    // heart shadow, mostly on the patient's left (image right)
    let heart = ellipse_depth(x, y, 22.0, 275.0, 72.0, 62.0);
    a += 0.25 * heart;
    // spine column, with darker intervertebral discs
    let mut bone = false;
    if x.abs() < 18.0 && y > 40.0 {
        let disc = ((y / 26.0) * std::f64::consts::TAU).cos();
        a += 0.2 + 0.03 * disc;
        bone = true;
    }
    // clavicles
    let d = x.abs() - 15.0;
    if (0.0..120.0).contains(&d) {
        let yc = 78.0 - 0.18 * d;
        if (y - yc).abs() < 6.0 {
            a += 0.3;
            bone = true;
        }
    }
    // posterior ribs: arcs from the spine outwards and down
    if d >= 0.0 && d < hw - 30.0 {
        for k in 0..RIBS {
            let y0 = 92.0 + 24.0 * k as f64;
            let yc = y0 - 0.35 * d + 0.0045 * d * d;
            let off = (y - yc).abs();
            if off < 4.5 {
                let r = off / 4.5;
                a += 0.18 + 0.12 * r * r; // brighter cortical edges
                bone = true;
                break;
            }
        }
    }
    let region = if lung > 0.2 && heart == 0.0 && !bone {
        ChestRegion::Lung
    } else if x.abs() < 15.0 && (120.0..300.0).contains(&y) {
        ChestRegion::Mediastinum
    } else {
        ChestRegion::OtherBody
    };
    (a.max(0.0), region)
}
