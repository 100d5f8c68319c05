//! Anatomical CT phantoms in Hounsfield units.
//!
//! Coordinates are patient-based millimetres in the DICOM LPS frame of the
//! image plane: `x` grows toward the patient's left, `y` toward the back.
//! `t` is the relative position along the scan, 0 at the first (most
//! superior) slice and 1 at the last. Shapes are analytic, so any matrix
//! size and pixel spacing sample the same anatomy.

use std::f64::consts::PI;

/// Hounsfield units of the tissues the phantoms are made of.
pub mod hu {
    /// Air outside the patient.
    pub const AIR: f32 = -1000.0;
    /// Aerated lung parenchyma.
    pub const LUNG: f32 = -850.0;
    /// Subcutaneous fat.
    pub const FAT: f32 = -100.0;
    /// Muscle and other soft tissue.
    pub const SOFT_TISSUE: f32 = 40.0;
    /// Blood in the heart and great vessels.
    pub const BLOOD: f32 = 45.0;
    /// Cerebrospinal fluid.
    pub const CSF: f32 = 8.0;
    /// Cortical grey matter.
    pub const GREY_MATTER: f32 = 38.0;
    /// White matter.
    pub const WHITE_MATTER: f32 = 28.0;
    /// Cancellous (trabecular) bone of vertebral bodies.
    pub const CANCELLOUS_BONE: f32 = 700.0;
    /// Cortical bone of ribs and vertebral arches.
    pub const CORTICAL_BONE: f32 = 1000.0;
    /// Skull cortical bone.
    pub const SKULL: f32 = 1200.0;
}

/// An axis-aligned ellipse (or circle) test.
#[derive(Clone, Copy)]
struct Ellipse {
    cx: f64,
    cy: f64,
    ia2: f64,
    ib2: f64,
}

impl Ellipse {
    fn new(cx: f64, cy: f64, a: f64, b: f64) -> Ellipse {
        let a = a.max(1e-3);
        let b = b.max(1e-3);
        Ellipse {
            cx,
            cy,
            ia2: 1.0 / (a * a),
            ib2: 1.0 / (b * b),
        }
    }

    /// Normalised squared radius: ≤ 1 inside.
    #[inline]
    fn q(&self, x: f64, y: f64) -> f64 {
        let dx = x - self.cx;
        let dy = y - self.cy;
        dx * dx * self.ia2 + dy * dy * self.ib2
    }

    #[inline]
    fn contains(&self, x: f64, y: f64) -> bool {
        self.q(x, y) <= 1.0
    }
}

/// Which anatomy a CT phantom shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CtRegion {
    /// Thorax: body, fat rim, lungs, heart, aorta, spine, ribs, sternum.
    #[default]
    Chest,
    /// Head: scalp, skull, grey and white matter, ventricles, orbits.
    Head,
}

/// One axial slice of a phantom, ready to be sampled.
// Built once per slice and sampled per pixel: boxing would only add an indirection.
#[allow(clippy::large_enum_variant)]
pub(crate) enum SliceModel {
    Chest(ChestSlice),
    Head(HeadSlice),
}

impl SliceModel {
    pub(crate) fn new(region: CtRegion, t: f64) -> SliceModel {
        let t = t.clamp(0.0, 1.0);
        match region {
            CtRegion::Chest => SliceModel::Chest(ChestSlice::new(t)),
            CtRegion::Head => SliceModel::Head(HeadSlice::new(t)),
        }
    }

    /// Noise-free attenuation at `(x, y)` in HU.
    #[inline]
    pub(crate) fn hu(&self, x: f64, y: f64) -> f32 {
        match self {
            SliceModel::Chest(c) => c.hu(x, y),
            SliceModel::Head(h) => h.hu(x, y),
        }
    }
}

/// Relative lung cross-section along the thorax: small at the apices,
/// largest mid-chest, vanishing under the diaphragm domes.
pub fn lung_scale(t: f64) -> f64 {
    (PI * (0.08 + 0.9 * t)).sin().max(0.0).powf(0.7)
}

