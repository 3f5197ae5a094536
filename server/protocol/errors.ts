// The error codes a client can get back: one catalogue, one spelling (kebab-case), for HTTP and
// the WebSocket alike. Every HTTP error response is JSON `{ error: <words for a person>, code: <one
// of HTTP_ERRORS> }` (+ retryAfterS where it says when to try again); every WebSocket `error`
// message is `{ type: 'error', code: <one of WS_ERRORS>, message }`. Clients branch on `code`,
// never on the words.
//
// Wire-visible change (protocol 1 unchanged): the WebSocket codes were snake_case until the two
// lists were made one (`bad_message`, `too_large`, `rate_limited`); they are now `bad-message`,
// `too-large` (HTTP's code for the same refusal) and `rate-limited`.

/** HTTP error codes and the status each is sent with. */
export const HTTP_ERRORS = {
  // admission (server/http/admission.ts): before any route
  'bad-host': 421,
  'bad-path': 400,
  'too-large': 413,
  'bad-origin': 403,
  'bad-type': 415,
  stopping: 503,
  // requests
  'bad-request': 400,
  'bad-json': 400,
  'not-found': 404, // also every unknown path
  'no-shadow': 404,
  'no-frame': 409,
  'frame-gone': 404,
  'too-soon': 429,
  // who may do it
  'admin-needed': 401, // 403 without an admin token configured, from the network
  'bad-token': 401,
  'bad-pin': 401,
  'pin-needed': 401,
  'pin-locked': 429,
  'no-curator-secret': 409,
  protected: 403,
  // storage (the stores' own errors carry these codes)
  'disk-full': 507,
  'quota-protected': 507,
  'bad-calibration': 400,
  // anything else
  internal: 500,
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** WebSocket `error` message codes (server/stream/ws-server.ts) and when each is sent; the connection stays open. */
export const WS_ERRORS = {
  'bad-message': 'a binary message, or text that is not JSON, not an object, or not a known client message with valid fields',
  'too-large': 'a message over the size limit (4 KB)',
  'rate-limited': 'more messages per second than the limit (20)',
} as const;

export type WsErrorCode = keyof typeof WS_ERRORS;

/** Why a request or a WebSocket upgrade is not admitted (server/http/admission.ts). */
export interface Refusal {
  status: number;
  code: HttpErrorCode;
  error: string;
}
