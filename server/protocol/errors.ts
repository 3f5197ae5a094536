// The error codes a client can get back: one catalogue, one spelling (kebab-case). Every HTTP error
// response is JSON `{ error: <words for a person>, code: <one of these> }` (+ retryAfterS where it
// says when to try again); the kiosk branches on `code`, never on the words.
//
// Not here yet: the WebSocket `error` message's codes (`bad_message`, `too_large`, `rate_limited`:
// server/stream/ws-server.ts) keep their snake_case spelling, because clients in the field read them.

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

/** Why a request or a WebSocket upgrade is not admitted (server/http/admission.ts). */
export interface Refusal {
  status: number;
  code: HttpErrorCode;
  error: string;
}
