// /ws: the hello message, then one binary frame message per processed frame to every client, and
// JSON status messages. Each client gets at most one frame in flight in its socket buffer: a slow
// client skips frames, and one that reads nothing for clientStallMs is dropped.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { FramePipeline } from '../pipeline/frame-pipeline.js';
import type { PipelineStatus, ProcessedFrame, ServiceContext } from '../service-context.js';
import {
  HEADER_BYTES, MASK_DEFLATE, MASK_RAW, MAX_CLIENT_MESSAGE_BYTES, PROTOCOL_VERSION, parseClientMessage,
  stampSentAt, writeFrameHeader, type HelloMessage, type ServerTextMessage, type StatusMessage,
} from './wire-format.js';

interface Client {
  ws: WebSocket;
  paused: boolean;
  /** when the socket buffer was last seen non-empty while it did not drain */
  stuckSince: number;
  tokens: number;
  lastRefill: number;
  violations: number;
  skipped: number;
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

export class FrameStream {
  readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE_BYTES, perMessageDeflate: false });
  readonly clients = new Set<Client>();
  readonly counters: StreamCounters = { framesSent: 0, framesSkipped: 0, clientsDropped: 0, messagesRejected: 0, connectionsRefused: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly ctx: ServiceContext, private readonly pipeline: FramePipeline) {
    pipeline.on('frame', (f: ProcessedFrame) => this.broadcastFrame(f));
    pipeline.on('status', (s: PipelineStatus) => this.broadcastText(this.statusMessage(s)));
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
      model: { name: manifest.name, version: manifest.version, threshold: manifest.threshold, input: { height: manifest.input.height, width: manifest.input.width } },
      provider: inference.provider,
      providerLabel: inference.providerLabel,
      fallbacks: inference.fallbacks,
      mask: { width: manifest.input.width, height: manifest.input.height },
      source: config.source,
    };
  }

  private statusMessage(s: PipelineStatus): StatusMessage {
    return { type: 'status', state: s.state, reason: s.reason, fps: Math.round(s.fps * 10) / 10, clients: this.clients.size };
  }

  /** Browsers must come from the kiosk's own origin or a configured one; non-browser clients send none. */
  private originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (!origin) return true;
    const host = req.headers.host;
    if (host && (origin === `http://${host}` || origin === `https://${host}`)) return true;
    return this.ctx.config.allowedOrigins.includes(origin);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    if (!this.originAllowed(req)) {
      this.counters.connectionsRefused++;
      this.ctx.log.warn('ws.origin_refused', { origin: req.headers.origin });
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage) {
    if (this.clients.size >= this.ctx.config.maxClients) {
      this.counters.connectionsRefused++;
      ws.close(1013, 'too many viewers');
      return;
    }
    const client: Client = { ws, paused: false, stuckSince: 0, tokens: RATE_PER_S, lastRefill: Date.now(), violations: 0, skipped: 0 };
    this.clients.add(client);
    this.ctx.log.info('ws.connect', { remote: req.socket.remoteAddress, clients: this.clients.size });
    this.sendText(client, this.hello());
    this.sendText(client, this.statusMessage(this.pipeline.status()));
    ws.on('message', (data, isBinary) => this.onMessage(client, data as Buffer, isBinary));
    ws.on('close', () => {
      this.clients.delete(client);
      this.ctx.log.info('ws.disconnect', { clients: this.clients.size, skipped: client.skipped });
    });
    ws.on('error', (err) => this.ctx.log.warn('ws.error', { err: err.message }));
  }

  private reject(client: Client, code: string, message: string) {
    this.counters.messagesRejected++;
    client.violations++;
    this.sendText(client, { type: 'error', code, message });
    if (client.violations > MAX_VIOLATIONS) client.ws.close(1008, 'too many invalid messages');
  }

  private onMessage(client: Client, data: Buffer, isBinary: boolean) {
    const now = Date.now();
    client.tokens = Math.min(RATE_PER_S, client.tokens + ((now - client.lastRefill) / 1000) * RATE_PER_S);
    client.lastRefill = now;
    if (client.tokens < 1) return this.reject(client, 'rate_limited', `more than ${RATE_PER_S} messages per second`);
    client.tokens--;
    if (isBinary) return this.reject(client, 'bad_message', 'binary messages are not accepted');
    const msg = parseClientMessage(data.toString('utf8'));
    if ('error' in msg) return this.reject(client, 'bad_message', msg.error);
    if (msg.type === 'ping') this.sendText(client, { type: 'pong', t: msg.t, serverTime: Date.now() });
    else client.paused = msg.type === 'pause';
  }

  private sendText(client: Client, msg: ServerTextMessage) {
    if (client.ws.readyState === WebSocket.OPEN) client.ws.send(JSON.stringify(msg));
  }

  broadcastText(msg: ServerTextMessage) {
    const text = JSON.stringify(msg);
    for (const c of this.clients) if (c.ws.readyState === WebSocket.OPEN) c.ws.send(text);
  }

  private broadcastFrame(f: ProcessedFrame) {
    if (this.clients.size === 0) return;
    const t0 = performance.now();
    const enc = this.pipeline.encodedMask?.frameId === f.frameId ? this.pipeline.encodedMask.mask : { bytes: f.mask, encoding: 'raw' as const };
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    writeFrameHeader(header, {
      frameId: f.frameId,
      capturedAt: f.capturedAt,
      sentAt: 0,
      image: { width: f.width, height: f.height },
      mask: { width: f.width, height: f.height, encoding: enc.encoding === 'deflate' ? MASK_DEFLATE : MASK_RAW },
      timings: f.timings,
      jpegBytes: f.jpeg.length,
      maskBytes: enc.bytes.byteLength,
    });
    stampSentAt(header, performance.timeOrigin + performance.now());
    const message = Buffer.concat([header, f.jpeg, enc.bytes]);
    for (const c of this.clients) {
      if (c.paused || c.ws.readyState !== WebSocket.OPEN) continue;
      if (c.ws.bufferedAmount > 0) {
        // still sending an earlier frame: skip this one for this client only
        c.skipped++;
        this.counters.framesSkipped++;
        if (!c.stuckSince) c.stuckSince = Date.now();
        continue;
      }
      c.stuckSince = 0;
      c.ws.send(message);
      this.counters.framesSent++;
    }
    this.pipeline.recordSend(performance.now() - t0);
  }

  private dropStuckClients() {
    const limit = this.ctx.config.clientStallMs;
    for (const c of this.clients) {
      if (c.stuckSince && c.ws.bufferedAmount > 0 && Date.now() - c.stuckSince > limit) {
        this.counters.clientsDropped++;
        this.ctx.log.warn('ws.client_dropped', { reason: `read nothing for ${limit} ms`, buffered: c.ws.bufferedAmount });
        c.ws.terminate();
        this.clients.delete(c);
      } else if (c.ws.bufferedAmount === 0) {
        c.stuckSince = 0;
      }
    }
  }

  async close() {
    clearInterval(this.timer);
    for (const c of this.clients) c.ws.close(1001, 'server shutting down');
    await new Promise<void>((r) => setTimeout(r, 100));
    for (const c of this.clients) c.ws.terminate();
    this.wss.close();
  }
}
