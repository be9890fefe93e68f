import { AttributeType, DataType, encodeModelProto } from './proto.js';

/**
 * A plain, serialisable description of an ONNX inference graph, and the code that encodes it. The converter
 * builds one of these; keeping it as data (not protobuf objects) lets tests inspect what was produced.
 */

export type OnnxAttribute =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttribute>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface OnnxValueInfo {
  name: string;
  /** Always float32 in this project's graphs. */
  shape: number[];
}

export interface OnnxModel {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString: string;
  metadata: Record<string, string>;
  graph: {
    name: string;
    nodes: OnnxNode[];
    initializers: OnnxInitializer[];
    inputs: OnnxValueInfo[];
    outputs: OnnxValueInfo[];
  };
}

export const int = (value: number): OnnxAttribute => ({ kind: 'int', value });
export const ints = (value: number[]): OnnxAttribute => ({ kind: 'ints', value });
export const float = (value: number): OnnxAttribute => ({ kind: 'float', value });
export const str = (value: string): OnnxAttribute => ({ kind: 'string', value });

function encodeAttribute(name: string, a: OnnxAttribute): Record<string, unknown> {
  switch (a.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: a.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: a.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function encodeInitializer(t: OnnxInitializer): Record<string, unknown> {
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== expected) throw new Error(`initializer ${t.name}: ${t.data.length} values for dims [${t.dims}]`);
  // raw_data is little-endian by spec, which is what typed arrays hold on every platform Node runs on here.
  const rawData = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name: t.name, dims: t.dims, dataType: t.data instanceof Float32Array ? DataType.FLOAT : DataType.INT64, rawData };
}

function encodeValueInfo(v: OnnxValueInfo): Record<string, unknown> {
  return {
    name: v.name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: v.shape.map((d) => ({ dimValue: d })) } } },
  };
}

export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  return encodeModelProto({
    irVersion: model.irVersion,
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    docString: model.docString,
    opsetImport: [{ domain: '', version: model.opsetVersion }],
    metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: model.graph.name,
      node: model.graph.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes).map(([k, a]) => encodeAttribute(k, a)),
      })),
      initializer: model.graph.initializers.map(encodeInitializer),
      input: model.graph.inputs.map(encodeValueInfo),
      output: model.graph.outputs.map(encodeValueInfo),
    },
  });
}
