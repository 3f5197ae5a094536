// An error as one line for a person: its message's first line (a stack, a libvips or onnxruntime
// dump below it is for the log, not for the line a command prints).

export function oneLine(err: unknown): string {
  return (
    String((err as Error)?.message ?? err)
      .split('\n')[0]
      .trim() || 'unknown error'
  );
}
