import { Option } from 'commander';
import { defineCommand } from '../program.js';
import { addConfigOptions, configFromOptions } from '../config-options.js';
import { fraction, intInRange, providerList } from './parse.js';
import { DEFAULT_MAX_F1_DROP, DEFAULT_MIN_IOU } from '../../inference/gate-limits.js';

export default defineCommand({
  name: 'compare',
  summary: 'the acceptance gate: agreement of model B with model A on a folder of images (and F1 against labels); exit 1 below the limits',
  configure: (cmd) =>
    addConfigOptions(cmd)
      .argument('<modelA>', 'the reference: a model name from --models-dir or a .onnx path')
      .argument('<modelB>', 'the candidate')
      .argument('<image-folder>', 'images (jpg/png), or a captures folder (<dataDir>/captures)')
      .argument('[label-folder]', 'labels as <stem>.png, white = crack (may be the image folder itself)')
      .addHelpText(
        'after',
        "\nPrints each image's IoU and F1 of B against A (thresholded masks, each at its own manifest threshold), the pooled figures\nand, with labels, each model's F1, precision and recall; then ACCEPTED, or REFUSED with the numbers (exit 1).",
      )
      .addOption(new Option('--min-iou <x>', "B's pooled IoU with A must reach this").argParser(fraction).default(DEFAULT_MIN_IOU))
      .addOption(new Option('--max-f1-drop <x>', "with labels: B's F1 may be at most this below A's").argParser(fraction).default(DEFAULT_MAX_F1_DROP))
      .addOption(new Option('--providers-b <list>', 'execution providers for B (default: --providers)').argParser(providerList))
      .addOption(new Option('--max-images <n>', 'use only the first N images').argParser(intInRange(1, 1_000_000)))
      .option('--json', 'also one JSON object with every figure as the last line of stdout'),
  run: async ({ args, opts }) =>
    (await import('../compare.js')).runCompare(
      args,
      {
        minIou: opts.minIou as number,
        maxF1Drop: opts.maxF1Drop as number,
        providersB: opts.providersB as never,
        json: opts.json === true,
        maxImages: opts.maxImages as number | undefined,
      },
      configFromOptions(opts),
    ),
});
