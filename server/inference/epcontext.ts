// ONNX Runtime EPContext wrapper models, written and read without any ONNX library.
//
// A wrapper is an ONNX model whose graph is a single `com.microsoft` `EPContext` node with the
// original model's inputs and outputs. ONNX Runtime's TensorRT provider claims a graph made of one
// EPContext node, reads the engine named by `ep_cache_context` (embed_mode 0: a path RELATIVE to
// the wrapper's own directory; absolute paths and '..' are refused by the provider) and
// deserialises it instead of parsing and compiling the ONNX graph. The provider only warns when
// `hardware_architecture` (compute capability as "87", "72"...) differs from the GPU, and does not
// know which model the engine came from — engine-cache.ts keeps that check.
//
// Only the subset of onnx.proto needed here is implemented (field numbers from onnx/onnx.proto):
// ModelProto, OperatorSetIdProto, GraphProto, NodeProto, AttributeProto, ValueInfoProto,
// TypeProto(.Tensor), TensorShapeProto, StringStringEntryProto. Unknown fields are skipped when
// reading, so real models (with initializers) parse too. The protobuf codec is protobuf.ts.

import { int64, readFields, str, Writer } from './protobuf.js';

// ---- the ONNX subset ----------------------------------------------------------------------

/** TensorProto.DataType values used here. */
export const ONNX_DTYPE: Record<string, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
};
const DTYPE_NAME = Object.fromEntries(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k])) as Record<number, string>;
export const dtypeName = (elemType: number) => DTYPE_NAME[elemType] ?? `onnx-dtype-${elemType}`;

/** A dimension: a number, or a symbolic name (dynamic), or null (unknown). */
export type Dim = number | string | null;

export interface TensorInfo {
  name: string;
  /** TensorProto.DataType */
  elemType: number;
  /** undefined when the shape is not given at all */
  shape?: Dim[];
}

export type AttrValue = { type: 'int'; i: number } | { type: 'string'; s: Buffer } | { type: 'float'; f: number } | { type: 'other'; typeCode: number };

export interface NodeInfo {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttrValue>;
}

export interface ModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: { domain: string; version: number }[];
  graphName: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  nodes: NodeInfo[];
  /** graph.initializer names: ONNX < IR 4 listed initializers among inputs */
  initializerNames: Set<string>;
  metadata: Record<string, string>;
}

const AT_FLOAT = 1,
  AT_INT = 2,
  AT_STRING = 3;

function parseTensorInfo(buf: Buffer): TensorInfo {
  const info: TensorInfo = { name: '', elemType: 0 };
  for (const f of readFields(buf)) {
    if (f.field === 1) info.name = str(f);
    else if (f.field === 2 && f.buf) {
      // TypeProto
      for (const t of readFields(f.buf)) {
        if (t.field !== 1 || !t.buf) continue; // tensor_type
        for (const tt of readFields(t.buf)) {
          if (tt.field === 1) info.elemType = int64(tt);
          else if (tt.field === 2 && tt.buf) {
            info.shape = [];
            for (const d of readFields(tt.buf)) {
              if (d.field !== 1 || !d.buf) continue;
              let dim: Dim = null;
              for (const dv of readFields(d.buf)) {
                if (dv.field === 1) dim = int64(dv);
                else if (dv.field === 2) dim = str(dv);
              }
              info.shape.push(dim);
            }
          }
        }
      }
    }
  }
  return info;
}

