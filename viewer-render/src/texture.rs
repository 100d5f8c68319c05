//! Checking and uploading stored values as integer textures.

use crate::error::RenderError;
use crate::pipelines::Kind;
use crate::types::TexelData;

/// Most bytes written to the GPU in one `write_texture` call while
/// uploading a volume: bounds the staging copy wgpu makes (a 600-slice
/// 512² CT is 300 MiB).
const VOLUME_CHUNK_BYTES: u64 = 32 << 20;

/// A texture's format, shader kind and bytes, derived from checked data.
#[derive(Debug)]
pub(crate) struct Layout<'a> {
    pub format: wgpu::TextureFormat,
    pub kind: Kind,
    pub bytes_per_pixel: u32,
    pub bytes: &'a [u8],
}

/// Checks sizes and texel count against the data and the device's
/// limits, and picks the format: stored values are uploaded unchanged.
pub(crate) fn layout<'a>(
    texels: &'a TexelData,
    size: [u32; 3],
    volume: bool,
    max_side: u32,
) -> Result<Layout<'a>, RenderError> {
    let [width, height, depth] = size;
    if width == 0 || height == 0 || depth == 0 {
        return Err(RenderError::Empty {
            width,
            height,
            depth,
        });
    }
    let expected = u64::from(width) * u64::from(height) * u64::from(depth);
    let actual = match texels {
        TexelData::Rgba8(bytes) => bytes.len() as u64 / 4 + u64::from(bytes.len() % 4 != 0),
        _ => texels.pixel_count().unwrap_or_default() as u64,
    };
    let whole_pixels = texels.pixel_count().is_some();
    if actual != expected || !whole_pixels {
        return Err(RenderError::TexelCount {
            width,
            height,
            depth,
            expected,
            actual,
        });
    }
    if width.max(height).max(depth) > max_side {
        return Err(RenderError::TooLarge {
            width,
            height,
            depth,
            dimension: if volume { "3D" } else { "2D" },
            max: max_side,
        });
    }
    let (format, kind, bytes_per_pixel, bytes) = match texels {
        TexelData::I16(v) => (
            wgpu::TextureFormat::R16Sint,
            if volume {
                Kind::VolumeSint
            } else {
                Kind::ImageSint
            },
            2,
            bytemuck::cast_slice(v.as_slice()),
        ),
        TexelData::U16(v) => (
            wgpu::TextureFormat::R16Uint,
            if volume {
                Kind::VolumeUint
            } else {
                Kind::ImageUint
            },
            2,
            bytemuck::cast_slice(v.as_slice()),
        ),
        TexelData::U8(v) => (
            wgpu::TextureFormat::R8Uint,
            if volume {
                Kind::VolumeUint
            } else {
                Kind::ImageUint
            },
            1,
            v.as_slice(),
        ),
        TexelData::Rgba8(v) => {
            if volume {
                return Err(RenderError::ColourVolume);
            }
            (
                wgpu::TextureFormat::Rgba8Unorm,
                Kind::ImageRgba,
                4,
                v.as_slice(),
            )
        }
    };
    Ok(Layout {
        format,
        kind,
        bytes_per_pixel,
        bytes,
    })
}

