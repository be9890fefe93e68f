/**
 * Typed arrays laid out in one WebAssembly memory, so that JS and a WASM kernel read and write the same bytes without
 * copies: a kernel receives an array as its `byteOffset`.
 *
 * The memory is sized once, up front, and never grows — growing would detach every view handed out before. Each
 * array starts 16-byte aligned (SIMD loads) and is followed by at least 16 spare bytes, so a kernel's 4- or 16-byte
 * load at an array's last elements stays inside the memory. Offset 0 is never handed out.
 */
export class KernelMemory {
  readonly memory: WebAssembly.Memory;
  private next = SLACK;

  constructor(readonly bytes: number) {
    this.memory = new WebAssembly.Memory({ initial: Math.ceil((bytes + SLACK) / PAGE) });
  }

  /** Bytes `arrays` of these lengths take here, alignment and slack included (for sizing a KernelMemory). */
  static bytesFor(...arrays: { length: number; bytes: 1 | 4 }[]): number {
    return arrays.reduce((sum, a) => sum + align(a.length * a.bytes) + SLACK, SLACK);
  }

  f32(length: number): Float32Array {
    return new Float32Array(this.memory.buffer, this.take(length * 4), length);
  }

  i32(length: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.take(length * 4), length);
  }

  u8(length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.take(length), length);
  }

  /** A copy of `values` here (a table a kernel reads), as its byte offset: what the kernel is handed. */
  copyOf(values: Int32Array | Float32Array | Uint8Array): number {
    const copy = values instanceof Int32Array ? this.i32(values.length) : values instanceof Float32Array ? this.f32(values.length) : this.u8(values.length);
    copy.set(values);
    return copy.byteOffset;
  }

  private take(bytes: number): number {
    const at = this.next;
    this.next = at + align(bytes) + SLACK;
    if (this.next > this.bytes + SLACK) throw new Error(`KernelMemory: sized for ${this.bytes} bytes, needs at least ${this.next}`);
    return at;
  }
}

/** The arrays a module allocates, either in a KernelMemory or as plain typed arrays (no kernel involved). */
export interface Allocator {
  f32(length: number): Float32Array;
  i32(length: number): Int32Array;
  u8(length: number): Uint8Array;
}

export const plainAllocator: Allocator = {
  f32: (n) => new Float32Array(n),
  i32: (n) => new Int32Array(n),
  u8: (n) => new Uint8Array(n),
};

const PAGE = 65536;
const SLACK = 16;

function align(bytes: number): number {
  return (bytes + 15) & ~15;
}
