// /ws: the hello message, then one binary frame message per processed frame to every client, and
// JSON status messages. Each client gets at most one frame in flight in its socket buffer: a slow
// client skips frames, and one that reads nothing for clientStallMs is dropped.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { displayUri } from '../config/source-uri.js';
import { WebSocket, WebSocketServer } from 'ws';
import type { PipelineHandle, PipelineStatus, ProcessedFrame, ServiceContext } from '../service-context.js';
import { deflateMask } from '../protocol/mask-encoding.js';
import {
  MASK_DEFLATE,
  MASK_RAW,
  PROTOCOL_VERSION,
  encodeComparisonMask,
  frameHeaderBytes,
  stampSentAt,
  writeFrameHeader,
  type HelloMessage,
  type ServerTextMessage,
  type StatusMessage,
} from '../protocol/wire-format.js';
import { MAX_CLIENT_MESSAGE_BYTES, parseClientMessage } from '../protocol/client-messages.js';
import type { Refusal, WsErrorCode } from '../protocol/errors.js';

interface Client {
  ws: WebSocket;
  paused: boolean;
  /** when the client last made progress reading (its send buffer empty or shrinking) */
  lastProgressAt: number;
  lastBuffered: number;
  tokens: number;
  lastRefill: number;
  violations: number;
  skipped: number;
  /** the comparison model whose mask this client gets with each frame, or null */
  compare: number | null;
}

export interface StreamCounters {
  framesSent: number;
  framesSkipped: number;
  clientsDropped: number;
  messagesRejected: number;
  connectionsRefused: number;
}

const RATE_PER_S = 20;
const MAX_VIOLATIONS = 50;
/** Frames larger than this are not even read (the connection is closed with 1009). Between
 * MAX_CLIENT_MESSAGE_BYTES and this, a message is read and answered with an error. */
const MAX_FRAME_BYTES = 64 * 1024;
/** status text is not queued behind this much unsent data (a client that reads nothing) */
const TEXT_BACKLOG_LIMIT = 256 * 1024;

