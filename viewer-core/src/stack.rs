//! Moving through a stack of slices: scrolling, cine playback and linking
//! two stacks side by side.

use crate::geometry::ImagePlane;

/// The position in a stack of `len` slices (or frames).
///
/// Invariant: `index < len`, or `index == 0` when the stack is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stack {
    index: usize,
    len: usize,
}

impl Stack {
    /// A stack of `len` slices, at the first.
    pub fn new(len: usize) -> Stack {
        Stack { index: 0, len }
    }

    pub fn index(&self) -> usize {
        self.index
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Moves by `delta` slices (negative: back), stopping at either end.
    /// Returns whether the index changed, so the caller can skip a redraw.
    pub fn scroll_by(&mut self, delta: i64) -> bool {
        let target = i64::try_from(self.index)
            .unwrap_or(i64::MAX)
            .saturating_add(delta);
        self.jump_to(usize::try_from(target.max(0)).unwrap_or(usize::MAX))
    }

    /// Goes to slice `index`, clamped to the stack. Returns whether the
    /// index changed.
    pub fn jump_to(&mut self, index: usize) -> bool {
        let clamped = index.min(self.len.saturating_sub(1));
        let changed = clamped != self.index;
        self.index = clamped;
        changed
    }

    /// Changes the length (more slices arrived, or fewer), keeping the
    /// index where it is if it still exists.
    pub fn set_len(&mut self, len: usize) {
        self.len = len;
        self.index = self.index.min(len.saturating_sub(1));
    }
}

/// What cine does at the end of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CineMode {
    /// Back to the first slice.
    #[default]
    Loop,
    /// Back and forth: 0, 1, …, n−1, n−2, …, 1, 0, 1, …
    Bounce,
}

/// Cine playback settings.
///
/// Playback is a pure function of the time since it started
/// ([`Cine::frame_at`]), so a late animation frame never drifts the
/// sequence and tests need no clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cine {
    fps: u32,
    pub playing: bool,
    pub mode: CineMode,
}

impl Default for Cine {
    fn default() -> Cine {
        Cine::new(Cine::DEFAULT_FPS)
    }
}

impl Cine {
    pub const MIN_FPS: u32 = 1;
    pub const MAX_FPS: u32 = 60;
    pub const DEFAULT_FPS: u32 = 15;

    /// Stopped, looping, at `fps` (clamped to 1..=60).
    pub fn new(fps: u32) -> Cine {
        Cine {
            fps: fps.clamp(Cine::MIN_FPS, Cine::MAX_FPS),
            playing: false,
            mode: CineMode::Loop,
        }
    }

    /// Frames per second, always within 1..=60.
    pub fn fps(&self) -> u32 {
        self.fps
    }

    pub fn set_fps(&mut self, fps: u32) {
        self.fps = fps.clamp(Cine::MIN_FPS, Cine::MAX_FPS);
    }

    /// The slice to show `elapsed_ms` after playback started at
    /// `start_index` in a stack of `len`: step `⌊elapsed_ms · fps / 1000⌋`
    /// slices on, wrapping (Loop) or reflecting (Bounce) at the ends.
    /// Negative or NaN elapsed time counts as zero.
    pub fn frame_at(&self, elapsed_ms: f64, start_index: usize, len: usize) -> usize {
        if len <= 1 {
            return 0;
        }
        let start = start_index.min(len - 1) as u64;
        // A millionth of a frame absorbs rounding in elapsed_ms·fps/1000.
        let frames = elapsed_ms * f64::from(self.fps) / 1000.0 + 1e-6;
        let steps = if frames.is_finite() && frames > 0.0 {
            frames.floor() as u64
        } else {
            0
        };
        let len = len as u64;
        let position = match self.mode {
            CineMode::Loop => (start + steps % len) % len,
            CineMode::Bounce => {
                // One period runs up from 0 to len−1 and back down to 1.
                let period = 2 * (len - 1);
                let phase = (start + steps % period) % period;
                if phase < len { phase } else { period - phase }
            }
        };
        position as usize
    }
}

/// The slice of `to` nearest to slice `index` of `from`, both sorted, by
/// position along `to`'s normal: a prior study scrolled beside the current
/// one shows the same anatomy level (when both share a frame of reference
/// or are registered). `index` is clamped to `from`; an empty `from` or
/// `to` gives 0.
pub fn linked_index(from: &[ImagePlane], index: usize, to: &[ImagePlane]) -> usize {
    linked_index_with_offset(from, index, to, 0.0)
}

