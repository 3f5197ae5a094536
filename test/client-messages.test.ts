// What a WebSocket client may send (server/stream/client-messages.ts), in-process: the answers a
// client gets for a message the server will not act on, and the exact limits.
import { describe, expect, it } from 'vitest';
import { MAX_CLIENT_MESSAGE_BYTES, parseClientMessage } from '../server/protocol/client-messages.js';

/** a valid ping padded with spaces to exactly `n` characters */
const pingOfLength = (n: number) => {
  const s = '{"type":"ping","t":1}';
  return s + ' '.repeat(n - s.length);
};

describe('parseClientMessage', () => {
  it('accepts a message of exactly 4096 bytes, refuses 4097', () => {
    expect(MAX_CLIENT_MESSAGE_BYTES).toBe(4096);
    expect(parseClientMessage(pingOfLength(4096))).toEqual({ type: 'ping', t: 1 });
    expect(parseClientMessage(pingOfLength(4097))).toEqual({ error: 'message longer than 4096 bytes' });
  });

  it('the four known messages, with extra fields dropped', () => {
    expect(parseClientMessage('{"type":"ping","t":-2.5,"x":1}')).toEqual({ type: 'ping', t: -2.5 });
    expect(parseClientMessage('{"type":"pause","all":true}')).toEqual({ type: 'pause' });
    expect(parseClientMessage('{"type":"resume"}')).toEqual({ type: 'resume' });
    expect(parseClientMessage('{"type":"compare","model":0}')).toEqual({ type: 'compare', model: 0 });
    expect(parseClientMessage('{"type":"compare","model":254}')).toEqual({ type: 'compare', model: 254 });
    expect(parseClientMessage('{"type":"compare","model":null}')).toEqual({ type: 'compare', model: null });
  });

  it('answers what was wrong, in words a client developer can act on', () => {
    expect(parseClientMessage('{"type":')).toEqual({ error: 'message is not valid JSON' });
    expect(parseClientMessage('')).toEqual({ error: 'message is not valid JSON' });
    for (const notObject of ['1', 'null', '"ping"', '[{"type":"ping","t":1}]', 'true']) {
      expect(parseClientMessage(notObject)).toEqual({ error: 'message must be a JSON object' });
    }
    const known = 'known: ping, pause, resume, compare';
    expect(parseClientMessage('{"type":"zoom"}')).toEqual({ error: `unknown message type "zoom"; ${known}` });
    expect(parseClientMessage('{"t":1}')).toEqual({ error: `unknown message type undefined; ${known}` });
    expect(parseClientMessage('{"type":7}')).toEqual({ error: `unknown message type 7; ${known}` });
    expect(parseClientMessage('{"type":"ping"}')).toEqual({ error: 'ping needs a numeric t' });
    expect(parseClientMessage('{"type":"ping","t":"1"}')).toEqual({ error: 'ping needs a numeric t' });
    const compare = 'compare needs model: an index from hello.compare, or null';
    // a known type with a bad field is not "unknown message type" (it was, before issue 21)
    for (const bad of ['1.5', '"1"', 'false']) {
      expect(parseClientMessage(`{"type":"compare","model":${bad}}`)).toEqual({ error: compare });
    }
    expect(parseClientMessage('{"type":"compare"}')).toEqual({ error: compare });
    expect(parseClientMessage('{"type":"compare","model":255}')).toEqual({ error: expect.stringMatching(/<=\s*254/) });
    expect(parseClientMessage('{"type":"compare","model":-1}')).toEqual({ error: expect.stringMatching(/>=\s*0/) });
  });
});
