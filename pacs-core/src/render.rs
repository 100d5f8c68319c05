//! Frame decoding and rendering for the DICOMweb `/frames`, `/rendered` and
//! `/thumbnail` resources.
//!
//! Everything here takes plain inputs: the image attributes the caller has
//! parsed ([`ImageHeader`]) and one frame as stored ([`FrameData`]).
//!
//! - [`decode_frame`] turns native or encapsulated (JPEG, JPEG-LS, JPEG 2000,
//!   HTJ2K, RLE) frames into [`DecodedFrame`] samples.
//! - [`native_little_endian`] gives the bytes of an uncompressed `/frames` part.
//! - [`render`] applies the grey-scale pipeline of PS3.3 C.11 (rescale, VOI
//!   window, MONOCHROME1 inversion) or converts colour to RGB, fits the result
//!   to a viewport and encodes PNG or JPEG.
//!
//! Invariants: no step panics on data from a file or a peer (codec panics are
//! caught and reported as [`RenderError::Decode`]); sample bits outside
//! BitsStored are kept in decoded frames and ignored when rendering.

mod codec;
mod error;
mod frame;
mod header;
mod output;
pub mod palette;
mod rle;
mod voi;

#[cfg(test)]
mod tests;

pub(crate) use codec::{JPEG_EXTENDED, is_extended_precision_jpeg};
pub use error::RenderError;
pub use frame::{DecodedFrame, FrameData, Samples, decode_frame, native_little_endian};
pub use header::{EXPLICIT_VR_BIG_ENDIAN, ImageHeader, Photometric};
pub use output::{
    ImageFormat, RenderParams, RenderedPixels, SourceRegion, encode, render, render_pixels,
};
pub use voi::{VoiFunction, Window, to_grey};
