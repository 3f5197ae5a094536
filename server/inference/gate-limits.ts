// The acceptance gate's default limits (gate.ts: crackscope compare, build-engine), in a module of
// their own so that the commands' help can show them without loading onnxruntime or sharp.
export const DEFAULT_MIN_IOU = 0.9;
export const DEFAULT_MAX_F1_DROP = 0.02;
