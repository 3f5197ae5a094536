// Calls to the server's /api. Errors carry the server's own message so the page can show it.
const TOKEN_KEY = 'crackscope.adminToken';

export const adminToken = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set: (v: string) => (v ? sessionStorage.setItem(TOKEN_KEY, v) : sessionStorage.removeItem(TOKEN_KEY)),
};

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown, admin = false): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const tok = adminToken.get();
  if (admin && tok) headers.Authorization = `Bearer ${tok}`;
  let res: Response;
  try {
    res = await fetch(`api/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'server not reachable');
  }
  if (res.status === 204) return undefined as T;
  let data: any = null;
  try {
    data = await res.json();
  } catch {
    /* not JSON */
  }
  if (!res.ok) throw new ApiError(res.status, data?.error ?? `HTTP ${res.status}`, data?.code);
  return data as T;
}

// the server's own type: one description of a capture for both sides (type-only, nothing of Node is bundled)
export type { CaptureSummary, SurveySummary } from '../../server/http/api-types.js';

export interface Crack {
  id: number;
  [k: string]: unknown;
}

export interface Analysis {
  frameId?: number;
  captureId?: string;
  source: string;
  width: number;
  height: number;
  threshold: number;
  mmPerPx: number | null;
  report: { cracks: Crack[]; summary?: Record<string, unknown>; [k: string]: unknown };
  labels: string;
}

export function decodeLabels(b64: string, n: number): Uint16Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const out = new Uint16Array(n);
  out.set(new Uint16Array(bytes.buffer, 0, Math.min(n, bytes.length >> 1)));
  return out;
}

export const captureUrl = (id: string, file: string, download = false) => `api/captures/${encodeURIComponent(id)}/${file}${download ? '?download=1' : ''}`;