const RIBS_PER_SIDE: usize = 9;

pub(crate) struct ChestSlice {
    body: Ellipse,
    fat_inner: Ellipse,
    lungs: Option<[Ellipse; 2]>,
    heart: Option<Ellipse>,
    aorta: Ellipse,
    vertebral_body: Ellipse,
    vertebral_body_core: Ellipse,
    canal: Ellipse,
    arch: Ellipse,
    sternum: Option<Ellipse>,
    rib_ring: Option<(Ellipse, f64, f64)>,
    rib_angles: [f64; 2 * RIBS_PER_SIDE],
}

impl ChestSlice {
    fn new(t: f64) -> ChestSlice {
        let w = 0.92 + 0.08 * (PI * t).sin();
        let (a, b) = (165.0 * w, 115.0 * w);
        let s = lung_scale(t);
        let lungs = (s > 0.05).then(|| {
            [
                Ellipse::new(-72.0, -5.0, 52.0 * s, 78.0 * s),
                Ellipse::new(72.0, -5.0, 50.0 * s, 76.0 * s),
            ]
        });
        let heart_presence =
            ((t - 0.35) / 0.15).clamp(0.0, 1.0) * ((0.97 - t) / 0.12).clamp(0.0, 1.0);
        let heart = (heart_presence > 0.05)
            .then(|| Ellipse::new(22.0, -28.0, 52.0 * heart_presence, 44.0 * heart_presence));
        let sternum = (0.12..0.75)
            .contains(&t)
            .then(|| Ellipse::new(0.0, -b + 16.0, 15.0, 7.0));
        let rib_ring = (t < 0.9).then(|| {
            (
                Ellipse::new(0.0, 0.0, a - 20.0, b - 16.0),
                a - 20.0,
                b - 16.0,
            )
        });
        // Ribs spread around the thorax, leaving the sternum (front, -y)
        // and the spine (back, +y) free.
        let mut rib_angles = [0.0; 2 * RIBS_PER_SIDE];
        for (k, ang) in rib_angles.iter_mut().enumerate() {
            let i = (k % RIBS_PER_SIDE) as f64;
            let frac = (i + 0.5) / RIBS_PER_SIDE as f64;
            // From -75° (front) through 0° (side) to +70° (back) on the left;
            // mirrored to the right.
            let theta = (-75.0 + 145.0 * frac).to_radians();
            *ang = if k < RIBS_PER_SIDE { theta } else { PI - theta };
        }
        ChestSlice {
            body: Ellipse::new(0.0, 0.0, a, b),
            fat_inner: Ellipse::new(0.0, 0.0, a - 14.0, b - 11.0),
            lungs,
            heart,
            aorta: Ellipse::new(20.0, 48.0, 12.0, 12.0),
            vertebral_body: Ellipse::new(0.0, 72.0, 19.0, 17.0),
            vertebral_body_core: Ellipse::new(0.0, 72.0, 16.5, 14.5),
            canal: Ellipse::new(0.0, 99.0, 8.0, 7.5),
            arch: Ellipse::new(0.0, 100.0, 15.0, 14.0),
            sternum,
            rib_ring,
            rib_angles,
        }
    }

    #[inline]
    fn hu(&self, x: f64, y: f64) -> f32 {
        if !self.body.contains(x, y) {
            return hu::AIR;
        }
        if let Some(b) = self.bone(x, y) {
            return b;
        }
        if !self.fat_inner.contains(x, y) {
            return hu::FAT;
        }
        if let Some(h) = &self.heart
            && h.contains(x, y)
        {
            return hu::BLOOD;
        }
        if self.aorta.contains(x, y) {
            return hu::BLOOD;
        }
        if let Some([l, r]) = &self.lungs
            && (l.contains(x, y) || r.contains(x, y))
        {
            return hu::LUNG;
        }
        hu::SOFT_TISSUE
    }

