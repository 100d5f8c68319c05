//! The renderer: one device, one target (a canvas or an offscreen
//! texture), the uploaded images and volumes.

use std::collections::HashMap;

use crate::error::RenderError;
use crate::gpu::{self, Gpu};
use crate::pipelines::{Kind, Pipelines};
use crate::texture;
use crate::tiles;
use crate::types::{GpuImage, GpuVolume, ImageId, VolumeId};

mod frame;

pub(crate) use frame::UniformBlock;

/// The largest textures this device accepts, per side.
///
/// WebGL2 guarantees only 2048 (2D) and 256 (3D); desktop browsers
/// report their GPU's limits (typically 8192–16384 and 2048), and the
/// renderer requests whatever the adapter offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextureLimits {
    pub max_2d: u32,
    pub max_3d: u32,
}

/// Where frames go.
pub(crate) enum Target {
    /// A texture of ours: headless rendering and tests.
    Offscreen(wgpu::Texture),
    /// A browser canvas.
    #[cfg(target_arch = "wasm32")]
    Surface {
        surface: wgpu::Surface<'static>,
        config: wgpu::SurfaceConfiguration,
    },
}

/// An uploaded texture and the bind group naming it.
pub(crate) struct Uploaded {
    pub kind: Kind,
    pub bind_group: wgpu::BindGroup,
    /// Kept so that the texture lives as long as the handle; dropped (and
    /// its memory freed) on release.
    _texture: wgpu::Texture,
}

/// An uploaded 2D image: one texture, or tiles where it exceeds the
/// device's 2D limit (see [`crate::tiles`]).
pub(crate) struct UploadedImage {
    pub kind: Kind,
    /// Columns, rows.
    pub size: [u32; 2],
    pub tiles: Vec<Tile>,
}

/// Part of an image: the image points `core` (`x0, y0, x1, y1`) drawn
/// from a texture whose first texel is image pixel `origin`.
pub(crate) struct Tile {
    pub origin: [u32; 2],
    pub core: [u32; 4],
    pub texture: Uploaded,
}

/// Draws windowed images and reslices into a canvas or an offscreen
/// texture.
///
/// Invariants: every [`ImageId`] and [`VolumeId`] in `images`/`volumes`
/// names a texture of this device; the target is at least 1×1 and within
/// the device's 2D texture limit.
pub struct Renderer {
    /// Kept alive for the surface's sake.
    _instance: wgpu::Instance,
    gpu: Gpu,
    target: Target,
    format: wgpu::TextureFormat,
    width: u32,
    height: u32,
    pipelines: Pipelines,
    uniforms: UniformBlock,
    images: HashMap<ImageId, UploadedImage>,
    volumes: HashMap<VolumeId, Uploaded>,
    next_id: u64,
    /// The last frame's draw calls, replayed offscreen when a canvas frame
    /// is read back.
    last_frame: Vec<frame::Pass>,
}

