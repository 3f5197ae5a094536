// Wires the TensorRT engine cache into provider selection.
import type { Config } from '../config/schema.js';
import type { ModelFiles } from './manifest.js';

type Resolution = { ok: true; path: string; label: string } | { ok: false; reason: string };

export function tensorrtResolver(config: Config): (model: ModelFiles) => Resolution {
  return (model) => resolveTensorrtModelLazy(config, model);
}

let resolveImpl: ((config: Config, model: ModelFiles) => Resolution) | undefined;
function resolveTensorrtModelLazy(config: Config, model: ModelFiles): Resolution {
  return resolveImpl ? resolveImpl(config, model) : { ok: false, reason: 'TensorRT engine lookup is not available in this build' };
}

export function setTensorrtResolver(fn: (config: Config, model: ModelFiles) => Resolution) {
  resolveImpl = fn;
}
