//! Opening an adapter and device, and choosing the target format.

use std::sync::{Arc, Mutex};

use crate::error::RenderError;

/// Device, queue and what was learned while opening them.
pub(crate) struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub backend: &'static str,
    /// Errors wgpu reported outside a call's return value (validation,
    /// out of memory), collected so that the next renderer call can return
    /// them instead of the process panicking.
    errors: Arc<Mutex<Vec<String>>>,
    /// Set once the device is lost (a browser GPU reset, a driver crash):
    /// from then on every call fails and the renderer must be recreated.
    lost: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Returns (and forgets) the errors reported since the last check, or
    /// the loss of the device, which is never forgotten.
    pub fn check(&self) -> Result<(), RenderError> {
        let lost = match self.lost.lock() {
            Ok(lost) => lost.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if let Some(reason) = lost {
            return Err(RenderError::DeviceLost { reason });
        }
        let errors = match self.errors.lock() {
            Ok(mut errors) => std::mem::take(&mut *errors),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        if errors.is_empty() {
            Ok(())
        } else {
            Err(RenderError::Gpu(errors.join("; ")))
        }
    }
}

/// Limits to request: WebGL2's guaranteed minimum for everything (so that
/// every browser adapter accepts them), raised to the adapter's own
/// texture sizes so that large radiographs and volumes fit where the
/// hardware allows.
pub(crate) fn required_limits(adapter: &wgpu::Limits) -> wgpu::Limits {
    wgpu::Limits {
        max_texture_dimension_1d: adapter.max_texture_dimension_1d,
        max_texture_dimension_2d: adapter.max_texture_dimension_2d,
        max_texture_dimension_3d: adapter.max_texture_dimension_3d,
        max_buffer_size: adapter.max_buffer_size,
        ..wgpu::Limits::downlevel_webgl2_defaults()
    }
}

/// Opens the device; `max_2d` lowers its 2D texture limit below the
/// adapter's, as on a GPU that offers less.
pub(crate) async fn open_device(
    adapter: &wgpu::Adapter,
    max_2d: Option<u32>,
) -> Result<Gpu, RenderError> {
    let mut limits = required_limits(&adapter.limits());
    if let Some(max) = max_2d {
        limits.max_texture_dimension_2d = limits.max_texture_dimension_2d.min(max);
        limits.max_texture_dimension_1d = limits.max_texture_dimension_1d.min(max);
    }
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("viewer-render"),
            required_limits: limits,
            ..Default::default()
        })
        .await
        .map_err(|e| RenderError::Device(e.to_string()))?;
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&errors);
    device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
        if let Ok(mut errors) = sink.lock() {
            errors.push(error.to_string());
        }
    }));
    let lost = Arc::new(Mutex::new(None));
    let lost_sink = Arc::clone(&lost);
    device.set_device_lost_callback(move |reason, message| {
        // `Destroyed` is our own drop, not a failure.
        if reason == wgpu::DeviceLostReason::Unknown
            && let Ok(mut lost) = lost_sink.lock()
        {
            *lost = Some(message);
        }
    });
    Ok(Gpu {
        device,
        queue,
        backend: backend_name(adapter.get_info().backend),
        errors,
        lost,
    })
}

/// The name [`crate::Renderer::backend`] reports.
pub(crate) fn backend_name(backend: wgpu::Backend) -> &'static str {
    match backend {
        wgpu::Backend::BrowserWebGpu => "webgpu",
        wgpu::Backend::Gl if cfg!(target_arch = "wasm32") => "webgl2",
        wgpu::Backend::Gl => "gl",
        wgpu::Backend::Vulkan => "vulkan",
        wgpu::Backend::Metal => "metal",
        wgpu::Backend::Dx12 => "dx12",
        wgpu::Backend::Noop => "noop",
    }
}

/// The target format for a surface offering `formats` (in the order of
/// the platform's preference), and whether the shader must pre-distort
/// its output for an sRGB format.
///
/// A plain 8-bit format stores the shader's output byte as it is, so the
/// first of those wins. Only when every 8-bit format is sRGB does the
/// shader compensate. Returns `None` if no 8-bit RGBA/BGRA format exists.
// Only canvases have a choice; natively it is exercised by the unit tests.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn choose_format(
    formats: &[wgpu::TextureFormat],
) -> Option<(wgpu::TextureFormat, bool)> {
    use wgpu::TextureFormat as F;
    let plain = formats
        .iter()
        .find(|f| matches!(f, F::Rgba8Unorm | F::Bgra8Unorm));
    if let Some(&format) = plain {
        return Some((format, false));
    }
    formats
        .iter()
        .find(|f| matches!(f, F::Rgba8UnormSrgb | F::Bgra8UnormSrgb))
        .map(|&format| (format, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::TextureFormat as F;

    #[test]
    fn plain_format_wins_over_a_preferred_srgb_one() {
        assert_eq!(
            choose_format(&[F::Bgra8UnormSrgb, F::Rgba16Float, F::Bgra8Unorm]),
            Some((F::Bgra8Unorm, false))
        );
        // WebGPU canvases: the preferred format first, never sRGB.
        assert_eq!(
            choose_format(&[F::Bgra8Unorm, F::Rgba8Unorm, F::Rgba16Float]),
            Some((F::Bgra8Unorm, false))
        );
    }

    #[test]
    fn srgb_only_surface_asks_the_shader_to_encode() {
        assert_eq!(
            choose_format(&[F::Rgba16Float, F::Rgba8UnormSrgb]),
            Some((F::Rgba8UnormSrgb, true))
        );
        assert_eq!(choose_format(&[F::Rgba16Float]), None);
    }

    #[test]
    fn limits_follow_the_adapter_textures_only() {
        let adapter = wgpu::Limits {
            max_texture_dimension_2d: 16384,
            max_texture_dimension_3d: 2048,
            max_bind_groups: 8,
            ..wgpu::Limits::default()
        };
        let limits = required_limits(&adapter);
        assert_eq!(limits.max_texture_dimension_2d, 16384);
        assert_eq!(limits.max_texture_dimension_3d, 2048);
        // Everything else stays at the WebGL2 guarantee.
        assert_eq!(
            limits.max_bind_groups,
            wgpu::Limits::downlevel_webgl2_defaults().max_bind_groups
        );
    }
}
