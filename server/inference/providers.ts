// Wires the TensorRT engine cache into provider selection: the tensorrt provider runs the EPContext
// wrapper built by `crackscope build-engine`, or is skipped with the reason why.
import type { Config } from '../config/schema.js';
import { resolveTensorrtModel } from './engine-cache.js';
import type { ModelFiles } from './manifest.js';
import type { TensorrtResolution } from './ort-session.js';

export function tensorrtResolver(config: Config): (model: ModelFiles) => TensorrtResolution {
  return (model) => resolveTensorrtModel(config, model);
}
