// Calls to the server's /api. Errors carry the server's own message so the page can show it.
import type { CrackReport } from '../../server/protocol/analysis-report.js';

const TOKEN_KEY = 'crackscope.adminToken';

export const adminToken = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set: (v: string) => (v ? sessionStorage.setItem(TOKEN_KEY, v) : sessionStorage.removeItem(TOKEN_KEY)),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

/**
 * Curator mode (issue 22): entered with the operator PIN or the admin token, checked by the
 * daemon; the secret is kept in memory only (never stored) and sent with saves and deletes, so
 * they are a curator's. The idle reset leaves it: the next person at the screen is a visitor.
 */
export const curator: { secret: string; readonly active: boolean; headers(secret?: string): Record<string, string> } = {
  secret: '',
  get active(): boolean {
    return curator.secret !== '';
  },
  headers(secret: string = curator.secret): Record<string, string> {
    if (!secret) return {};
    return /^\d{4,12}$/.test(secret) ? { 'X-Operator-PIN': secret } : { Authorization: `Bearer ${secret}` };
  },
};

export async function api<T>(method: string, path: string, body?: unknown, admin = false, extra: Record<string, string> = {}): Promise<T> {
  const headers: Record<string, string> = { ...extra };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const tok = adminToken.get();
  if (admin && tok && !headers.Authorization) headers.Authorization = `Bearer ${tok}`;
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
  if (!res.ok)
    throw new ApiError(res.status, data?.error ?? `HTTP ${res.status}`, data?.code, typeof data?.retryAfterS === 'number' ? data.retryAfterS : undefined);
  return data as T;
}

// the server's own type: one description of a capture for both sides (type-only, nothing of Node is bundled)
export type { CaptureSummary, SurveySummary, CampaignSummary, CampaignList } from '../../server/protocol/api-types.js';

// the server's measurement types (server/protocol/analysis-report.ts, type-only): the analysis route's
// body is server/storage/analyzer.ts's AnalysisJson plus where it came from
export type { Crack } from '../../server/protocol/analysis-report.js';

export interface Analysis {
  frameId?: number;
  captureId?: string;
  source: string;
  width: number;
  height: number;
  threshold: number;
  mmPerPx: number | null;
  report: Omit<CrackReport, 'labels'>;
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
