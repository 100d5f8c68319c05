//! Drawing a frame and reading it back.

use std::num::NonZeroU64;

use super::{Renderer, Target};
use crate::error::RenderError;
use crate::params::Uniforms;
use crate::pipelines::Variant;
use crate::readback;
use crate::tiles;
use crate::types::{DisplayParams, Draw, ImageId, Viewport, VolumeId};

const UNIFORM_SIZE: u64 = std::mem::size_of::<Uniforms>() as u64;

/// One uniform buffer holding every draw's block at a dynamic offset.
pub(crate) struct UniformBlock {
    buffer: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    /// Blocks the buffer holds.
    capacity: u64,
}

impl UniformBlock {
    pub fn new(device: &wgpu::Device, layout: &wgpu::BindGroupLayout) -> UniformBlock {
        UniformBlock::with_capacity(device, layout, 4)
    }

    fn with_capacity(
        device: &wgpu::Device,
        layout: &wgpu::BindGroupLayout,
        capacity: u64,
    ) -> UniformBlock {
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("viewer-render uniforms"),
            size: capacity * stride(device),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("viewer-render uniforms"),
            layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &buffer,
                    offset: 0,
                    size: NonZeroU64::new(UNIFORM_SIZE),
                }),
            }],
        });
        UniformBlock {
            buffer,
            bind_group,
            capacity,
        }
    }
}

/// One draw call of a frame: a caller's draw, or one tile of a tiled
/// image. Its uniform block is the frame's block at the same index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pass {
    viewport: Viewport,
    /// The part of the viewport the call can change.
    scissor: Viewport,
    variant: Variant,
    source: Source,
}

/// The texture a pass reads.
#[derive(Debug, Clone, Copy)]
enum Source {
    Tile(ImageId, usize),
    Volume(VolumeId),
}

/// Distance between blocks: the device's dynamic offset alignment.
fn stride(device: &wgpu::Device) -> u64 {
    let alignment = u64::from(device.limits().min_uniform_buffer_offset_alignment);
    UNIFORM_SIZE.next_multiple_of(alignment)
}

impl Renderer {
    /// Draws one frame: the target is cleared to black, then each image is
    /// drawn windowed into its viewport (later ones over earlier ones where
    /// they overlap); on a canvas the frame is presented.
    pub fn draw(
        &mut self,
        draws: &[(Viewport, ImageId, DisplayParams)],
    ) -> Result<(), RenderError> {
        let draws: Vec<Draw> = draws
            .iter()
            .map(|&(viewport, image, params)| Draw::Image {
                viewport,
                image,
                params,
            })
            .collect();
        self.draw_frame(&draws)
    }

    /// Like [`Renderer::draw`], for frames that mix images and reslices
    /// (an MPR layout).
    pub fn draw_frame(&mut self, draws: &[Draw]) -> Result<(), RenderError> {
        self.take_errors()?;
        for draw in draws {
            let variant = self.variant_of(draw)?;
            self.check_viewport(draw.viewport())?;
            self.pipelines.ensure(&self.gpu.device, variant);
        }
        let (passes, uniforms) = self.passes(draws)?;
        self.write_uniforms(&uniforms);
        match &self.target {
            Target::Offscreen(texture) => {
                let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
                let commands = self.record(&view, &passes);
                self.gpu.queue.submit([commands]);
            }
            #[cfg(target_arch = "wasm32")]
            Target::Surface { surface, config } => {
                let Some(frame) = acquire(&self.gpu.device, surface, config)? else {
                    // Hidden or busy: nothing to show now; the next draw
                    // call shows the current state.
                    return self.take_errors();
                };
                let view = frame
                    .texture
                    .create_view(&wgpu::TextureViewDescriptor::default());
                let commands = self.record(&view, &passes);
                self.gpu.queue.submit([commands]);
                self.gpu.queue.present(frame);
            }
        }
        self.last_frame = passes;
        self.take_errors()
    }