/// As [`linked_index`], after shifting `from`'s position by `offset_mm`
/// along `to`'s normal: for two studies in different frames of reference,
/// the offset the reader set by aligning one pair of slices by eye.
pub fn linked_index_with_offset(
    from: &[ImagePlane],
    index: usize,
    to: &[ImagePlane],
    offset_mm: f64,
) -> usize {
    let (Some(source), Some(first)) = (
        from.get(index.min(from.len().saturating_sub(1))),
        to.first(),
    ) else {
        return 0;
    };
    let normal = first.normal();
    let target = source.position.dot(normal) + offset_mm;
    to.iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            let da = (a.position.dot(normal) - target).abs();
            let db = (b.position.dot(normal) - target).abs();
            da.total_cmp(&db)
        })
        .map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Vec3;

    #[test]
    fn scrolling_stops_at_the_ends() {
        let mut s = Stack::new(10);
        assert!(!s.scroll_by(-1));
        assert_eq!(s.index(), 0);
        assert!(s.scroll_by(3));
        assert_eq!(s.index(), 3);
        assert!(s.scroll_by(100));
        assert_eq!(s.index(), 9);
        assert!(!s.scroll_by(1));
        assert!(s.scroll_by(i64::MIN));
        assert_eq!(s.index(), 0);
        assert!(s.jump_to(7));
        assert!(!s.jump_to(7));
        s.jump_to(usize::MAX);
        assert_eq!(s.index(), 9);
    }

    #[test]
    fn an_empty_stack_stays_at_zero_and_grows() {
        let mut s = Stack::new(0);
        s.scroll_by(5);
        assert_eq!((s.index(), s.is_empty()), (0, true));
        s.set_len(4);
        s.jump_to(3);
        s.set_len(2);
        assert_eq!(s.index(), 1);
    }

    #[test]
    fn cine_loops_at_the_frame_rate() {
        let c = Cine::new(10);
        // 10 fps: one slice per 100 ms.
        assert_eq!(c.frame_at(0.0, 2, 5), 2);
        assert_eq!(c.frame_at(99.9, 2, 5), 2);
        assert_eq!(c.frame_at(100.0, 2, 5), 3);
        assert_eq!(c.frame_at(250.0, 2, 5), 4);
        assert_eq!(c.frame_at(300.0, 2, 5), 0);
        // 1 s at 30 fps is exactly 30 steps despite 1000/30 not being exact.
        let c30 = Cine::new(30);
        assert_eq!(c30.frame_at(1000.0, 0, 100), 30);
        assert_eq!(c30.frame_at(3.0 * (1000.0 / 30.0), 0, 100), 3);
        assert_eq!(c.frame_at(-50.0, 1, 5), 1);
        assert_eq!(c.frame_at(f64::NAN, 1, 5), 1);
        assert_eq!(c.frame_at(1e6, 0, 1), 0);
        assert_eq!(c.frame_at(1e6, 0, 0), 0);
    }

    #[test]
    fn cine_bounces_back_and_forth() {
        let c = Cine {
            mode: CineMode::Bounce,
            ..Cine::new(1)
        };
        // 1 fps over 4 slices from slice 1: 1 2 3 2 1 0 1 2 …
        let seq: Vec<usize> = (0..8)
            .map(|s| c.frame_at(f64::from(s) * 1000.0, 1, 4))
            .collect();
        assert_eq!(seq, [1, 2, 3, 2, 1, 0, 1, 2]);
    }

    #[test]
    fn frame_rate_is_clamped() {
        assert_eq!(Cine::new(0).fps(), 1);
        assert_eq!(Cine::new(500).fps(), 60);
        let mut c = Cine::default();
        c.set_fps(24);
        assert_eq!(c.fps(), 24);
    }

    fn axial(z: f64) -> ImagePlane {
        let (x, y) = (Vec3::new(1.0, 0.0, 0.0), Vec3::new(0.0, 1.0, 0.0));
        ImagePlane::new(Vec3::new(0.0, 0.0, z), x, y, (1.0, 1.0), 4, 4).unwrap()
    }

    #[test]
    fn linked_scrolling_finds_the_nearest_level() {
        // Current: 5 mm slices from 0; prior: 2 mm slices from −3.
        let current: Vec<_> = (0..10).map(|i| axial(5.0 * f64::from(i))).collect();
        let prior: Vec<_> = (0..30).map(|i| axial(-3.0 + 2.0 * f64::from(i))).collect();
        // z = 20 lies between −3 + 2·11 = 19 and 21: both 1 mm away; the first wins.
        assert_eq!(linked_index(&current, 4, &prior), 11);
        // z = 25: prior slice 14 is at 25.
        assert_eq!(linked_index(&current, 5, &prior), 14);
        // Beyond the prior's extent: its last slice.
        assert_eq!(linked_index(&current, 9, &prior[..5]), 4);
        // An index past the end is clamped; empty stacks give 0.
        assert_eq!(
            linked_index(&current, 99, &prior),
            linked_index(&current, 9, &prior)
        );
        assert_eq!(linked_index(&[], 0, &prior), 0);
        assert_eq!(linked_index(&current, 0, &[]), 0);
        // With a 10 mm offset, z = 20 reads as 30 → prior slice at 31 or 29: 16.
        assert_eq!(linked_index_with_offset(&current, 4, &prior, 10.0), 16);
    }
}
