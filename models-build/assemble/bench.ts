import ort from 'onnxruntime-node';

/**
 * Median latency of one model in onnxruntime-node's CPU EP, for `npm run models -- --bench`. The input content
 * does not change the cost of these convolutional graphs, so a fixed pseudo-random image is used.
 */
export async function benchOnnx(path: string, inputName: string, shape: number[], threads: number, runs = 200): Promise<number> {
  const session = await ort.InferenceSession.create(path, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  try {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000;
    const feeds = { [inputName]: new ort.Tensor('float32', data, shape) };
    for (let i = 0; i < 10; i++) await session.run(feeds); // warm-up: first runs allocate arenas and pick kernels
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    await session.release();
  }
}