    /// The draw calls of a frame and their uniform blocks: one per draw,
    /// or one per tile of a tiled image that appears in the viewport.
    fn passes(&self, draws: &[Draw]) -> Result<(Vec<Pass>, Vec<Uniforms>), RenderError> {
        let mut passes = Vec::with_capacity(draws.len());
        let mut uniforms = Vec::with_capacity(draws.len());
        for draw in draws {
            let viewport = draw.viewport();
            if viewport.width == 0 || viewport.height == 0 {
                continue;
            }
            let variant = self.variant_of(draw)?;
            match draw {
                Draw::Image { image, params, .. } => {
                    let uploaded = self
                        .images
                        .get(image)
                        .ok_or_else(|| RenderError::UnknownHandle(format!("{image:?}")))?;
                    let single = uploaded.tiles.len() == 1;
                    for (index, tile) in uploaded.tiles.iter().enumerate() {
                        let scissor = if single {
                            Some(viewport)
                        } else {
                            tiles::screen_rect(
                                params.clip_to_image,
                                tile.core.map(|v| v as f32),
                                [viewport.x, viewport.y, viewport.width, viewport.height],
                            )
                            .map(|[x, y, width, height]| Viewport {
                                x,
                                y,
                                width,
                                height,
                            })
                        };
                        let Some(scissor) = scissor else { continue };
                        passes.push(Pass {
                            viewport,
                            scissor,
                            variant,
                            source: Source::Tile(*image, index),
                        });
                        uniforms.push(Uniforms::for_image(
                            params,
                            uploaded.size,
                            tile.origin,
                            tile.core,
                        ));
                    }
                }
                Draw::Reslice {
                    volume,
                    params,
                    reslice,
                    ..
                } => {
                    passes.push(Pass {
                        viewport,
                        scissor: viewport,
                        variant,
                        source: Source::Volume(*volume),
                    });
                    uniforms.push(Uniforms::for_reslice(params, reslice));
                }
            }
        }
        Ok((passes, uniforms))
    }

    /// The last frame as RGBA8 rows from the top (`width × 4` bytes per
    /// row): exactly the bytes the target stores. A canvas frame is drawn
    /// again into an offscreen texture of the canvas's format for this
    /// (draws whose handle was released since are left out).
    pub async fn read_pixels(&self) -> Result<Vec<u8>, RenderError> {
        self.take_errors()?;
        let pixels = match &self.target {
            Target::Offscreen(texture) => {
                readback::read_rgba(&self.gpu.device, &self.gpu.queue, texture).await?
            }
            #[cfg(target_arch = "wasm32")]
            Target::Surface { .. } => {
                let texture = super::offscreen_texture(
                    &self.gpu.device,
                    self.format,
                    self.width,
                    self.height,
                );
                let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
                let commands = self.record(&view, &self.last_frame);
                self.gpu.queue.submit([commands]);
                readback::read_rgba(&self.gpu.device, &self.gpu.queue, &texture).await?
            }
        };
        self.take_errors()?;
        Ok(pixels)
    }

    /// The pipeline variant that draws `draw`: its texture's kind and the
    /// choices in its parameters.
    fn variant_of(&self, draw: &Draw) -> Result<Variant, RenderError> {
        let (kind, params, slab) = match draw {
            Draw::Image { image, params, .. } => (
                self.images
                    .get(image)
                    .map(|i| i.kind)
                    .ok_or_else(|| format!("{image:?}")),
                params,
                Default::default(),
            ),
            Draw::Reslice {
                volume,
                params,
                reslice,
                ..
            } => (
                self.volumes
                    .get(volume)
                    .map(|v| v.kind)
                    .ok_or_else(|| format!("{volume:?}")),
                params,
                reslice.mode,
            ),
        };
        let kind = kind.map_err(RenderError::UnknownHandle)?;
        Ok(Variant::new(kind, params.interpolation, params.voi, slab))
    }