/// Creates a texture of the region `[x, y, width, height]` of a 2D
/// image `image_width` pixels wide, and writes that region's values.
pub(crate) fn create_image(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    layout: &Layout<'_>,
    image_width: u32,
    region: [u32; 4],
) -> wgpu::Texture {
    let [x, y, width, height] = region;
    let texture = device.create_texture(&descriptor(
        "viewer-render image",
        layout.format,
        [width, height, 1],
        wgpu::TextureDimension::D2,
    ));
    let bytes_per_row = image_width * layout.bytes_per_pixel;
    let offset = u64::from(y) * u64::from(bytes_per_row) + u64::from(x * layout.bytes_per_pixel);
    queue.write_texture(
        texture.as_image_copy(),
        layout.bytes,
        wgpu::TexelCopyBufferLayout {
            offset,
            bytes_per_row: Some(bytes_per_row),
            rows_per_image: Some(height),
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
    texture
}

/// Creates a 3D texture and writes the data, in chunks of whole slices.
pub(crate) fn create_volume(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    layout: &Layout<'_>,
    size: [u32; 3],
) -> wgpu::Texture {
    let [width, height, depth] = size;
    let texture = device.create_texture(&descriptor(
        "viewer-render volume",
        layout.format,
        size,
        wgpu::TextureDimension::D3,
    ));
    let bytes_per_row = width * layout.bytes_per_pixel;
    let slice_bytes = u64::from(bytes_per_row) * u64::from(height);
    let slices_per_chunk = (VOLUME_CHUNK_BYTES / slice_bytes).clamp(1, u64::from(depth)) as u32;
    let mut first = 0;
    while first < depth {
        let count = slices_per_chunk.min(depth - first);
        let start = (u64::from(first) * slice_bytes) as usize;
        let end = (u64::from(first + count) * slice_bytes) as usize;
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &texture,
                mip_level: 0,
                origin: wgpu::Origin3d {
                    x: 0,
                    y: 0,
                    z: first,
                },
                aspect: wgpu::TextureAspect::All,
            },
            &layout.bytes[start..end],
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(bytes_per_row),
                rows_per_image: Some(height),
            },
            wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: count,
            },
        );
        first += count;
    }
    texture
}

fn descriptor(
    label: &'static str,
    format: wgpu::TextureFormat,
    [width, height, depth]: [u32; 3],
    dimension: wgpu::TextureDimension,
) -> wgpu::TextureDescriptor<'static> {
    wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: depth,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_keep_stored_values() {
        let i16s = TexelData::I16(vec![-1000, 1000]);
        let l = layout(&i16s, [2, 1, 1], false, 8).unwrap();
        assert_eq!(l.format, wgpu::TextureFormat::R16Sint);
        assert_eq!(l.kind, Kind::ImageSint);
        // -1000 = 0xFC18, little endian.
        assert_eq!(l.bytes, &[0x18, 0xFC, 0xE8, 0x03]);

        let u8s = TexelData::U8(vec![1, 2, 3, 4]);
        let l = layout(&u8s, [2, 1, 2], true, 8).unwrap();
        assert_eq!(l.format, wgpu::TextureFormat::R8Uint);
        assert_eq!(l.kind, Kind::VolumeUint);

        let rgba = TexelData::Rgba8(vec![0; 8]);
        let l = layout(&rgba, [1, 2, 1], false, 8).unwrap();
        assert_eq!(l.format, wgpu::TextureFormat::Rgba8Unorm);
        assert_eq!(l.bytes_per_pixel, 4);
    }

    #[test]
    fn wrong_counts_and_sizes_are_refused() {
        let data = TexelData::U16(vec![0; 6]);
        assert!(matches!(
            layout(&data, [4, 2, 1], false, 8),
            Err(RenderError::TexelCount {
                expected: 8,
                actual: 6,
                ..
            })
        ));
        assert!(matches!(
            layout(&data, [0, 6, 1], false, 8),
            Err(RenderError::Empty { .. })
        ));
        assert!(matches!(
            layout(&data, [6, 1, 1], false, 4),
            Err(RenderError::TooLarge { max: 4, .. })
        ));
        let ragged = TexelData::Rgba8(vec![0; 7]);
        assert!(matches!(
            layout(&ragged, [2, 1, 1], false, 8),
            Err(RenderError::TexelCount { .. })
        ));
        let colour = TexelData::Rgba8(vec![0; 8]);
        assert!(matches!(
            layout(&colour, [1, 1, 2], true, 8),
            Err(RenderError::ColourVolume)
        ));
    }

    #[test]
    fn error_names_the_limit() {
        let data = TexelData::I16(vec![0; 3000 * 3000]);
        let e = layout(&data, [3000, 3000, 1], false, 2048).unwrap_err();
        assert_eq!(
            e.to_string(),
            "3000×3000×1 pixels exceed this GPU's largest 2D texture (2048 per side)"
        );
    }
}