export class FrameStream {
  readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });
  readonly clients = new Set<Client>();
  /** when a viewer last sent a valid message (0: never) */
  lastActivityAt = 0;
  readonly counters: StreamCounters = { framesSent: 0, framesSkipped: 0, clientsDropped: 0, messagesRejected: 0, connectionsRefused: 0 };
  private readonly timer: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly pipeline: PipelineHandle,
  ) {
    pipeline.on('frame', (f) => this.broadcastFrame(f));
    pipeline.on('status', (s) => this.broadcastText(this.statusMessage(s)));
    this.timer = setInterval(() => {
      this.broadcastText(this.statusMessage(pipeline.status()));
      this.dropStuckClients();
    }, 1000);
  }

  hello(): HelloMessage {
    const { manifest, inference, config } = this.ctx;
    return {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      model: {
        name: manifest.name,
        version: manifest.version,
        threshold: manifest.threshold,
        input: { height: manifest.input.height, width: manifest.input.width },
      },
      provider: inference.provider,
      providerLabel: inference.providerLabel,
      fallbacks: inference.fallbacks,
      mask: { width: manifest.input.width, height: manifest.input.height },
      source: displayUri(config.source),
      ...(this.ctx.comparer?.models.length ? { compare: this.ctx.comparer.models } : {}),
    };
  }

  private statusMessage(s: PipelineStatus): StatusMessage {
    return { type: 'status', state: s.state, reason: s.reason, fps: Math.round(s.fps * 10) / 10, clients: this.clients.size };
  }

  /**
   * An upgrade to /ws. `refusal` is admission's answer for it (server/http/admission.ts
   * admitUpgrade, applied by the composition root): null admits it.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, refusal: Refusal | null) {
    socket.on('error', () => undefined); // a reset during the handshake is not our crash
    const refuse = (status: string, event: string, detail: Record<string, unknown>) => {
      this.counters.connectionsRefused++;
      this.ctx.log.warn(event, detail);
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (this.closing) return refuse('503 Service Unavailable', 'ws.refused', { reason: 'shutting down' });
    if (refusal) {
      const status = `${refusal.status} ${STATUS_CODES[refusal.status]}`;
      if (refusal.code === 'bad-host') return refuse(status, 'ws.host_refused', { host: String(req.headers.host).slice(0, 100) });
      return refuse(status, 'ws.origin_refused', { origin: String(req.headers.origin).slice(0, 100) });
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage) {
    if (this.clients.size >= this.ctx.config.maxClients) {
      this.counters.connectionsRefused++;
      ws.close(1013, 'too many viewers');
      return;
    }
    const client: Client = {
      ws,
      paused: false,
      lastProgressAt: Date.now(),
      lastBuffered: 0,
      tokens: RATE_PER_S,
      lastRefill: Date.now(),
      violations: 0,
      skipped: 0,
      compare: null,
    };
    this.clients.add(client);
    this.ctx.log.info('ws.connect', { remote: req.socket.remoteAddress, clients: this.clients.size });
    this.sendText(client, this.hello());
    this.sendText(client, this.statusMessage(this.pipeline.status()));
    ws.on('message', (data, isBinary) => this.onMessage(client, data as Buffer, isBinary));
    ws.on('close', () => {
      this.clients.delete(client);
      this.ctx.log.info('ws.disconnect', { clients: this.clients.size, skipped: client.skipped });
    });
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the connection itself (1009 too big, 1007 bad UTF-8, 1002 protocol error); count it
      if (err.code?.startsWith('WS_ERR_')) this.counters.messagesRejected++;
      this.ctx.log.warn('ws.error', { err: err.message, code: err.code });
    });
  }

  private reject(client: Client, code: WsErrorCode, message: string) {
    this.counters.messagesRejected++;
    client.violations++;
    this.sendText(client, { type: 'error', code, message });
    if (client.violations > MAX_VIOLATIONS) client.ws.close(1008, 'too many invalid messages');
  }

  private onMessage(client: Client, data: Buffer, isBinary: boolean) {
    const now = Date.now();
    client.tokens = Math.min(RATE_PER_S, client.tokens + ((now - client.lastRefill) / 1000) * RATE_PER_S);
    client.lastRefill = now;
    if (client.tokens < 1) return this.reject(client, 'rate-limited', `more than ${RATE_PER_S} messages per second`);
    client.tokens--;
    if (isBinary) return this.reject(client, 'bad-message', 'binary messages are not accepted');
    if (data.length > MAX_CLIENT_MESSAGE_BYTES)
      return this.reject(client, 'too-large', `message of ${data.length} bytes; the limit is ${MAX_CLIENT_MESSAGE_BYTES}`);
    const msg = parseClientMessage(data.toString('utf8'));
    if ('error' in msg) return this.reject(client, 'bad-message', msg.error);
    this.lastActivityAt = now; // a viewer using the kiosk (it pings on touches): serve's campaign worker waits
    if (msg.type === 'ping') this.sendText(client, { type: 'pong', t: msg.t, serverTime: Date.now() });
    else if (msg.type === 'compare') {
      const models = this.ctx.comparer?.models ?? [];
      if (msg.model !== null && !models.some((m) => m.index === msg.model)) {
        return this.reject(
          client,
          'bad-message',
          models.length
            ? `no comparison model ${msg.model}; there are ${models.map((m) => `${m.index} (${m.name})`).join(', ')}`
            : 'no comparison models (start with --compare NAME)',
        );
      }
      client.compare = msg.model;
    } else client.paused = msg.type === 'pause';
  }

  private sendText(client: Client, msg: ServerTextMessage) {
    if (client.ws.readyState === WebSocket.OPEN) client.ws.send(JSON.stringify(msg));
  }

  broadcastText(msg: ServerTextMessage) {
    const text = JSON.stringify(msg);
    for (const c of this.clients) if (c.ws.readyState === WebSocket.OPEN && c.ws.bufferedAmount < TEXT_BACKLOG_LIMIT) c.ws.send(text);
  }

  private broadcastFrame(f: ProcessedFrame) {
    if (this.clients.size === 0) return;
    const t0 = performance.now();
    const enc = f.wireMask;
    const comparisons = f.comparisons ?? [];
    const header = Buffer.alloc(frameHeaderBytes(comparisons.length));
    writeFrameHeader(header, {
      frameId: f.frameId,
      capturedAt: f.capturedAt,
      sentAt: 0,
      image: { width: f.width, height: f.height },
      mask: { width: f.width, height: f.height, encoding: enc.encoding === 'deflate' ? MASK_DEFLATE : MASK_RAW },
      timings: f.timings,
      jpegBytes: f.jpeg.length,
      maskBytes: enc.bytes.byteLength,
      comparisons,
    });
    stampSentAt(header, performance.timeOrigin + performance.now());
    const message = Buffer.concat([header, f.jpeg, enc.bytes]);
    // each comparison mask is encoded once per frame, and only if a client asked for it
    const companions = new Map<number, Uint8Array | null>();
    const companion = (index: number) => {
      if (!companions.has(index)) {
        const c = comparisons.find((x) => x.index === index);
        const deflate = enc.encoding === 'deflate';
        companions.set(
          index,
          c
            ? encodeComparisonMask({
                frameId: f.frameId,
                index,
                mask: { width: f.width, height: f.height, encoding: deflate ? MASK_DEFLATE : MASK_RAW },
                maskBytes: deflate ? deflateMask(c.mask) : c.mask,
              })
            : null,
        );
      }
      return companions.get(index)!;
    };
    for (const c of this.clients) {
      if (c.paused || c.ws.readyState !== WebSocket.OPEN) continue;
      if (c.ws.bufferedAmount > 0) {
        // still sending an earlier frame: skip this one for this client only
        c.skipped++;
        this.counters.framesSkipped++;
        continue;
      }
      c.ws.send(message);
      // the comparison mask follows its frame at once (a frame whose comparison run failed has none)
      const extra = c.compare === null ? null : companion(c.compare);
      if (extra) c.ws.send(extra);
      this.counters.framesSent++;
    }
    this.pipeline.recordSend(performance.now() - t0);
  }

  /** A client whose unsent data has not shrunk for clientStallMs reads nothing: drop it. */
  private dropStuckClients() {
    const limit = this.ctx.config.clientStallMs;
    const now = Date.now();
    for (const c of this.clients) {
      const buffered = c.ws.bufferedAmount;
      if (buffered === 0 || buffered < c.lastBuffered) c.lastProgressAt = now;
      c.lastBuffered = buffered;
      if (buffered > 0 && now - c.lastProgressAt > limit) {
        this.counters.clientsDropped++;
        this.ctx.log.warn('ws.client_dropped', { reason: `read nothing for ${limit} ms`, buffered });
        c.ws.terminate();
        this.clients.delete(c);
      }
    }
  }

  async close() {
    this.closing = true;
    clearInterval(this.timer);
    for (const c of this.clients) c.ws.close(1001, 'server shutting down');
    await new Promise<void>((r) => setTimeout(r, 100));
    for (const c of this.clients) c.ws.terminate();
    this.wss.close();
  }
}
