//! Which slices are on the GPU. Decoded slices stay in memory as stored
//! values; only those recently drawn are uploaded, up to a byte budget, so
//! a long series does not hold its whole length twice (CPU and GPU).

use std::collections::VecDeque;

use viewer_render::{GpuImage, ImageId, Renderer, TexelData};

use crate::pixels::StoredPixels;

/// GPU memory the viewer's slice textures may hold.
const BUDGET_BYTES: usize = 256 * 1024 * 1024;

struct Entry {
    series: u64,
    slice: usize,
    id: ImageId,
    bytes: usize,
}

/// Uploaded slices, least recently drawn first.
#[derive(Default)]
pub struct Textures {
    entries: VecDeque<Entry>,
    bytes: usize,
}

impl Textures {
    /// The texture of `slice` of series `series`, uploading it if needed
    /// and evicting the least recently drawn ones over budget (never those
    /// in `keep`, the frame being drawn).
    pub fn get(
        &mut self,
        renderer: &mut Renderer,
        series: u64,
        slice: usize,
        size: (u32, u32),
        pixels: &StoredPixels,
        keep: &[ImageId],
    ) -> Result<ImageId, viewer_render::RenderError> {
        if let Some(pos) = self
            .entries
            .iter()
            .position(|e| e.series == series && e.slice == slice)
            && let Some(entry) = self.entries.remove(pos)
        {
            let id = entry.id;
            self.entries.push_back(entry);
            return Ok(id);
        }
        let image = GpuImage {
            width: size.0,
            height: size.1,
            texels: texels(pixels),
        };
        let id = renderer.upload(&image)?;
        let bytes = match &image.texels {
            TexelData::Rgba8(v) | TexelData::U8(v) => v.len(),
            TexelData::U16(v) => v.len() * 2,
            TexelData::I16(v) => v.len() * 2,
        };
        self.entries.push_back(Entry {
            series,
            slice,
            id,
            bytes,
        });
        self.bytes += bytes;
        while self.bytes > BUDGET_BYTES {
            let Some(pos) = self
                .entries
                .iter()
                .position(|e| !keep.contains(&e.id) && e.id != id)
            else {
                break;
            };
            if let Some(old) = self.entries.remove(pos) {
                renderer.release(old.id);
                self.bytes -= old.bytes;
            }
        }
        Ok(id)
    }

    /// Releases every texture of `series` (it left the screen).
    pub fn release_series(&mut self, renderer: Option<&mut Renderer>, series: u64) {
        let mut renderer = renderer;
        self.entries.retain(|e| {
            if e.series == series {
                if let Some(r) = renderer.as_deref_mut() {
                    r.release(e.id);
                }
                self.bytes -= e.bytes;
                false
            } else {
                true
            }
        });
    }

    /// Forgets every texture without releasing it (its device is gone).
    pub fn forget_all(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Releases everything (the page is being left).
    pub fn release_all(&mut self, renderer: Option<&mut Renderer>) {
        if let Some(r) = renderer {
            for e in &self.entries {
                r.release(e.id);
            }
        }
        self.entries.clear();
        self.bytes = 0;
    }
}

/// Stored values as the renderer takes them; RGB gains an ignored alpha
/// (GPUs have no three-byte texel format).
fn texels(pixels: &StoredPixels) -> TexelData {
    match pixels {
        StoredPixels::U8(v) => TexelData::U8(v.clone()),
        StoredPixels::U16(v) => TexelData::U16(v.clone()),
        StoredPixels::I16(v) => TexelData::I16(v.clone()),
        StoredPixels::Rgb8(v) => {
            let mut rgba = Vec::with_capacity(v.len() / 3 * 4);
            for rgb in v.chunks_exact(3) {
                rgba.extend_from_slice(rgb);
                rgba.push(255);
            }
            TexelData::Rgba8(rgba)
        }
    }
}