function parseNode(buf: Buffer): NodeInfo {
  const node: NodeInfo = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: {} };
  for (const f of readFields(buf)) {
    if (f.field === 1) node.inputs.push(str(f));
    else if (f.field === 2) node.outputs.push(str(f));
    else if (f.field === 3) node.name = str(f);
    else if (f.field === 4) node.opType = str(f);
    else if (f.field === 7) node.domain = str(f);
    else if (f.field === 5 && f.buf) {
      let name = '';
      let type = 0;
      let i: number | undefined, s: Buffer | undefined, fl: number | undefined;
      for (const a of readFields(f.buf)) {
        if (a.field === 1) name = str(a);
        else if (a.field === 20) type = int64(a);
        else if (a.field === 3) i = int64(a);
        else if (a.field === 4) s = a.buf;
        else if (a.field === 2 && a.num !== undefined) {
          const b = Buffer.alloc(4);
          b.writeUInt32LE(Number(a.num));
          fl = b.readFloatLE(0);
        }
      }
      if (type === AT_INT || (type === 0 && i !== undefined)) node.attributes[name] = { type: 'int', i: i ?? 0 };
      else if (type === AT_STRING || (type === 0 && s !== undefined)) node.attributes[name] = { type: 'string', s: s ?? Buffer.alloc(0) };
      else if (type === AT_FLOAT) node.attributes[name] = { type: 'float', f: fl ?? 0 };
      else node.attributes[name] = { type: 'other', typeCode: type };
    }
  }
  return node;
}

/** Parses the parts of an ONNX ModelProto that the engine tools need. */
export function parseOnnxModel(bytes: Buffer): ModelInfo {
  const m: ModelInfo = {
    irVersion: 0,
    producerName: '',
    producerVersion: '',
    opsets: [],
    graphName: '',
    inputs: [],
    outputs: [],
    nodes: [],
    initializerNames: new Set(),
    metadata: {},
  };
  let sawGraph = false;
  for (const f of readFields(bytes)) {
    if (f.field === 1) m.irVersion = int64(f);
    else if (f.field === 2) m.producerName = str(f);
    else if (f.field === 3) m.producerVersion = str(f);
    else if (f.field === 8 && f.buf) {
      const o = { domain: '', version: 0 };
      for (const x of readFields(f.buf)) {
        if (x.field === 1) o.domain = str(x);
        else if (x.field === 2) o.version = int64(x);
      }
      m.opsets.push(o);
    } else if (f.field === 14 && f.buf) {
      let k = '',
        v = '';
      for (const x of readFields(f.buf)) {
        if (x.field === 1) k = str(x);
        else if (x.field === 2) v = str(x);
      }
      m.metadata[k] = v;
    } else if (f.field === 7 && f.buf) {
      sawGraph = true;
      for (const g of readFields(f.buf)) {
        if (g.field === 1 && g.buf) m.nodes.push(parseNode(g.buf));
        else if (g.field === 2) m.graphName = str(g);
        else if (g.field === 11 && g.buf) m.inputs.push(parseTensorInfo(g.buf));
        else if (g.field === 12 && g.buf) m.outputs.push(parseTensorInfo(g.buf));
        else if (g.field === 5 && g.buf) {
          for (const t of readFields(g.buf)) if (t.field === 8) m.initializerNames.add(str(t)); // TensorProto.name
        }
      }
    }
  }
  if (!sawGraph || m.irVersion === 0) throw new Error('not an ONNX model (no ir_version or graph)');
  m.inputs = m.inputs.filter((i) => !m.initializerNames.has(i.name));
  return m;
}

function tensorInfoProto(t: TensorInfo): Writer {
  const tensorType = new Writer().int(1, t.elemType);
  if (t.shape) {
    const shape = new Writer();
    for (const d of t.shape) {
      const dim = new Writer();
      if (typeof d === 'number') dim.int(1, d);
      else if (typeof d === 'string') dim.bytes(2, d);
      shape.msg(1, dim);
    }
    tensorType.msg(2, shape);
  }
  return new Writer().bytes(1, t.name).msg(2, new Writer().msg(1, tensorType));
}

function attrProto(name: string, v: number | string | Buffer): Writer {
  const w = new Writer().bytes(1, name);
  if (typeof v === 'number') return w.int(3, v).int(20, AT_INT);
  return w.bytes(4, v).int(20, AT_STRING);
}

export const EPCONTEXT_OP = 'EPContext';
export const EPCONTEXT_DOMAIN = 'com.microsoft';
export const TRT_EP_SOURCE = 'TensorrtExecutionProvider';

