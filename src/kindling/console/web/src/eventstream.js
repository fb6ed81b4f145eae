// AWS's event-stream framing, read from a fetch body: each message is a prelude (total and headers length,
// CRC), headers, a payload and a CRC. The CRCs are not checked (TCP already did); StartLiveTail uses it.
const text = new TextDecoder();
// header value types -> their fixed size in bytes (-1: a 2-byte length, then that many bytes)
const SIZES = { 0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 6: -1, 7: -1, 8: 8, 9: 16 };

function headers(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = {};
  let at = 0;
  while (at < bytes.length) {
    const nameLength = bytes[at];
    const name = text.decode(bytes.subarray(at + 1, at + 1 + nameLength));
    const type = bytes[at + 1 + nameLength];
    at += 2 + nameLength;
    let size = SIZES[type];
    if (size === undefined) throw new Error(`event stream: unknown header type ${type}`);
    if (size < 0) {
      size = view.getUint16(at);
      at += 2;
      if (type === 7) out[name] = text.decode(bytes.subarray(at, at + size));
    }
    at += size;
  }
  return out;
}

/** Each message of the stream as {type, messageType, payload (parsed JSON)}, until the body ends. */
export async function* messages(body) {
  const reader = body.getReader();
  let buffer = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const joined = new Uint8Array(buffer.length + value.length);
    joined.set(buffer);
    joined.set(value, buffer.length);
    buffer = joined;
    while (buffer.length >= 12) {
      const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      const total = view.getUint32(0);
      if (buffer.length < total) break;
      const headersEnd = 12 + view.getUint32(4);
      const meta = headers(buffer.subarray(12, headersEnd));
      const payload = text.decode(buffer.subarray(headersEnd, total - 4));
      yield { type: meta[":event-type"] || meta[":exception-type"], messageType: meta[":message-type"], payload: payload ? JSON.parse(payload) : {} };
      buffer = buffer.subarray(total);
    }
  }
}
