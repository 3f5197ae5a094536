// Model faults stop start-up with exit code 78 (EX_CONFIG, not restarted by systemd) and one line
// on stderr that names the file and what is wrong with it.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startDaemon } from './helpers/daemon.js';
import { tinyOnnx, writeTinyModel } from './helpers/tiny-model.js';
import { tinyModel, tmpDir } from './faults-util.js';

async function serveWith(model: string) {
  const r = await runCli(['serve', '--model', model, '--providers', 'cpu', '--port', '0', '--data-dir', tmpDir('model-data'), '--source', 'test://'], {
    timeoutMs: 30_000,
  });
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  return { ...r, last: lines.at(-1) ?? '' };
}

function copyModel(name: string) {
  const src = tinyModel();
  const dir = tmpDir('model-bad');
  const onnx = path.join(dir, `${name}.onnx`);
  fs.copyFileSync(src, onnx);
  fs.copyFileSync(src.replace(/\.onnx$/, '.json'), onnx.replace(/\.onnx$/, '.json'));
  return onnx;
}

describe('model faults → exit 78 with one line naming the file', () => {
  it('truncated .onnx', async () => {
    const onnx = copyModel('truncated');
    const bytes = fs.readFileSync(onnx);
    fs.writeFileSync(onnx, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r = await serveWith(onnx);
    expect(r.code).toBe(78);
    expect(r.last).toContain(onnx);
    expect(r.last).toMatch(/^model error: .*cannot load/);
    expect(r.stdout).not.toMatch(/http\.listening/);
  });

  it('missing .onnx', async () => {
    const onnx = path.join(tmpDir('model-missing'), 'gone.onnx');
    const r = await serveWith(onnx);
    expect(r.code).toBe(78);
    expect(r.last).toBe(`model error: ${onnx}: file not found`);
  });

  it('manifest that breaks the contract (float32 input)', async () => {
    const onnx = copyModel('float');
    const json = onnx.replace(/\.onnx$/, '.json');
    const m = JSON.parse(fs.readFileSync(json, 'utf8'));
    m.input.dtype = 'float32';
    fs.writeFileSync(json, JSON.stringify(m));
    const r = await serveWith(onnx);
    expect(r.code).toBe(78);
    expect(r.last).toBe(`model error: ${json}: input.dtype must be "uint8", got "float32"`);
  });

  it('manifest that disagrees with the graph (input name)', async () => {
    const onnx = copyModel('misnamed');
    const json = onnx.replace(/\.onnx$/, '.json');
    const m = JSON.parse(fs.readFileSync(json, 'utf8'));
    m.input.name = 'pixels';
    fs.writeFileSync(json, JSON.stringify(m));
    const r = await serveWith(onnx);
    expect(r.code).toBe(78);
    expect(r.last).toContain(onnx);
    expect(r.last).toContain('"pixels"');
  });

  it('manifest that is not JSON', async () => {
    const onnx = copyModel('garbled');
    const json = onnx.replace(/\.onnx$/, '.json');
    fs.writeFileSync(json, '{"name": "garbled", ');
    const r = await serveWith(onnx);
    expect(r.code).toBe(78);
    expect(r.last).toMatch(new RegExp(`^model error: ${json.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid JSON`));
  });
});

describe('inference errors at run time', () => {
  it('turn health red with the reason and recreate the session, without crash-looping', async () => {
    // the graph takes 32×32 but the manifest promises 64×96: it loads, and every run fails
    const dir = tmpDir('model-runtime');
    const onnx = writeTinyModel(dir, 'mismatch', { height: 64, width: 96 });
    fs.writeFileSync(onnx, tinyOnnx({ height: 32, width: 32 }));
    const d = await startDaemon(['--model', onnx, '--providers', 'cpu', '--source', 'test://ball', '--fps', '30']);
    try {
      await expect.poll(async () => (await (await fetch(`${d.url}/healthz`)).json()).status, { timeout: 20_000, interval: 200 }).toBe('model-error');
      const res = await fetch(`${d.url}/healthz`);
      expect(res.status).toBe(503);
      const health = await res.json();
      expect(health.reason).toMatch(/^inference failed \d+ times in a row: .*dimension/i);
      await expect.poll(() => d.logs.some((l) => l.event === 'inference.session_recreated'), { timeout: 20_000 }).toBe(true);
      // backing off between attempts: a few errors per second at most, and the daemon is still up
      const errors = () =>
        fetch(`${d.url}/metrics`)
          .then((r) => r.text())
          .then((t) => Number(/^crackscope_inference_errors_total (\d+)$/m.exec(t)![1]));
      const e0 = await errors();
      await new Promise((r) => setTimeout(r, 3000));
      expect((await errors()) - e0).toBeLessThan(15);
      expect(d.child.exitCode).toBeNull();
    } finally {
      const code = await d.stop();
      if (code !== 0) console.log(d.stderr(), JSON.stringify(d.logs.slice(-6)));
      expect(code).toBe(0);
    }
  });
});
