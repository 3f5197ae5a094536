import { Option } from 'commander';
import { defineCommand } from '../program.js';
import { addConfigOptions } from '../config-options.js';
import type { BuildEngineDeps } from '../build-engine.js';
import { existingFile, intInRange, numberAbove } from './parse.js';

export default defineCommand<BuildEngineDeps>({
  name: 'build-engine',
  summary: 'TensorRT engine (FP16, or INT8 behind an accuracy gate) + EPContext wrapper for the live size (Jetson)',
  configure: (cmd) =>
    addConfigOptions(cmd)
      .addHelpText('after', '\nWrites <engineDir>/<model>-<hash>-<H>x<W>-<precision>.{engine,json} and ..._ctx.onnx (the EPContext wrapper).')
      .option('--skip-trtexec', 'use an engine built elsewhere (with --engine FILE)')
      .option('--engine <file>', 'the engine to use with --skip-trtexec', existingFile)
      .option('--int8', 'INT8 instead of FP16 (needs --calib, and images to check it on)')
      .option(
        '--calib <dir|captures>',
        "calibration images (a folder, or 'captures': the user's own) with their calibration.cache, or the cache file itself; the gate's images unless --val",
      )
      .option('--val <dir>', "gate images: the engine must agree with FP32 on them (crackscope compare's measure)")
      .option('--min-iou <x>', 'IoU with FP32 the engine must reach on the gate images (default 0.9)', numberAbove(0, 1))
      .option('--trtexec <path>', "trtexec to use (default: $TRTEXEC, JetPack's, then PATH)")
      .addOption(new Option('--workspace-mb <n>', 'TensorRT builder workspace').argParser(intInRange(64, 1_000_000))),
  run: async ({ opts, context }) => (await import('../build-engine.js')).runBuildEngine(opts, context ?? {}),
});