impl Renderer {
    /// A renderer drawing into `canvas`, at its current `width`×`height`
    /// attributes (physical pixels; call [`Renderer::resize`] when they
    /// change).
    ///
    /// With [`crate::BackendPreference::Auto`], WebGPU is used when
    /// `navigator.gpu` yields an adapter, WebGL2 otherwise. A canvas keeps
    /// the first context type it was asked for, so after a failure here
    /// another attempt needs a fresh canvas element.
    #[cfg(target_arch = "wasm32")]
    pub async fn for_canvas(
        canvas: web_sys::HtmlCanvasElement,
        preference: crate::BackendPreference,
    ) -> Result<Renderer, RenderError> {
        let width = canvas.width();
        let height = canvas.height();
        let (instance, surface, adapter) = open_adapter(canvas, preference).await?;
        let gpu = gpu::open_device(&adapter, None).await?;
        let caps = surface.get_capabilities(&adapter);
        let (format, srgb_output) = gpu::choose_format(&caps.formats).ok_or_else(|| {
            RenderError::Surface(format!(
                "the canvas offers no 8-bit colour format (only {:?})",
                caps.formats
            ))
        })?;
        let alpha_mode = if caps.alpha_modes.contains(&wgpu::CompositeAlphaMode::Opaque) {
            wgpu::CompositeAlphaMode::Opaque
        } else {
            wgpu::CompositeAlphaMode::Auto
        };
        let max = gpu.device.limits().max_texture_dimension_2d;
        let config = wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format,
            color_space: wgpu::SurfaceColorSpace::Auto,
            width: width.clamp(1, max),
            height: height.clamp(1, max),
            present_mode: wgpu::PresentMode::Fifo,
            desired_maximum_frame_latency: 2,
            alpha_mode,
            view_formats: vec![],
        };
        surface.configure(&gpu.device, &config);
        let (width, height) = (config.width, config.height);
        let target = Target::Surface { surface, config };
        let renderer =
            Renderer::assemble(instance, gpu, target, format, srgb_output, width, height);
        renderer.take_errors()?;
        Ok(renderer)
    }

    /// A renderer drawing into an offscreen `Rgba8Unorm` texture, for tests
    /// and thumbnails; natively the only kind (Vulkan, e.g. Mesa lavapipe).
    /// In a browser it needs WebGPU (WebGL2 needs a canvas).
    pub async fn headless(width: u32, height: u32) -> Result<Renderer, RenderError> {
        Renderer::offscreen(width, height, wgpu::TextureFormat::Rgba8Unorm, None).await
    }

    /// Like [`Renderer::headless`], on a device whose 2D textures are at
    /// most `max_2d` pixels per side (at least 8), however large the
    /// adapter's: how the renderer behaves on a GPU that offers little,
    /// such as WebGL2's guaranteed 2048. The target is limited too.
    pub async fn headless_with_texture_limit(
        width: u32,
        height: u32,
        max_2d: u32,
    ) -> Result<Renderer, RenderError> {
        let max_2d = max_2d.max(crate::tiles::MIN_TILE);
        Renderer::offscreen(width, height, wgpu::TextureFormat::Rgba8Unorm, Some(max_2d)).await
    }

    /// Like [`Renderer::headless`], but into an `Rgba8UnormSrgb` texture:
    /// the case of a surface that offers only sRGB formats, where the
    /// shader must compensate for the hardware's encoding. Tests use it to
    /// check that the stored bytes are the same as on a plain target.
    pub async fn headless_srgb(width: u32, height: u32) -> Result<Renderer, RenderError> {
        Renderer::offscreen(width, height, wgpu::TextureFormat::Rgba8UnormSrgb, None).await
    }

    async fn offscreen(
        width: u32,
        height: u32,
        format: wgpu::TextureFormat,
        max_2d: Option<u32>,
    ) -> Result<Renderer, RenderError> {
        let descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        #[cfg(target_arch = "wasm32")]
        let instance = wgpu::util::new_instance_with_webgpu_detection(descriptor).await;
        #[cfg(not(target_arch = "wasm32"))]
        let instance = wgpu::Instance::new(descriptor);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions::default())
            .await
            .map_err(|e| RenderError::GpuUnavailable {
                reason: format!("no adapter for offscreen rendering ({e})"),
            })?;
        let gpu = gpu::open_device(&adapter, max_2d).await?;
        let max = gpu.device.limits().max_texture_dimension_2d;
        let (width, height) = (width.clamp(1, max), height.clamp(1, max));
        let target = Target::Offscreen(offscreen_texture(&gpu.device, format, width, height));
        let srgb_output = format.is_srgb();
        let renderer =
            Renderer::assemble(instance, gpu, target, format, srgb_output, width, height);
        renderer.take_errors()?;
        Ok(renderer)
    }

    fn assemble(
        instance: wgpu::Instance,
        gpu: Gpu,
        target: Target,
        format: wgpu::TextureFormat,
        srgb_output: bool,
        width: u32,
        height: u32,
    ) -> Renderer {
        let pipelines = Pipelines::new(&gpu.device, format, srgb_output);
        let uniforms = UniformBlock::new(&gpu.device, &pipelines.uniform_layout);
        Renderer {
            _instance: instance,
            gpu,
            target,
            format,
            width,
            height,
            pipelines,
            uniforms,
            images: HashMap::new(),
            volumes: HashMap::new(),
            next_id: 1,
            last_frame: Vec::new(),
        }
    }

    /// The graphics API in use: `"webgpu"`, `"webgl2"`, `"vulkan"`, …
    pub fn backend(&self) -> &'static str {
        self.gpu.backend
    }

    /// The target's size in physical pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The device's texture size limits, to report or to check a study
    /// against before uploading it.
    pub fn texture_limits(&self) -> TextureLimits {
        let limits = self.gpu.device.limits();
        TextureLimits {
            max_2d: limits.max_texture_dimension_2d,
            max_3d: limits.max_texture_dimension_3d,
        }
    }

    /// Changes the target size (physical pixels). Sizes are clamped to
    /// 1..=the device's 2D limit, so a collapsed canvas does not fail.
    pub fn resize(&mut self, width: u32, height: u32) {
        let max = self.gpu.device.limits().max_texture_dimension_2d;
        let (width, height) = (width.clamp(1, max), height.clamp(1, max));
        if (width, height) == (self.width, self.height) {
            return;
        }
        self.width = width;
        self.height = height;
        match &mut self.target {
            Target::Offscreen(texture) => {
                *texture = offscreen_texture(&self.gpu.device, self.format, width, height);
            }
            #[cfg(target_arch = "wasm32")]
            Target::Surface { surface, config } => {
                config.width = width;
                config.height = height;
                surface.configure(&self.gpu.device, config);
            }
        }
    }

    /// Uploads an image's stored values unchanged.
    ///
    /// Fails if the data does not fill `width × height`. An image with a
    /// side beyond [`Renderer::texture_limits`] is uploaded as tiles and
    /// drawn exactly as one texture would be.
    pub fn upload(&mut self, image: &GpuImage) -> Result<ImageId, RenderError> {
        self.take_errors()?;
        let layout = texture::layout(
            &image.texels,
            [image.width, image.height, 1],
            false,
            u32::MAX,
        )?;
        let max = self.gpu.device.limits().max_texture_dimension_2d;
        let columns = tiles::spans(image.width, max);
        let rows = tiles::spans(image.height, max);
        let mut uploaded = Vec::with_capacity(columns.len() * rows.len());
        for row in &rows {
            for column in &columns {
                let region = [
                    column.texture_start,
                    row.texture_start,
                    column.texture_len(),
                    row.texture_len(),
                ];
                let texture = texture::create_image(
                    &self.gpu.device,
                    &self.gpu.queue,
                    &layout,
                    image.width,
                    region,
                );
                uploaded.push(Tile {
                    origin: [column.texture_start, row.texture_start],
                    core: [column.start, row.start, column.end, row.end],
                    texture: self.bind(layout.kind, texture),
                });
            }
        }
        // Out-of-memory and the like are reported here natively (in a
        // browser, with a later call).
        self.take_errors()?;
        let id = ImageId(self.next_id());
        self.images.insert(
            id,
            UploadedImage {
                kind: layout.kind,
                size: [image.width, image.height],
                tiles: uploaded,
            },
        );
        Ok(id)
    }

    /// Frees an image's GPU memory. Unknown handles are ignored.
    pub fn release(&mut self, id: ImageId) {
        self.images.remove(&id);
    }

    /// Uploads a volume (slices of equal size, grey data only) as a 3D
    /// texture for reslicing. Fails if a side exceeds the device's 3D
    /// limit.
    pub fn upload_volume(&mut self, volume: &GpuVolume) -> Result<VolumeId, RenderError> {
        self.take_errors()?;
        let size = [volume.width, volume.height, volume.depth];
        let max = self.gpu.device.limits().max_texture_dimension_3d;
        let layout = texture::layout(&volume.texels, size, true, max)?;
        let texture = texture::create_volume(&self.gpu.device, &self.gpu.queue, &layout, size);
        let uploaded = self.bind(layout.kind, texture);
        self.take_errors()?;
        let id = VolumeId(self.next_id());
        self.volumes.insert(id, uploaded);
        Ok(id)
    }

    /// Frees a volume's GPU memory. Unknown handles are ignored.
    pub fn release_volume(&mut self, id: VolumeId) {
        self.volumes.remove(&id);
    }

    fn bind(&self, kind: Kind, texture: wgpu::Texture) -> Uploaded {
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let bind_group = self
            .pipelines
            .texture_bind_group(&self.gpu.device, kind, &view);
        Uploaded {
            kind,
            bind_group,
            _texture: texture,
        }
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Errors wgpu reported since the last call, or the device's loss.
    fn take_errors(&self) -> Result<(), RenderError> {
        self.gpu.check()
    }
}

