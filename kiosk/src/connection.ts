// The WebSocket to the server: hello, binary frames and status messages, decoded with the shared
// wire format; reconnects by itself with exponential backoff (0.5 s doubling to 8 s, with jitter).
import {
  decodeBinaryMessage,
  PROTOCOL_VERSION,
  type ComparisonMaskMessage,
  type FrameMessage,
  type HelloMessage,
  type ServerTextMessage,
  type StatusMessage,
} from '../../server/protocol/wire-format.js';

export type ConnState = 'connecting' | 'open' | 'closed';

export interface ConnectionEvents {
  hello(h: HelloMessage): void;
  frame(f: FrameMessage, receivedAt: number): void;
  /** a comparison model's mask for the frame just received (after a 'compare' request) */
  comparison(c: ComparisonMaskMessage): void;
  status(s: StatusMessage): void;
  state(s: ConnState, retryAt: number): void;
  error(message: string): void;
}

const MIN_BACKOFF = 500;
const MAX_BACKOFF = 8000;
/** No message at all for this long on an open socket = a dead link (the server sends status every few s). */
const SILENCE_MS = 12000;

export class Connection {
  state: ConnState = 'closed';
  /** ms timestamp of the next reconnect attempt while closed */
  retryAt = 0;
  private ws: WebSocket | null = null;
  private backoff = MIN_BACKOFF;
  private timer = 0;
  private lastMessage = 0;
  private watchdog = 0;

  constructor(
    private readonly url: string,
    private readonly on: ConnectionEvents,
  ) {}

  start(): void {
    this.connect();
    this.watchdog = window.setInterval(() => {
      if (this.state === 'open' && performance.now() - this.lastMessage > SILENCE_MS) this.ws?.close();
    }, 2000);
  }

  send(msg: object): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private setState(s: ConnState): void {
    this.state = s;
    this.on.state(s, this.retryAt);
  }

  private connect(): void {
    window.clearTimeout(this.timer);
    this.setState('connecting');
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.lastMessage = performance.now();
    };
    ws.onmessage = (ev) => {
      const now = performance.now();
      this.lastMessage = now;
      if (typeof ev.data === 'string') {
        let msg: ServerTextMessage;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (msg.type === 'hello') {
          if (msg.protocol !== PROTOCOL_VERSION) this.on.error(`protocol ${msg.protocol} != ${PROTOCOL_VERSION}`);
          this.backoff = MIN_BACKOFF;
          this.setState('open');
          this.on.hello(msg);
        } else if (msg.type === 'status') this.on.status(msg);
        else if (msg.type === 'error') this.on.error(`${msg.code}: ${msg.message}`);
        return;
      }
      try {
        const m = decodeBinaryMessage(ev.data as ArrayBuffer);
        if (m.kind === 'frame') this.on.frame(m.frame, now);
        else this.on.comparison(m.comparison);
      } catch (err) {
        this.on.error((err as Error).message);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.scheduleRetry();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private scheduleRetry(): void {
    const delay = this.backoff * (0.8 + 0.4 * Math.random());
    this.backoff = Math.min(MAX_BACKOFF, this.backoff * 2);
    this.retryAt = Date.now() + delay;
    this.setState('closed');
    this.timer = window.setTimeout(() => this.connect(), delay);
  }
}
