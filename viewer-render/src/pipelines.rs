//! Shader variants per texture kind and per display choice, their bind
//! group layouts and the render pipelines, built when first drawn.

use std::collections::HashMap;
use std::num::NonZeroU64;

use crate::params::Uniforms;
use crate::types::{Interpolation, SlabMode, VoiFunction};

const COMMON: &str = include_str!("shaders/common.wgsl");
const IMAGE: &str = include_str!("shaders/image.wgsl");
const RESLICE: &str = include_str!("shaders/reslice.wgsl");

/// What a texture holds and how the shader must read it: a WGSL texture
/// declares its sample type, so each needs its own shader and layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    fn is_volume(self) -> bool {
        matches!(self, Kind::VolumeSint | Kind::VolumeUint)
    }

    /// The texture declaration, the type of one texel's value (`Texel`:
    /// a scalar for grey images, so interpolation does a quarter of the
    /// work of RGBA), its loader and how a value becomes a colour.
    fn declarations(self) -> &'static str {
        match self {
            Kind::ImageSint => {
                "@group(1) @binding(0) var image: texture_2d<i32>;\n\
                 alias Texel = f32;\n\
                 fn load_texel(p: vec2<i32>) -> Texel {\n\
                 return f32(textureLoad(image, p, 0).x);\n}\n\
                 fn shade(value: Texel) -> vec4<f32> {\n\
                 return encode(vec3<f32>(voi(modality_value(value))));\n}\n"
            }
            Kind::ImageUint => {
                "@group(1) @binding(0) var image: texture_2d<u32>;\n\
                 alias Texel = f32;\n\
                 fn load_texel(p: vec2<i32>) -> Texel {\n\
                 return f32(textureLoad(image, p, 0).x);\n}\n\
                 fn shade(value: Texel) -> vec4<f32> {\n\
                 return encode(vec3<f32>(voi(modality_value(value))));\n}\n"
            }
            Kind::ImageRgba => {
                "@group(1) @binding(0) var image: texture_2d<f32>;\n\
                 alias Texel = vec4<f32>;\n\
                 fn load_texel(p: vec2<i32>) -> Texel {\n\
                 return textureLoad(image, p, 0);\n}\n\
                 fn shade(value: Texel) -> vec4<f32> {\n\
                 return encode(value.rgb);\n}\n"
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
        }
    }
}

/// One pipeline's fixed choices: the texture kind and what a draw picks
/// once (interpolation, VOI function, slab mode). They are compiled in
/// rather than read from uniforms: a software rasteriser runs every arm
/// of a branch on uniform data for every pixel, which tripled the cost of
/// a frame. Choices that do not apply to a kind are normalised away so
/// that they never build a second, identical pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Variant {
    pub kind: Kind,
    interpolation: Interpolation,
    voi: VoiFunction,
    slab: SlabMode,
}

impl Variant {
    pub fn new(
        kind: Kind,
        interpolation: Interpolation,
        voi: VoiFunction,
        slab: SlabMode,
    ) -> Variant {
        let volume = kind.is_volume();
        Variant {
            kind,
            // Reslices sample trilinearly for anything but nearest.
            interpolation: match interpolation {
                Interpolation::Bicubic if volume => Interpolation::Bilinear,
                other => other,
            },
            voi: if kind == Kind::ImageRgba {
                VoiFunction::Linear
            } else {
                voi
            },
            slab: if volume { slab } else { SlabMode::Mip },
        }
    }

    /// The full WGSL source: the kind's declarations, the chosen
    /// functions, then the shared code and the image or reslice body.
    fn source(self, srgb_output: bool) -> String {
        let voi = match self.voi {
            VoiFunction::Linear => "voi_linear",
            VoiFunction::LinearExact => "voi_linear_exact",
            VoiFunction::Sigmoid => "voi_sigmoid",
        };
        let encoding = if srgb_output {
            "srgb_to_linear(q)"
        } else {
            "q"
        };
        let mut chosen = format!(
            "fn voi(x: f32) -> f32 {{ return {voi}(x); }}\n\
             fn output_encoding(q: vec3<f32>) -> vec3<f32> {{ return {encoding}; }}\n"
        );
        let body = if self.kind.is_volume() {
            let sampler = match self.interpolation {
                Interpolation::Nearest => "sample_nearest",
                Interpolation::Bilinear | Interpolation::Bicubic => "sample_trilinear",
            };
            // The first sample always replaces the start value.
            let (start, combine, finish) = match self.slab {
                SlabMode::Mip => ("-3.4e38", "max(acc, v)", "acc"),
                SlabMode::MinIp => ("3.4e38", "min(acc, v)", "acc"),
                SlabMode::Mean => ("0.0", "acc + v", "acc / f32(count)"),
            };
            chosen += &format!(
                "fn sample_volume(p: vec3<f32>) -> f32 {{ return {sampler}(p); }}\n\
                 fn slab_start() -> f32 {{ return {start}; }}\n\
                 fn slab_combine(acc: f32, v: f32) -> f32 {{ return {combine}; }}\n\
                 fn slab_finish(acc: f32, count: u32) -> f32 {{ return {finish}; }}\n"
            );
            RESLICE
        } else {
            let sampler = match self.interpolation {
                Interpolation::Nearest => "sample_nearest",
                Interpolation::Bilinear => "sample_bilinear",
                Interpolation::Bicubic => "sample_bicubic",
            };
            chosen +=
                &format!("fn sample_image(p: vec2<f32>) -> Texel {{ return {sampler}(p); }}\n");
            IMAGE
        };
        format!("{}{chosen}\n{COMMON}\n{body}", self.kind.declarations())
    }

