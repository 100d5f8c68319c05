//! Copying a rendered frame back to the CPU.

use crate::error::RenderError;

/// Reads `texture` (8-bit RGBA or BGRA, sRGB or not) as tightly packed
/// RGBA rows from the top: the bytes the target stores, unconverted.
pub(crate) async fn read_rgba(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
) -> Result<Vec<u8>, RenderError> {
    let width = texture.width();
    let height = texture.height();
    let row_bytes = width * 4;
    let padded_row = row_bytes.next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
    let buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("viewer-render readback"),
        size: u64::from(padded_row) * u64::from(height),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("viewer-render readback"),
    });
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded_row),
                rows_per_image: Some(height),
            },
        },
        texture.size(),
    );
    queue.submit([encoder.finish()]);

    let (sender, receiver) = futures::channel::oneshot::channel();
    buffer
        .slice(..)
        .map_async(wgpu::MapMode::Read, move |result| {
            // The receiver is dropped only if the caller gave up waiting.
            let _ = sender.send(result);
        });
    wait_for_map(device, receiver)
        .await?
        .map_err(|e| RenderError::Readback(e.to_string()))?;

    let mapped = buffer
        .slice(..)
        .get_mapped_range()
        .map_err(|e| RenderError::Readback(e.to_string()))?;
    let pixels = unpad(
        &mapped,
        row_bytes as usize,
        padded_row as usize,
        height as usize,
    );
    drop(mapped);
    buffer.unmap();
    let bgra = matches!(
        texture.format(),
        wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
    );
    Ok(if bgra { bgra_to_rgba(pixels) } else { pixels })
}

type MapResult = Result<(), wgpu::BufferAsyncError>;

/// Natively the map completes inside a blocking poll.
#[cfg(not(target_arch = "wasm32"))]
async fn wait_for_map(
    device: &wgpu::Device,
    receiver: futures::channel::oneshot::Receiver<MapResult>,
) -> Result<MapResult, RenderError> {
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| RenderError::Readback(e.to_string()))?;
    receiver
        .await
        .map_err(|_| RenderError::Readback("the map request was dropped".into()))
}

/// In a browser the map completes in a later task: WebGPU resolves its
/// promise from the event loop, and WebGL2 fences change state only
/// between tasks, so poll and yield to the event loop until it is done.
#[cfg(target_arch = "wasm32")]
async fn wait_for_map(
    device: &wgpu::Device,
    mut receiver: futures::channel::oneshot::Receiver<MapResult>,
) -> Result<MapResult, RenderError> {
    loop {
        // Errors here only say that nothing was ready yet.
        let _ = device.poll(wgpu::PollType::Poll);
        match receiver.try_recv() {
            Ok(Some(result)) => return Ok(result),
            Ok(None) => next_task().await?,
            Err(_) => {
                return Err(RenderError::Readback("the map request was dropped".into()));
            }
        }
    }
}

/// Resolves in a later event-loop task (`setTimeout(0)`), in a window or a
/// worker alike.
#[cfg(target_arch = "wasm32")]
async fn next_task() -> Result<(), RenderError> {
    use wasm_bindgen::JsCast;
    let global = js_sys::global();
    let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| RenderError::Readback("setTimeout is not available".into()))?;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let _ = set_timeout.call2(&global, &resolve, &0.into());
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(|_| RenderError::Readback("waiting for the next task failed".into()))
}

fn unpad(data: &[u8], row_bytes: usize, padded_row: usize, rows: usize) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(row_bytes * rows);
    for row in data.chunks(padded_row).take(rows) {
        pixels.extend_from_slice(&row[..row_bytes]);
    }
    pixels
}

fn bgra_to_rgba(mut pixels: Vec<u8>) -> Vec<u8> {
    for pixel in pixels.chunks_exact_mut(4) {
        pixel.swap(0, 2);
    }
    pixels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpad_drops_row_padding() {
        // Two rows of one pixel each, padded to 8 bytes per row.
        let data = [1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8, 0, 0, 0, 0];
        assert_eq!(unpad(&data, 4, 8, 2), [1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn bgra_swaps_red_and_blue() {
        assert_eq!(bgra_to_rgba(vec![10, 20, 30, 255]), [30, 20, 10, 255]);
    }
}