    #[inline]
    fn bone(&self, x: f64, y: f64) -> Option<f32> {
        if x.abs() < 20.0 && y > 50.0 {
            if self.vertebral_body.contains(x, y) {
                return Some(if self.vertebral_body_core.contains(x, y) {
                    hu::CANCELLOUS_BONE
                } else {
                    hu::CORTICAL_BONE
                });
            }
            if self.canal.contains(x, y) {
                return Some(hu::CSF);
            }
            if self.arch.contains(x, y) && y > 92.0 {
                return Some(hu::CORTICAL_BONE - 100.0);
            }
            if x.abs() < 4.0 && (112.0..134.0).contains(&y) {
                return Some(hu::CORTICAL_BONE - 100.0);
            }
        }
        if let Some(s) = &self.sternum
            && s.contains(x, y)
        {
            return Some(hu::CANCELLOUS_BONE);
        }
        if let Some((ring, a, b)) = &self.rib_ring {
            let q = ring.q(x, y);
            if (0.8..1.2).contains(&q) {
                let theta = (y / b).atan2(x / a);
                for (k, ang) in self.rib_angles.iter().enumerate() {
                    let mut d = (theta - ang).abs();
                    if d > PI {
                        d = 2.0 * PI - d;
                    }
                    if d < 0.12 {
                        let (rx, ry) = (ang.cos() * a, ang.sin() * b);
                        let r = if k % 2 == 0 { 6.0 } else { 5.5 };
                        let rib = Ellipse::new(rx, ry, r, r * 0.75);
                        if rib.contains(x, y) {
                            return Some(hu::CORTICAL_BONE - 150.0);
                        }
                    }
                }
            }
        }
        None
    }
}

pub(crate) struct HeadSlice {
    scalp: Ellipse,
    skull_outer: Ellipse,
    skull_inner: Ellipse,
    white: Ellipse,
    ventricles: Option<[Ellipse; 2]>,
    orbits: Option<[Ellipse; 2]>,
}

impl HeadSlice {
    fn new(t: f64) -> HeadSlice {
        let s = (1.0 - ((t - 0.6) / 0.62).powi(2)).max(0.06).sqrt();
        let (a, b) = (75.0 * s, 95.0 * s);
        let v = (1.0 - ((t - 0.5) / 0.15).powi(2)).max(0.0);
        let ventricles = (v > 0.05).then(|| {
            [
                Ellipse::new(-9.0, -4.0, 5.0 * v + 1.0, 22.0 * v + 2.0),
                Ellipse::new(9.0, -4.0, 5.0 * v + 1.0, 22.0 * v + 2.0),
            ]
        });
        let orbits = (0.72..0.92).contains(&t).then(|| {
            [
                Ellipse::new(-30.0, -b + 22.0, 12.0, 12.0),
                Ellipse::new(30.0, -b + 22.0, 12.0, 12.0),
            ]
        });
        HeadSlice {
            scalp: Ellipse::new(0.0, 0.0, a, b),
            skull_outer: Ellipse::new(0.0, 0.0, a - 4.0, b - 4.0),
            skull_inner: Ellipse::new(0.0, 0.0, a - 11.0, b - 11.0),
            white: Ellipse::new(0.0, 0.0, (a - 11.0) * 0.72, (b - 11.0) * 0.75),
            ventricles,
            orbits,
        }
    }

    #[inline]
    fn hu(&self, x: f64, y: f64) -> f32 {
        if !self.scalp.contains(x, y) {
            return hu::AIR;
        }
        if let Some([l, r]) = &self.orbits
            && (l.contains(x, y) || r.contains(x, y))
        {
            return hu::CSF + 2.0;
        }
        if !self.skull_outer.contains(x, y) {
            return hu::SOFT_TISSUE - 10.0;
        }
        if !self.skull_inner.contains(x, y) {
            return hu::SKULL;
        }
        if let Some([l, r]) = &self.ventricles
            && (l.contains(x, y) || r.contains(x, y))
        {
            return hu::CSF;
        }
        if self.white.contains(x, y) {
            hu::WHITE_MATTER
        } else {
            hu::GREY_MATTER
        }
    }
}
