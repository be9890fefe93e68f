import type { TfliteModel, TfliteTensor } from './model.js';
import { tensorElementCount } from './model.js';
import { TensorType, tensorTypeName } from './schema.js';

/** IEEE 754 half → float. Exact (every float16 is representable as a float32). */
export function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal (and ±0)
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The raw bytes behind a constant tensor, or null when the tensor is computed at run time. */
export function tensorBytes(model: TfliteModel, t: TfliteTensor): Uint8Array | null {
  const data = model.buffers[t.buffer];
  return data && data.length > 0 ? data : null;
}

/**
 * A constant FLOAT32 or FLOAT16 tensor as float32 values (float16 widened exactly). The TFLite buffer is copied
 * through a DataView because buffer offsets inside the file are not guaranteed to be 4-byte aligned.
 */
export function constantFloat32(model: TfliteModel, t: TfliteTensor): Float32Array | null {
  const bytes = tensorBytes(model, t);
  if (!bytes) return null;
  const n = tensorElementCount(t);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  if (t.type === TensorType.FLOAT32) {
    expectBytes(t, bytes, n * 4);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  } else if (t.type === TensorType.FLOAT16) {
    expectBytes(t, bytes, n * 2);
    for (let i = 0; i < n; i++) out[i] = float16ToFloat32(dv.getUint16(2 * i, true));
  } else {
    throw new Error(`tensor "${t.name}" is ${tensorTypeName(t.type)}, expected a float constant`);
  }
  return out;
}

/** A constant INT32 tensor (sizes, axes). */
export function constantInt32(model: TfliteModel, t: TfliteTensor): number[] | null {
  const bytes = tensorBytes(model, t);
  if (!bytes) return null;
  if (t.type !== TensorType.INT32) throw new Error(`tensor "${t.name}" is ${tensorTypeName(t.type)}, expected INT32`);
  const n = tensorElementCount(t);
  expectBytes(t, bytes, n * 4);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: n }, (_, i) => dv.getInt32(4 * i, true));
}

function expectBytes(t: TfliteTensor, bytes: Uint8Array, expected: number): void {
  if (bytes.length !== expected) {
    throw new Error(`tensor "${t.name}" [${t.shape.join(',')}] holds ${bytes.length} bytes, expected ${expected}`);
  }
}
