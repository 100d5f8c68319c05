//! Frame decoding off the main thread.
//!
//! The page compiles the wasm module once and hands it to a few module
//! workers (`decode-worker.js`), which instantiate it and call
//! [`decode_frame`] on the bytes the main thread fetched. The main thread
//! only fetches, copies the decoded stored values into the series, and
//! draws, so scrolling and window/level never wait for a decoder. Where
//! workers cannot be started, frames are decoded inline by the same
//! function.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{
    Array, ArrayBuffer, Function, Int16Array, Object, Promise, Reflect, Uint8Array, Uint16Array,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::frames::part_transfer_syntax;
use crate::multipart;
use crate::pixels::StoredPixels;
use viewer_codecs::{FrameDescriptor, Pixels};

/// Where the worker script is served.
const WORKER_URL: &str = "/viewer-assets/decode-worker.js";

/// Decodes the first frame of a WADO-RS frame response. Called in the
/// workers; `descriptor` is a [`FrameDescriptor`] as JSON. Returns
/// `{kind, data, min, max}` where `data` is a typed array of stored values
/// and `min`/`max` their range. An error message starting with `retry:`
/// means the frame must be requested uncompressed.
#[wasm_bindgen]
pub fn decode_frame(
    content_type: &str,
    accept: &str,
    body: &[u8],
    descriptor: &str,
) -> Result<JsValue, JsError> {
    let decoded = decode_response(content_type, accept, body, descriptor)
        .map_err(|failure| JsError::new(&failure.encode()))?;
    let result = Object::new();
    let set = |key: &str, value: &JsValue| {
        let _ = Reflect::set(&result, &JsValue::from_str(key), value);
    };
    set("kind", &JsValue::from_str(decoded.pixels.kind()));
    set("data", &to_typed_array(&decoded.pixels));
    set("min", &JsValue::from_f64(decoded.min));
    set("max", &JsValue::from_f64(decoded.max));
    Ok(result.into())
}

/// Splits the response and decodes its first part.
fn decode_response(
    content_type: &str,
    accept: &str,
    body: &[u8],
    descriptor: &str,
) -> Result<Decoded, DecodeFailure> {
    let description: FrameDescriptor = serde_json::from_str(descriptor)
        .map_err(|e| DecodeFailure::Broken(format!("bad frame description: {e}")))?;
    let parts =
        multipart::split(content_type, body).map_err(|e| DecodeFailure::Broken(e.to_string()))?;
    let part = parts.first().ok_or_else(|| {
        DecodeFailure::Broken("the server's frame response holds no frame".into())
    })?;
    let syntax = part_transfer_syntax(part.transfer_syntax(), accept);
    let pixels =
        viewer_codecs::decode(&syntax, &body[part.body.clone()], &description).map_err(|e| {
            if e.needs_server_decoding() {
                DecodeFailure::NeedsServer(e.to_string())
            } else {
                DecodeFailure::Broken(e.to_string())
            }
        })?;
    let pixels = match pixels {
        Pixels::U8(v) => StoredPixels::U8(v),
        Pixels::U16(v) => StoredPixels::U16(v),
        Pixels::I16(v) => StoredPixels::I16(v),
        Pixels::Rgb8(v) => StoredPixels::Rgb8(v),
    };
    let (min, max) = pixels.range();
    Ok(Decoded { pixels, min, max })
}

fn to_typed_array(pixels: &StoredPixels) -> JsValue {
    match pixels {
        StoredPixels::U8(v) | StoredPixels::Rgb8(v) => Uint8Array::from(v.as_slice()).into(),
        StoredPixels::U16(v) => Uint16Array::from(v.as_slice()).into(),
        StoredPixels::I16(v) => Int16Array::from(v.as_slice()).into(),
    }
}

fn from_typed_array(kind: &str, data: &JsValue) -> Option<StoredPixels> {
    Some(match kind {
        "u8" => StoredPixels::U8(data.dyn_ref::<Uint8Array>()?.to_vec()),
        "rgb8" => StoredPixels::Rgb8(data.dyn_ref::<Uint8Array>()?.to_vec()),
        "u16" => StoredPixels::U16(data.dyn_ref::<Uint16Array>()?.to_vec()),
        "i16" => StoredPixels::I16(data.dyn_ref::<Int16Array>()?.to_vec()),
        _ => return None,
    })
}

/// A decoded frame as the main thread receives it.
pub struct Decoded {
    pub pixels: StoredPixels,
    pub min: f64,
    pub max: f64,
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone)]
pub enum DecodeFailure {
    /// The codec cannot handle this frame: ask the server for it
    /// uncompressed.
    NeedsServer(String),
    /// The frame or its metadata is broken.
    Broken(String),
}

impl DecodeFailure {
    /// The failure as one string for the trip back from a worker.
    fn encode(&self) -> String {
        match self {
            DecodeFailure::NeedsServer(m) => format!("retry:{m}"),
            DecodeFailure::Broken(m) => m.clone(),
        }
    }

