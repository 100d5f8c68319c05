//! Shader variants per texture kind, their bind group layouts and the
//! render pipelines, built when a kind is first drawn.

use std::num::NonZeroU64;

use crate::params::Uniforms;

const COMMON: &str = include_str!("shaders/common.wgsl");
const IMAGE: &str = include_str!("shaders/image.wgsl");
const RESLICE: &str = include_str!("shaders/reslice.wgsl");

/// What a texture holds and how the shader must read it: a WGSL texture
/// declares its sample type, so each needs its own shader and layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// 2D `R16Sint`.
    ImageSint,
    /// 2D `R16Uint` or `R8Uint`.
    ImageUint,
    /// 2D `Rgba8Unorm`.
    ImageRgba,
    /// 3D `R16Sint`.
    VolumeSint,
    /// 3D `R16Uint` or `R8Uint`.
    VolumeUint,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::ImageSint,
        Kind::ImageUint,
        Kind::ImageRgba,
        Kind::VolumeSint,
        Kind::VolumeUint,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn binding(self) -> (wgpu::TextureSampleType, wgpu::TextureViewDimension) {
        use wgpu::TextureSampleType as S;
        use wgpu::TextureViewDimension as D;
        match self {
            Kind::ImageSint => (S::Sint, D::D2),
            Kind::ImageUint => (S::Uint, D::D2),
            Kind::ImageRgba => (S::Float { filterable: false }, D::D2),
            Kind::VolumeSint => (S::Sint, D::D3),
            Kind::VolumeUint => (S::Uint, D::D3),
        }
    }

    /// The full WGSL source: the texture declaration and loader for this
    /// kind, then the shared code and the image or reslice body.
    fn source(self) -> String {
        let prefix = match self {
            Kind::ImageSint => {
                "@group(1) @binding(0) var image: texture_2d<i32>;\n\
                 const IS_RGB: bool = false;\n\
                 fn load_texel(p: vec2<i32>) -> vec4<f32> {\n\
                 return vec4<f32>(f32(textureLoad(image, p, 0).x), 0.0, 0.0, 0.0);\n}\n"
            }
            Kind::ImageUint => {
                "@group(1) @binding(0) var image: texture_2d<u32>;\n\
                 const IS_RGB: bool = false;\n\
                 fn load_texel(p: vec2<i32>) -> vec4<f32> {\n\
                 return vec4<f32>(f32(textureLoad(image, p, 0).x), 0.0, 0.0, 0.0);\n}\n"
            }
            Kind::ImageRgba => {
                "@group(1) @binding(0) var image: texture_2d<f32>;\n\
                 const IS_RGB: bool = true;\n\
                 fn load_texel(p: vec2<i32>) -> vec4<f32> {\n\
                 return textureLoad(image, p, 0);\n}\n"
            }
            Kind::VolumeSint => {
                "@group(1) @binding(0) var volume: texture_3d<i32>;\n\
                 fn load_voxel(p: vec3<i32>) -> f32 {\n\
                 return f32(textureLoad(volume, p, 0).x);\n}\n"
            }
            Kind::VolumeUint => {
                "@group(1) @binding(0) var volume: texture_3d<u32>;\n\
                 fn load_voxel(p: vec3<i32>) -> f32 {\n\
                 return f32(textureLoad(volume, p, 0).x);\n}\n"
            }
        };
        let body = match self {
            Kind::ImageSint | Kind::ImageUint | Kind::ImageRgba => IMAGE,
            Kind::VolumeSint | Kind::VolumeUint => RESLICE,
        };
        format!("{prefix}\n{COMMON}\n{body}")
    }
}

/// Layouts for every kind (cheap, needed at upload time for the texture's
/// bind group) and pipelines for the kinds drawn so far.
pub(crate) struct Pipelines {
    target_format: wgpu::TextureFormat,
    pub uniform_layout: wgpu::BindGroupLayout,
    texture_layouts: [wgpu::BindGroupLayout; 5],
    pipelines: [Option<wgpu::RenderPipeline>; 5],
}

impl Pipelines {
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> Pipelines {
        let uniform_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("viewer-render uniforms"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: NonZeroU64::new(std::mem::size_of::<Uniforms>() as u64),
                },
                count: None,
            }],
        });
        let texture_layouts = Kind::ALL.map(|kind| {
            let (sample_type, view_dimension) = kind.binding();
            device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("viewer-render texture"),
                entries: &[wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type,
                        view_dimension,
                        multisampled: false,
                    },
                    count: None,
                }],
            })
        });
        Pipelines {
            target_format,
            uniform_layout,
            texture_layouts,
            pipelines: Default::default(),
        }
    }

    /// The bind group that makes `view` the texture of a `kind` draw.
    pub fn texture_bind_group(
        &self,
        device: &wgpu::Device,
        kind: Kind,
        view: &wgpu::TextureView,
    ) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("viewer-render texture"),
            layout: &self.texture_layouts[kind.index()],
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(view),
            }],
        })
    }

    /// Builds the pipeline for `kind` unless it exists (shader compilation
    /// is the slow part of a first frame, so kinds never drawn cost nothing).
    pub fn ensure(&mut self, device: &wgpu::Device, kind: Kind) {
        if self.pipelines[kind.index()].is_some() {
            return;
        }
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("viewer-render shader"),
            source: wgpu::ShaderSource::Wgsl(kind.source().into()),
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("viewer-render layout"),
            bind_group_layouts: &[
                Some(&self.uniform_layout),
                Some(&self.texture_layouts[kind.index()]),
            ],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("viewer-render pipeline"),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: self.target_format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        self.pipelines[kind.index()] = Some(pipeline);
    }

    /// The pipeline for `kind`, if [`Pipelines::ensure`] built it.
    pub fn get(&self, kind: Kind) -> Option<&wgpu::RenderPipeline> {
        self.pipelines[kind.index()].as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant parses and validates as WGSL (naga, the compiler wgpu
    /// itself uses), so a shader typo fails without a GPU.
    #[test]
    fn every_kind_is_valid_wgsl() {
        for kind in Kind::ALL {
            let module = naga::front::wgsl::parse_str(&kind.source())
                .unwrap_or_else(|e| panic!("{kind:?}: {}", e.emit_to_string(&kind.source())));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::empty(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{kind:?}: {e:?}"));
            let entry_points: Vec<_> = module
                .entry_points
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            assert_eq!(entry_points, ["vs_main", "fs_main"], "{kind:?}");
        }
    }
}