fn offscreen_texture(
    device: &wgpu::Device,
    format: wgpu::TextureFormat,
    width: u32,
    height: u32,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some("viewer-render target"),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    })
}

/// An instance, the canvas's surface and an adapter for `preference`,
/// with as few round trips to the browser's GPU process as possible: the
/// WebGPU adapter is asked for once (it is also the test of whether the
/// browser really offers WebGPU) before the canvas is given a context,
/// so that the canvas can still become WebGL2 when there is none.
#[cfg(target_arch = "wasm32")]
async fn open_adapter(
    canvas: web_sys::HtmlCanvasElement,
    preference: crate::BackendPreference,
) -> Result<(wgpu::Instance, wgpu::Surface<'static>, wgpu::Adapter), RenderError> {
    use crate::BackendPreference;
    let instance_for = |backends: wgpu::Backends| {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = backends;
        wgpu::Instance::new(descriptor)
    };
    if preference != BackendPreference::WebGl2 {
        let instance = instance_for(wgpu::Backends::BROWSER_WEBGPU);
        // In a browser every WebGPU adapter can present to a canvas.
        match instance.request_adapter(&Default::default()).await {
            Ok(adapter) => {
                let surface = instance
                    .create_surface(wgpu::SurfaceTarget::Canvas(canvas))
                    .map_err(|e| RenderError::GpuUnavailable {
                        reason: format!("the canvas offers no WebGPU context ({e})"),
                    })?;
                return Ok((instance, surface, adapter));
            }
            Err(e) if preference == BackendPreference::WebGpu => {
                return Err(RenderError::GpuUnavailable {
                    reason: format!("this browser offers no WebGPU adapter ({e})"),
                });
            }
            Err(_) => {}
        }
    }
    let instance = instance_for(wgpu::Backends::GL);
    let surface = instance
        .create_surface(wgpu::SurfaceTarget::Canvas(canvas))
        .map_err(|e| RenderError::GpuUnavailable {
            reason: format!("the canvas offers neither WebGPU nor WebGL2 ({e})"),
        })?;
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            compatible_surface: Some(&surface),
            ..Default::default()
        })
        .await
        .map_err(|e| RenderError::GpuUnavailable {
            reason: format!("no WebGPU or WebGL2 adapter ({e})"),
        })?;
    Ok((instance, surface, adapter))
}
