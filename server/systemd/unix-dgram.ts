// Unix datagram sockets for sd_notify. Node's own sockets are stream-only for AF_UNIX (dgram is
// UDP only), so this calls libc through koffi (prebuilt per-platform binaries, linux-x64 and
// linux-arm64 included; nothing is compiled at install time, so npm's install-script gate does
// not matter). The sending socket lives in this process for its whole life: systemd sees the
// datagram's sender credentials as the service's main PID, which a short-lived helper child
// (`systemd-notify`) cannot guarantee.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const EAGAIN = 11;
const EINTR = 4;
const SUN_PATH_MAX = 108;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number;
  bind(fd: number, addr: Buffer, addrlen: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  close(fd: number): number;
  errno(): number;
}

let libc: Libc | undefined;
function loadLibc(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') throw new Error(`unix datagram sockets via libc are only wired for Linux (platform ${process.platform})`);
  const koffi = require('koffi');
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int, int, int)'),
    sendto: lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    recv: lib.func('intptr_t recv(int, void *, size_t, int)'),
    close: lib.func('int close(int)'),
    errno: () => koffi.errno() as number,
  };
  return libc;
}

/** struct sockaddr_un for a path; a leading '@' means the abstract namespace (as in NOTIFY_SOCKET). */
export function sockaddrUn(socketPath: string): { addr: Buffer; len: number } {
  const abstract = socketPath.startsWith('@');
  const name = Buffer.from(abstract ? socketPath.slice(1) : socketPath, 'utf8');
  if (name.length === 0) throw new Error('empty unix socket path');
  // abstract: \0 + name (no terminator); filesystem: name + \0. Either way name.length + 1 bytes.
  const pathLen = name.length + 1;
  if (pathLen > SUN_PATH_MAX) throw new Error(`unix socket path too long (${name.length} bytes, at most ${SUN_PATH_MAX - 1})`);
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  addr.writeUInt16LE(AF_UNIX, 0); // sa_family_t is host order; every Linux target here is little-endian
  name.copy(addr, abstract ? 3 : 2);
  return { addr, len: 2 + pathLen };
}

function errnoError(what: string, errno: number) {
  const err = new Error(`${what} failed (errno ${errno})`) as Error & { errno: number };
  err.errno = errno;
  return err;
}

/** A datagram socket that sends to one address. send() never blocks the event loop. */
export class DatagramSender {
  private fd: number;
  private readonly addr: Buffer;
  private readonly addrLen: number;

  constructor(readonly socketPath: string) {
    const c = loadLibc();
    const { addr, len } = sockaddrUn(socketPath);
    this.addr = addr;
    this.addrLen = len;
    this.fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (this.fd < 0) throw errnoError('socket(AF_UNIX, SOCK_DGRAM)', c.errno());
  }

  /** Sends one datagram. Throws with .errno on failure (EAGAIN when the receiver's queue is full). */
  send(message: string | Buffer): void {
    if (this.fd < 0) throw new Error('socket closed');
    const c = loadLibc();
    const buf = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    for (let attempt = 0; attempt < 3; attempt++) {
      const n = Number(c.sendto(this.fd, buf, buf.length, MSG_DONTWAIT | MSG_NOSIGNAL, this.addr, this.addrLen));
      if (n === buf.length) return;
      const errno = c.errno();
      if (n < 0 && errno === EINTR) continue;
      throw errnoError(`sendto(${this.socketPath})`, n < 0 ? errno : 0);
    }
  }

  close(): void {
    if (this.fd >= 0) loadLibc().close(this.fd);
    this.fd = -1;
  }
}

/**
 * A bound datagram socket polled from the event loop (for tests and tools that stand in for
 * systemd's notify socket). Each datagram is handed to onMessage as a UTF-8 string.
 */
export class DatagramListener {
  private fd: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly buf = Buffer.alloc(64 * 1024);

  constructor(
    readonly socketPath: string,
    private readonly onMessage: (msg: string) => void,
    pollMs = 10,
  ) {
    const c = loadLibc();
    const { addr, len } = sockaddrUn(socketPath);
    this.fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (this.fd < 0) throw errnoError('socket(AF_UNIX, SOCK_DGRAM)', c.errno());
    if (c.bind(this.fd, addr, len) !== 0) {
      const errno = c.errno();
      c.close(this.fd);
      throw errnoError(`bind(${socketPath})`, errno);
    }
    this.timer = setInterval(() => this.drain(), pollMs);
  }

  /** Reads every datagram waiting now. */
  drain(): void {
    if (this.fd < 0) return;
    const c = loadLibc();
    for (;;) {
      const n = Number(c.recv(this.fd, this.buf, this.buf.length, MSG_DONTWAIT));
      if (n < 0) {
        const errno = c.errno();
        if (errno === EINTR) continue;
        if (errno !== EAGAIN) throw errnoError('recv', errno);
        return;
      }
      this.onMessage(this.buf.toString('utf8', 0, n));
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.fd >= 0) {
      this.drain();
      loadLibc().close(this.fd);
    }
    this.fd = -1;
  }
}
