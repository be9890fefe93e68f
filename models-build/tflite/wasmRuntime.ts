import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The TFLite interpreter (with its XNNPACK delegate) compiled to WASM, as shipped inside the dev dependency
 * `@tensorflow/tfjs-tflite`, driven directly from Node. It is the independent reference the converter is tested
 * against — test-only code.
 *
 * Why not the package's own `loadTFLiteModel`: its loader is written for browsers (it injects a <script> tag or
 * calls importScripts, and fetches the .wasm over HTTP). The Emscripten factory it loads is also a CommonJS
 * module, so we require it ourselves and hand it the .wasm bytes (`wasmBinary`) — no fetch, no DOM. The plain
 * SIMD build is used: the threaded ones need browser workers.
 */

interface EmscriptenTensorInfo {
  name: string;
  shape: string;
  dataType: string;
  data(): Float32Array;
  delete(): void;
}
interface EmscriptenVector<T> {
  size(): number;
  get(i: number): T;
  delete(): void;
}
interface EmscriptenRunner {
  GetInputs(): EmscriptenVector<EmscriptenTensorInfo>;
  GetOutputs(): EmscriptenVector<EmscriptenTensorInfo>;
  Infer(): boolean;
  delete(): void;
}
interface EmscriptenModule {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  TFLiteWebModelRunner: {
    CreateFromBufferAndOptions(
      ptr: number,
      len: number,
      options: { numThreads: number; enableProfiling: boolean; maxProfilingBufferEntries: number },
    ): { ok(): boolean; errorMessage(): string; value(): EmscriptenRunner };
  };
}

let modulePromise: Promise<EmscriptenModule> | null = null;

function loadModule(): Promise<EmscriptenModule> {
  modulePromise ??= (async () => {
    const require = createRequire(import.meta.url);
    const script = require.resolve('@tensorflow/tfjs-tflite/wasm/tflite_web_api_cc_simd.js');
    const factory = require(script) as (opts: { wasmBinary: Uint8Array; print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<EmscriptenModule>;
    const wasmBinary = await readFile(join(dirname(script), 'tflite_web_api_cc_simd.wasm'));
    // The runtime prints "INFO: Created TensorFlow Lite XNNPACK delegate" on stderr; keep errors, drop the chatter.
    return factory({ wasmBinary, print: () => {}, printErr: (s) => (s.startsWith('INFO:') ? undefined : console.error(s)) });
  })();
  return modulePromise;
}

export interface TfliteWasmRunner {
  inputShape: number[];
  outputShape: number[];
  /** Runs one inference on an NHWC float32 input; returns a copy of the first output. */
  run(input: Float32Array): Float32Array;
  dispose(): void;
}

export async function createTfliteWasmRunner(modelBytes: Uint8Array, numThreads = 1): Promise<TfliteWasmRunner> {
  const m = await loadModule();
  // TFLite keeps pointers into the model buffer for the interpreter's lifetime: free it only in dispose().
  const ptr = m._malloc(modelBytes.length);
  m.HEAPU8.set(modelBytes, ptr);
  const status = m.TFLiteWebModelRunner.CreateFromBufferAndOptions(ptr, modelBytes.length, {
    numThreads,
    enableProfiling: false,
    maxProfilingBufferEntries: 1024,
  });
  if (!status.ok()) {
    m._free(ptr);
    throw new Error(`TFLite WASM runtime refused the model: ${status.errorMessage()}`);
  }
  const runner = status.value();
  // Embind hands out C++ objects that must be deleted explicitly; read what is needed from the first tensor.
  const first = <R>(v: EmscriptenVector<EmscriptenTensorInfo>, read: (t: EmscriptenTensorInfo) => R): R => {
    const t = v.get(0);
    v.delete();
    try {
      return read(t);
    } finally {
      t.delete();
    }
  };
  const shapeOf = (t: EmscriptenTensorInfo): number[] => t.shape.split(',').map(Number);
  const inputShape = first(runner.GetInputs(), shapeOf);
  const outputShape = first(runner.GetOutputs(), shapeOf);

  return {
    inputShape,
    outputShape,
    run(input) {
      // data() views the WASM heap, which may move when memory grows: fetch fresh views on every call.
      const inView = first(runner.GetInputs(), (t) => t.data());
      if (inView.length !== input.length) throw new Error(`input has ${input.length} values, model expects ${inView.length}`);
      inView.set(input);
      if (!runner.Infer()) throw new Error('TFLite WASM inference failed');
      return first(runner.GetOutputs(), (t) => t.data().slice());
    },
    dispose() {
      runner.delete();
      m._free(ptr);
    },
  };
}
