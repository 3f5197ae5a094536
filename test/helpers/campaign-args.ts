/** `crackscope campaign add` words for the tests' campaigns: the tiny test model, 128-px tiles, no PDF. */
export const tinyCampaignAdd = (name: string, input: string, redisUrl: string, out: string, ...extra: string[]): string[] => [
  'campaign',
  'add',
  name,
  input,
  '--redis',
  redisUrl,
  '--out',
  out,
  '--model',
  'tiny',
  '--tile',
  '128',
  '--no-pdf',
  ...extra,
];
