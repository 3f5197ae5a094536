// Source URIs as people may see them. Here, below the camera, because the config (its errors) and
// the log (every line that names the source) use it too.

/** A source URI fit for logs, /healthz and viewers: any user:password@ in it is masked. */
export function displayUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}
