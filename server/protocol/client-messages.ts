// The JSON text messages a WebSocket client may send, declared once with zod; ClientMessage (the
// type, re-exported by wire-format.ts) is derived from it. Server-only: the kiosk bundle stays free
// of zod. Anything else is answered with an ErrorMessage (see ws-server.ts).
import { z } from 'zod';

export const MAX_CLIENT_MESSAGE_BYTES = 4096;

export const ClientMessageSchema = z.discriminatedUnion('type', [
  /** round-trip time probe; the server answers with a pong echoing t */
  z.object({ type: z.literal('ping'), t: z.number({ error: 'ping needs a numeric t' }) }),
  /** stop / restart sending frame messages to this client (status messages keep coming) */
  z.object({ type: z.literal('pause') }),
  z.object({ type: z.literal('resume') }),
  /** with each frame, also send this comparison model's mask (an index from hello.compare), or stop (null) */
  z.object({
    type: z.literal('compare'),
    model: z.union([z.int().min(0).max(254), z.null()], { error: 'compare needs model: an index from hello.compare, or null' }),
  }),
]);

export type ClientMessage = z.output<typeof ClientMessageSchema>;

const TYPES = ClientMessageSchema.options.map((o) => o.shape.type.value);

/** Validates a client's text message. Returns the message or an error string for the client. */
export function parseClientMessage(text: string): ClientMessage | { error: string } {
  if (text.length > MAX_CLIENT_MESSAGE_BYTES) return { error: `message longer than ${MAX_CLIENT_MESSAGE_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: 'message is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'message must be a JSON object' };
  const parsed = ClientMessageSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  // a bad field of a known type (compare's model "1") is not an unknown type: say what is wrong with it
  const type = (value as { type?: unknown }).type;
  if (issue.code === 'invalid_union' && !TYPES.includes(type as ClientMessage['type']))
    return { error: `unknown message type ${JSON.stringify(type)}; known: ${TYPES.join(', ')}` };
  return { error: issue.message };
}
