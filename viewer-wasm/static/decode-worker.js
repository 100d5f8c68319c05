// Decodes WADO-RS frame responses off the page's main thread, with the
// viewer's own wasm module: the page compiles it once and sends it here
// first; every later message is one frame to decode.
import init, { decode_frame } from './viewer_wasm.js';

let ready = null;

self.onmessage = async (event) => {
  const message = event.data;
  if (message.module) {
    ready = init({ module_or_path: message.module });
    return;
  }
  try {
    await ready;
    const out = decode_frame(
      message.contentType,
      message.accept,
      new Uint8Array(message.body),
      message.descriptor,
    );
    self.postMessage(
      { id: message.id, kind: out.kind, data: out.data, min: out.min, max: out.max },
      [out.data.buffer],
    );
  } catch (error) {
    const text = error && error.message ? error.message : String(error);
    self.postMessage({ id: message.id, error: text });
  }
};