    fn from_message(message: String) -> DecodeFailure {
        match message.strip_prefix("retry:") {
            Some(rest) => DecodeFailure::NeedsServer(rest.to_owned()),
            None => DecodeFailure::Broken(message),
        }
    }

    /// The message for the person reading.
    pub fn message(&self) -> &str {
        match self {
            DecodeFailure::NeedsServer(m) | DecodeFailure::Broken(m) => m,
        }
    }
}

type Pending = Rc<RefCell<HashMap<u32, (Function, Function)>>>;

/// A few workers sharing the page's compiled module, and the jobs in
/// flight on each.
pub struct DecodePool {
    workers: Vec<(Worker, Rc<Cell<u32>>)>,
    pending: Pending,
    next_id: Cell<u32>,
}

impl DecodePool {
    /// Starts `count` workers with the compiled `module`; none (inline
    /// decoding) when the module is missing or workers cannot start.
    pub fn new(module: &JsValue, count: usize) -> DecodePool {
        let pending: Pending = Rc::new(RefCell::new(HashMap::new()));
        let mut workers = Vec::new();
        if module.is_instance_of::<js_sys::WebAssembly::Module>() {
            for _ in 0..count {
                match start_worker(module, &pending) {
                    Some(worker) => workers.push(worker),
                    None => break,
                }
            }
        }
        DecodePool {
            workers,
            pending,
            next_id: Cell::new(1),
        }
    }

    /// Decodes one fetched frame response.
    pub async fn decode(
        &self,
        content_type: &str,
        accept: &str,
        body: ArrayBuffer,
        descriptor: &str,
    ) -> Result<Decoded, DecodeFailure> {
        let Some((worker, load)) = self.workers.iter().min_by_key(|(_, load)| load.get()) else {
            let bytes = Uint8Array::new(&body).to_vec();
            return decode_response(content_type, accept, &bytes, descriptor);
        };
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        let pending = self.pending.clone();
        let promise = Promise::new(&mut |resolve, reject| {
            pending.borrow_mut().insert(id, (resolve, reject));
        });
        let message = Object::new();
        let set = |key: &str, value: &JsValue| {
            let _ = Reflect::set(&message, &JsValue::from_str(key), value);
        };
        set("id", &JsValue::from(id));
        set("contentType", &JsValue::from_str(content_type));
        set("accept", &JsValue::from_str(accept));
        set("descriptor", &JsValue::from_str(descriptor));
        set("body", &body);
        load.set(load.get() + 1);
        if worker
            .post_message_with_transfer(&message, &Array::of1(&body))
            .is_err()
        {
            self.pending.borrow_mut().remove(&id);
            load.set(load.get().saturating_sub(1));
            return Err(DecodeFailure::Broken(
                "the decoder could not be reached".into(),
            ));
        }
        let outcome = JsFuture::from(promise).await;
        load.set(load.get().saturating_sub(1));
        match outcome {
            Ok(value) => read_result(&value),
            Err(error) => Err(DecodeFailure::from_message(
                error
                    .as_string()
                    .unwrap_or_else(|| "the decoder failed".into()),
            )),
        }
    }
}

fn start_worker(module: &JsValue, pending: &Pending) -> Option<(Worker, Rc<Cell<u32>>)> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = Worker::new_with_options(WORKER_URL, &options).ok()?;
    let init = Object::new();
    let _ = Reflect::set(&init, &JsValue::from_str("module"), module);
    worker.post_message(&init).ok()?;

    let pending_for_messages = pending.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        let Some(id) = Reflect::get(&data, &JsValue::from_str("id"))
            .ok()
            .and_then(|v| v.as_f64())
        else {
            return;
        };
        let Some((resolve, reject)) = pending_for_messages.borrow_mut().remove(&(id as u32)) else {
            return;
        };
        let error = Reflect::get(&data, &JsValue::from_str("error")).unwrap_or(JsValue::UNDEFINED);
        if error.is_undefined() {
            let _ = resolve.call1(&JsValue::NULL, &data);
        } else {
            let _ = reject.call1(&JsValue::NULL, &error);
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();

    // A worker that fails to load (script missing, module workers not
    // supported) rejects everything waiting on the pool, so no frame waits
    // forever.
    let pending_for_errors = pending.clone();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_event: web_sys::Event| {
        for (_, (_, reject)) in pending_for_errors.borrow_mut().drain() {
            let _ = reject.call1(
                &JsValue::NULL,
                &JsValue::from_str("the frame decoder stopped working"),
            );
        }
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    Some((worker, Rc::new(Cell::new(0))))
}

fn read_result(value: &JsValue) -> Result<Decoded, DecodeFailure> {
    let get =
        |key: &str| Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
    let kind = get("kind").as_string().unwrap_or_default();
    let pixels = from_typed_array(&kind, &get("data"))
        .ok_or_else(|| DecodeFailure::Broken("the decoder returned no pixels".into()))?;
    Ok(Decoded {
        pixels,
        min: get("min").as_f64().unwrap_or(0.0),
        max: get("max").as_f64().unwrap_or(0.0),
    })
}
