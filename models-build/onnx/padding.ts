/**
 * TFLite's padding rules for one spatial axis, turned into explicit ONNX pads. ONNX `auto_pad` is avoided on
 * purpose: explicit numbers make the asymmetric case visible and do not depend on a runtime's reading of it.
 *
 * SAME: out = ceil(in / s); total = max((out − 1)·s + k_eff − in, 0), k_eff = (k − 1)·d + 1. TFLite puts
 * floor(total / 2) before and the rest AFTER — for stride 2 with an even input the single extra pad row/column
 * goes at the end (like ONNX SAME_UPPER, unlike PyTorch's symmetric padding).
 * VALID: out = ceil((in − k_eff + 1) / s), no padding.
 */
export interface AxisPadding {
  outSize: number;
  padBegin: number;
  padEnd: number;
}

export function tflitePadding(padding: 'SAME' | 'VALID', inSize: number, kernel: number, stride: number, dilation = 1): AxisPadding {
  const kEff = (kernel - 1) * dilation + 1;
  if (padding === 'VALID') return { outSize: Math.ceil((inSize - kEff + 1) / stride), padBegin: 0, padEnd: 0 };
  const outSize = Math.ceil(inSize / stride);
  const total = Math.max((outSize - 1) * stride + kEff - inSize, 0);
  const padBegin = Math.floor(total / 2);
  return { outSize, padBegin, padEnd: total - padBegin };
}

/** ONNX `pads` for 2-D ops: [top, left, bottom, right]. */
export function onnxPads(h: AxisPadding, w: AxisPadding): number[] {
  return [h.padBegin, w.padBegin, h.padEnd, w.padEnd];
}
