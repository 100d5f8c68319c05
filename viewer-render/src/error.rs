//! What can go wrong while rendering, in words the application can show.

/// Failures of the renderer.
///
/// [`RenderError::GpuUnavailable`] is the one the application turns into a
/// message for the user ("this browser cannot display images"); the others
/// are bugs or resource limits and carry what is needed to act on them.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Neither WebGPU nor WebGL2 (natively: no Vulkan adapter) could be
    /// opened.
    #[error("no usable GPU: {reason}")]
    GpuUnavailable { reason: String },

    /// The adapter exists but refused to create a device with the limits
    /// the renderer asked for.
    #[error("the GPU adapter refused to open a device: {0}")]
    Device(String),

    /// The canvas surface could not be created, configured or acquired.
    #[error("the canvas cannot be drawn to: {0}")]
    Surface(String),

    /// An image or volume with a zero side.
    #[error("an image of {width}×{height}×{depth} pixels has nothing to show")]
    Empty { width: u32, height: u32, depth: u32 },

    /// The texels do not fill the declared size exactly.
    #[error("{width}×{height}×{depth} pixels need {expected} pixel values, the data has {actual}")]
    TexelCount {
        width: u32,
        height: u32,
        depth: u32,
        expected: u64,
        actual: u64,
    },

    /// A volume's side exceeds what this GPU allows for one 3D texture.
    /// Browsers guarantee only 256 (WebGL2), real ones report far more;
    /// see [`crate::Renderer::texture_limits`]. (2D images beyond the 2D
    /// limit are tiled instead.)
    #[error(
        "{width}×{height}×{depth} pixels exceed this GPU's largest {dimension} texture ({max} per side)"
    )]
    TooLarge {
        width: u32,
        height: u32,
        depth: u32,
        dimension: &'static str,
        max: u32,
    },

    /// Only grey data (8 or 16 bits per sample) can be resliced.
    #[error("colour data cannot be uploaded as a volume; convert to grey first")]
    ColourVolume,

    /// The handle was released, or came from another renderer.
    #[error("{0} is not uploaded to this renderer (released, or from another renderer)")]
    UnknownHandle(String),

    /// A viewport reaching past the target's edge.
    #[error(
        "viewport {x},{y} {width}×{height} reaches past the {target_width}×{target_height} target"
    )]
    ViewportOutside {
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        target_width: u32,
        target_height: u32,
    },

    /// The device is gone (the browser reset the GPU, the driver crashed);
    /// every later call fails the same way.
    #[error("the GPU device was lost ({reason}); the renderer must be created again")]
    DeviceLost { reason: String },

    /// A GPU validation, out-of-memory or internal error reported by wgpu.
    #[error("the GPU reported an error: {0}")]
    Gpu(String),

    /// Copying the frame back to the CPU failed.
    #[error("reading the frame back failed: {0}")]
    Readback(String),
}
