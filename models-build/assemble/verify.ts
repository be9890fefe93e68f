import ort from 'onnxruntime-node';

export interface TensorExpectation {
  name: string;
  shape: number[];
}

/**
 * Opens a built model in onnxruntime (CPU) and checks the input and output the engine will use: a file that
 * merely exists is not proof that the engine can run it. Other outputs (ISNet has 11 side outputs) are allowed.
 */
export async function verifyOnnx(path: string, input: TensorExpectation, output: TensorExpectation): Promise<void> {
  const session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
  try {
    check(path, 'input', session.inputMetadata, input);
    check(path, 'output', session.outputMetadata, output);
  } finally {
    await session.release();
  }
}

function check(path: string, kind: string, metadata: readonly ort.InferenceSession.ValueMetadata[], want: TensorExpectation): void {
  const meta = metadata.find((m) => m.name === want.name);
  if (!meta) throw new Error(`${path}: no ${kind} named "${want.name}" (has ${metadata.map((m) => m.name).join(', ')})`);
  if (!meta.isTensor || meta.type !== 'float32') throw new Error(`${path}: ${kind} "${want.name}" is not a float32 tensor`);
  if (meta.shape.join() !== want.shape.join()) {
    throw new Error(`${path}: ${kind} "${want.name}" has shape [${meta.shape.join(',')}], expected [${want.shape.join(',')}]`);
  }
}