    /// Every distinct variant (for validating the shaders).
    #[cfg(test)]
    fn all() -> Vec<Variant> {
        let mut all = Vec::new();
        for kind in Kind::ALL {
            for interpolation in [
                Interpolation::Nearest,
                Interpolation::Bilinear,
                Interpolation::Bicubic,
            ] {
                for voi in [
                    VoiFunction::Linear,
                    VoiFunction::LinearExact,
                    VoiFunction::Sigmoid,
                ] {
                    for slab in [SlabMode::Mip, SlabMode::Mean, SlabMode::MinIp] {
                        let variant = Variant::new(kind, interpolation, voi, slab);
                        if !all.contains(&variant) {
                            all.push(variant);
                        }
                    }
                }
            }
        }
        all
    }
}

/// Layouts for every kind (cheap, needed at upload time for the texture's
/// bind group) and pipelines for the variants drawn so far.
pub(crate) struct Pipelines {
    target_format: wgpu::TextureFormat,
    /// The target stores sRGB, so the shaders pre-distort their output.
    srgb_output: bool,
    pub uniform_layout: wgpu::BindGroupLayout,
    texture_layouts: [wgpu::BindGroupLayout; 5],
    pipelines: HashMap<Variant, wgpu::RenderPipeline>,
}

impl Pipelines {
    pub fn new(
        device: &wgpu::Device,
        target_format: wgpu::TextureFormat,
        srgb_output: bool,
    ) -> Pipelines {
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
            srgb_output,
            uniform_layout,
            texture_layouts,
            pipelines: HashMap::new(),
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

    /// Builds the pipeline for `variant` unless it exists (shader
    /// compilation is the slow part of a first frame, so variants never
    /// drawn cost nothing).
    pub fn ensure(&mut self, device: &wgpu::Device, variant: Variant) {
        if self.pipelines.contains_key(&variant) {
            return;
        }
        let kind = variant.kind;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("viewer-render shader"),
            source: wgpu::ShaderSource::Wgsl(variant.source(self.srgb_output).into()),
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
        self.pipelines.insert(variant, pipeline);
    }

    /// The pipeline for `variant`, if [`Pipelines::ensure`] built it.
    pub fn get(&self, variant: Variant) -> Option<&wgpu::RenderPipeline> {
        self.pipelines.get(&variant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant parses and validates as WGSL (naga, the compiler wgpu
    /// itself uses), so a shader typo fails without a GPU.
    #[test]
    fn every_variant_is_valid_wgsl() {
        let all = Variant::all();
        // 3 image kinds: 3 samplers × 3 VOI functions, RGB without VOI;
        // 2 volume kinds: 2 samplers × 3 VOI functions × 3 slab modes.
        assert_eq!(all.len(), 2 * 9 + 3 + 2 * 18);
        for variant in all {
            for srgb in [false, true] {
                let source = variant.source(srgb);
                let module = naga::front::wgsl::parse_str(&source)
                    .unwrap_or_else(|e| panic!("{variant:?}: {}", e.emit_to_string(&source)));
                naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::empty(),
                )
                .validate(&module)
                .unwrap_or_else(|e| panic!("{variant:?}: {e:?}"));
                let entry_points: Vec<_> = module
                    .entry_points
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect();
                assert_eq!(entry_points, ["vs_main", "fs_main"], "{variant:?}");
            }
        }
    }

    #[test]
    fn choices_that_do_not_apply_make_no_new_variant() {
        let image =
            |interpolation, voi, slab| Variant::new(Kind::ImageSint, interpolation, voi, slab);
        assert_eq!(
            image(Interpolation::Bilinear, VoiFunction::Linear, SlabMode::Mean),
            image(Interpolation::Bilinear, VoiFunction::Linear, SlabMode::Mip)
        );
        let rgb = |voi| Variant::new(Kind::ImageRgba, Interpolation::Nearest, voi, SlabMode::Mip);
        assert_eq!(rgb(VoiFunction::Sigmoid), rgb(VoiFunction::Linear));
        let volume = |interpolation| {
            Variant::new(
                Kind::VolumeUint,
                interpolation,
                VoiFunction::Linear,
                SlabMode::Mip,
            )
        };
        assert_eq!(
            volume(Interpolation::Bicubic),
            volume(Interpolation::Bilinear)
        );
        assert_ne!(
            volume(Interpolation::Nearest),
            volume(Interpolation::Bilinear)
        );
    }
}