    fn check_viewport(&self, v: Viewport) -> Result<(), RenderError> {
        let fits = |start: u32, length: u32, limit: u32| {
            start.checked_add(length).is_some_and(|end| end <= limit)
        };
        if fits(v.x, v.width, self.width) && fits(v.y, v.height, self.height) {
            Ok(())
        } else {
            Err(RenderError::ViewportOutside {
                x: v.x,
                y: v.y,
                width: v.width,
                height: v.height,
                target_width: self.width,
                target_height: self.height,
            })
        }
    }

    /// Writes pass `i`'s block at offset `i × stride`, growing the buffer
    /// (to a power of two of blocks) when the frame has more passes.
    fn write_uniforms(&mut self, uniforms: &[Uniforms]) {
        let device = &self.gpu.device;
        let count = uniforms.len().max(1) as u64;
        if count > self.uniforms.capacity {
            self.uniforms = UniformBlock::with_capacity(
                device,
                &self.pipelines.uniform_layout,
                count.next_power_of_two(),
            );
        }
        let stride = stride(device) as usize;
        let mut bytes = vec![0u8; stride * uniforms.len()];
        for (u, block) in uniforms.iter().zip(bytes.chunks_exact_mut(stride)) {
            block[..UNIFORM_SIZE as usize].copy_from_slice(bytemuck::bytes_of(u));
        }
        if !bytes.is_empty() {
            self.gpu
                .queue
                .write_buffer(&self.uniforms.buffer, 0, &bytes);
        }
    }

    /// Encodes the clear and the passes into `view`. Passes whose texture
    /// or pipeline is missing (released since the frame was drawn) are
    /// skipped: [`Renderer::draw_frame`] has checked them before.
    fn record(&self, view: &wgpu::TextureView, passes: &[Pass]) -> wgpu::CommandBuffer {
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("viewer-render frame"),
            });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("viewer-render frame"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            let stride = stride(&self.gpu.device);
            for (index, pass_) in passes.iter().enumerate() {
                let bind_group = match pass_.source {
                    Source::Tile(image, tile) => self
                        .images
                        .get(&image)
                        .and_then(|i| i.tiles.get(tile))
                        .map(|t| &t.texture.bind_group),
                    Source::Volume(volume) => self.volumes.get(&volume).map(|v| &v.bind_group),
                };
                let Some(bind_group) = bind_group else {
                    continue;
                };
                let Some(pipeline) = self.pipelines.get(pass_.variant) else {
                    continue;
                };
                let (viewport, scissor) = (pass_.viewport, pass_.scissor);
                let offset = (index as u64 * stride) as u32;
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &self.uniforms.bind_group, &[offset]);
                pass.set_bind_group(1, bind_group, &[]);
                pass.set_viewport(
                    viewport.x as f32,
                    viewport.y as f32,
                    viewport.width as f32,
                    viewport.height as f32,
                    0.0,
                    1.0,
                );
                pass.set_scissor_rect(scissor.x, scissor.y, scissor.width, scissor.height);
                pass.draw(0..3, 0..1);
            }
        }
        encoder.finish()
    }
}

/// The canvas's next texture; `None` when the frame should be skipped. An
/// outdated or lost surface is configured again once.
#[cfg(target_arch = "wasm32")]
fn acquire(
    device: &wgpu::Device,
    surface: &wgpu::Surface<'static>,
    config: &wgpu::SurfaceConfiguration,
) -> Result<Option<wgpu::SurfaceTexture>, RenderError> {
    use wgpu::CurrentSurfaceTexture as Current;
    for attempt in 0..2 {
        match surface.get_current_texture() {
            Current::Success(frame) | Current::Suboptimal(frame) => return Ok(Some(frame)),
            Current::Timeout | Current::Occluded => return Ok(None),
            Current::Outdated | Current::Lost if attempt == 0 => {
                surface.configure(device, config);
            }
            Current::Outdated | Current::Lost => {
                return Err(RenderError::Surface(
                    "the canvas surface stays lost after reconfiguring".into(),
                ));
            }
            Current::Validation => {
                return Err(RenderError::Surface(
                    "acquiring the canvas texture failed validation".into(),
                ));
            }
        }
    }
    Ok(None)
}
