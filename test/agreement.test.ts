// The mask agreement graph (server/inference/agreement.ts) against counts done by hand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementOf, MaskComparer } from '../server/inference/agreement.js';

describe('MaskComparer', () => {
  let cmp: MaskComparer;
  beforeAll(async () => {
    cmp = await MaskComparer.create();
  });
  afterAll(() => cmp.release());

  it('counts pixels on in a, in b and in both, each at its own threshold', async () => {
    const a = Uint8Array.from([0, 127, 128, 255, 200, 10, 128, 0]);
    const b = Uint8Array.from([0, 200, 100, 255, 199, 10, 255, 90]);
    // a >= 128: idx 2,3,4,6 (4); b >= 100: idx 1,2,3,4,6 (5); both: 2,3,4,6 (4)
    expect(await cmp.counts(a, b, 128, 100)).toEqual({ a: 4, b: 5, both: 4 });
    const r = await cmp.agreement(a, b, 128, 100);
    expect(r.iou).toBeCloseTo(4 / 5, 6);
    expect(r.f1).toBeCloseTo(8 / 9, 6);
  });

  it('two empty masks agree fully; disjoint ones not at all', async () => {
    expect((await cmp.agreement(new Uint8Array(16), new Uint8Array(16), 128, 128)).iou).toBe(1);
    const a = new Uint8Array(1000),
      b = new Uint8Array(1000);
    a.fill(255, 0, 500);
    b.fill(255, 500);
    expect(await cmp.agreement(a, b, 128, 128)).toMatchObject({ iou: 0, f1: 0, a: 500, b: 500, both: 0 });
  });

  it('counts a full-size mask exactly', async () => {
    const n = 384 * 640;
    const a = new Uint8Array(n),
      b = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = i % 7 === 0 ? 255 : 0;
      b[i] = i % 5 === 0 ? 255 : 0;
    }
    const on7 = Math.ceil(n / 7),
      on5 = Math.ceil(n / 5),
      on35 = Math.ceil(n / 35);
    expect(await cmp.counts(a, b, 128, 128)).toEqual({ a: on7, b: on5, both: on35 });
    await expect(cmp.counts(a, b.subarray(1), 128, 128)).rejects.toThrow(/differ in size/);
    expect(agreementOf({ a: on7, b: on5, both: on35 }).iou).toBeCloseTo(on35 / (on7 + on5 - on35), 9);
  });
});