export interface EpContextSpec {
  /** engine path relative to the wrapper's directory (embed_mode 0) */
  engineFile: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** compute capability as the TensorRT provider writes it: major*10+minor, e.g. "87" (Orin), "72" (Xavier) */
  hardwareArchitecture: string;
  /** TensorRT version the engine was built with, e.g. "8.5.2" */
  sdkVersion: string;
  /** the original ONNX model's file name (informational; the provider uses it only for weight refit) */
  onnxModelFilename: string;
  partitionName: string;
  irVersion: number;
  opsetVersion: number;
  notes?: string;
  metadata?: Record<string, string>;
}

/** A relative path the TensorRT provider will accept: no leading '/', no '..' anywhere. */
export function checkEngineRef(p: string): string | undefined {
  if (p === '') return 'empty engine path';
  if (p.startsWith('/')) return `engine path must be relative to the wrapper, got absolute ${p}`;
  if (p.includes('..')) return `engine path must not contain '..' (the TensorRT provider refuses it): ${p}`;
  return undefined;
}

/** Serialises an EPContext wrapper model (embed_mode 0: the engine stays in its own file). */
export function buildEpContextModel(spec: EpContextSpec): Buffer {
  const bad = checkEngineRef(spec.engineFile);
  if (bad) throw new Error(bad);
  const node = new Writer();
  for (const i of spec.inputs) node.bytes(1, i.name);
  for (const o of spec.outputs) node.bytes(2, o.name);
  node.bytes(3, spec.partitionName).bytes(4, EPCONTEXT_OP);
  const attrs: [string, number | string][] = [
    ['main_context', 1],
    ['embed_mode', 0],
    ['ep_cache_context', spec.engineFile],
    ['ep_sdk_version', spec.sdkVersion],
    ['hardware_architecture', spec.hardwareArchitecture],
    ['onnx_model_filename', spec.onnxModelFilename],
    ['partition_name', spec.partitionName],
    ['source', TRT_EP_SOURCE],
  ];
  if (spec.notes) attrs.push(['notes', spec.notes]);
  for (const [k, v] of attrs) node.msg(5, attrProto(k, v));
  node.bytes(7, EPCONTEXT_DOMAIN);

  const graph = new Writer().msg(1, node).bytes(2, `${spec.partitionName}_graph`);
  for (const i of spec.inputs) graph.msg(11, tensorInfoProto(i));
  for (const o of spec.outputs) graph.msg(12, tensorInfoProto(o));

  const model = new Writer()
    .int(1, spec.irVersion)
    .bytes(2, 'crackscope build-engine')
    .bytes(3, '1')
    .msg(7, graph)
    .msg(8, new Writer().bytes(1, '').int(2, spec.opsetVersion))
    .msg(8, new Writer().bytes(1, EPCONTEXT_DOMAIN).int(2, 1));
  for (const [k, v] of Object.entries(spec.metadata ?? {})) model.msg(14, new Writer().bytes(1, k).bytes(2, v));
  return model.finish();
}

export interface EpContextInfo {
  node: NodeInfo;
  engineFile: string;
  embedMode: number;
  hardwareArchitecture?: string;
  sdkVersion?: string;
  source?: string;
  model: ModelInfo;
}

/** Reads a wrapper back; throws with a readable reason when it is not a single-node EPContext model. */
export function parseEpContextModel(bytes: Buffer): EpContextInfo {
  const model = parseOnnxModel(bytes);
  if (model.nodes.length !== 1) throw new Error(`not an EPContext wrapper: ${model.nodes.length} nodes (want exactly 1)`);
  const node = model.nodes[0];
  if (node.opType !== EPCONTEXT_OP || node.domain !== EPCONTEXT_DOMAIN)
    throw new Error(`not an EPContext wrapper: node is ${node.domain || 'ai.onnx'}::${node.opType}`);
  const s = (k: string) => (node.attributes[k]?.type === 'string' ? (node.attributes[k] as { s: Buffer }).s.toString('utf8') : undefined);
  const embed = node.attributes.embed_mode;
  const embedMode = embed?.type === 'int' ? embed.i : 1; // the op's default is 1
  return {
    node,
    model,
    embedMode,
    engineFile: embedMode === 0 ? (s('ep_cache_context') ?? '') : '',
    hardwareArchitecture: s('hardware_architecture'),
    sdkVersion: s('ep_sdk_version'),
    source: s('source'),
  };
}
