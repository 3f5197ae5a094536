// The systemd units pass `systemd-analyze verify`; the env example names real config keys; the
// shell scripts in deploy/ and scripts/ pass shellcheck.
//
// `systemd-analyze verify` checks that every Exec*= binary exists and is executable. The units
// name the device's paths (/usr/bin/node, /usr/bin/cage, /opt/crackscope/...); on a machine where
// one of them is missing, the test verifies a copy in which only those missing absolute paths are
// pointed at stub executables under a temp install root, and says which ones it rewrote.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { need } from './helpers/need.js';

import { CONFIG_KEY_NAMES, CONFIG_KEYS, envName } from '../server/config/schema.js';
import { loadConfig } from '../server/config/load.js';

const ROOT = path.resolve(__dirname, '..');
const UNITS = [
  'crackscope.service',
  'crackscope-kiosk.service',
  'crackscope-worker.service',
  'crackscope-clocks.service',
  'crackscope-argus-watch.service',
  'crackscope-argus-watch.timer',
];
const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

function unitText(name: string) {
  return fs.readFileSync(path.join(ROOT, 'systemd', name), 'utf8');
}

/** key -> values (a key may repeat) of the [Service]/[Unit]/[Install] lines, continuation-free. */
function directives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

describe.skipIf(!need('systemd-analyze', has('systemd-analyze'), 'Debian package systemd'))('systemd units', () => {
  it('pass systemd-analyze verify', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-units-'));
    const stubRoot = path.join(dir, 'root');
    const rewritten: string[] = [];
    for (const name of UNITS) {
      let text = unitText(name);
      for (const [, value] of text.matchAll(/^Exec[A-Za-z]*=[-@:+!]*(\/\S+)/gm)) {
        const bin = value;
        if (fs.existsSync(bin)) continue;
        const stub = path.join(stubRoot, bin);
        fs.mkdirSync(path.dirname(stub), { recursive: true });
        fs.writeFileSync(stub, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
        text = text.split(`=${bin} `).join(`=${stub} `).split(`=${bin}\n`).join(`=${stub}\n`);
        rewritten.push(bin);
      }
      fs.writeFileSync(path.join(dir, name), text);
    }
    if (rewritten.length) console.log(`systemd-units: verified copies with stub executables for ${[...new Set(rewritten)].join(', ')} (not installed here)`);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...UNITS.map((u) => path.join(dir, u))], { encoding: 'utf8' });
    // verify prints problems on stderr; anything about our units is a failure
    const ours = (r.stderr + r.stdout).split('\n').filter((l) => /crackscope/.test(l));
    expect(ours, r.stderr).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('unit contents', () => {
  it('crackscope.service: notify + watchdog, restarts except on bad config, dedicated user, state dir, hardening', () => {
    const d = directives(unitText('crackscope.service'));
    const one = (k: string) => d.get(k)?.at(-1);
    expect(one('Type')).toBe('notify');
    expect(one('NotifyAccess')).toBe('main');
    expect(one('WatchdogSec')).toMatch(/^\d+s?$/);
    expect(one('Restart')).toBe('on-failure');
    expect(one('RestartPreventExitStatus')?.split(/\s+/).sort()).toEqual(['64', '78']);
    expect(one('User')).toBe('crackscope');
    expect(one('SupplementaryGroups')?.split(/\s+/)).toContain('video');
    expect(one('StateDirectory')).toBe('crackscope');
    expect(d.get('EnvironmentFile')).toContain('-/etc/crackscope/crackscope.env');
    for (const k of ['NoNewPrivileges', 'ProtectHome']) expect(one(k)).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('PrivateDevices')).toBe('no'); // camera and GPU nodes
    expect(d.has('MemoryDenyWriteExecute')).toBe(false); // V8's JIT
    expect(one('ExecStart')).toMatch(/main\.js serve$/);
  });

  it('crackscope.service keeps the GPU and camera nodes, /tmp and an offline boot working on systemd 245/249 (JetPack 5/6)', () => {
    const d = directives(unitText('crackscope.service'));
    const one = (k: string) => d.get(k)?.at(-1);
    // ProtectClock=yes adds DeviceAllow=char-rtc before systemd 252, which closes the device cgroup
    // to /dev/nvhost-*, /dev/nvmap, /dev/video*; any DeviceAllow= or a closed policy would do the same
    expect(d.has('ProtectClock')).toBe(false);
    expect(d.has('DeviceAllow')).toBe(false);
    expect(one('DevicePolicy') ?? 'auto').toBe('auto');
    expect(one('PrivateDevices')).toBe('no');
    // ProtectSystem=strict + PrivateTmp=no: /tmp is read-only; temp files go to the runtime dir
    expect(one('RuntimeDirectory')).toBe('crackscope');
    expect(d.get('Environment')?.join(' ')).toMatch(/\bTMPDIR=\/run\/crackscope\b/);
    // only rtsp:// needs the network; an offline device must not wait for network-online at boot
    expect([...(d.get('After') ?? []), ...(d.get('Wants') ?? [])].join(' ')).not.toMatch(/network-online/);
    expect(d.get('Wants')?.join(' ')).toMatch(/nvargus-daemon\.service/);
  });

  it("crackscope.service's TimeoutStopSec leaves the service's own stop deadline (stopTimeoutS) time to exit", () => {
    const d = directives(unitText('crackscope.service'));
    const systemdS = Number(d.get('TimeoutStopSec')?.[0]);
    // past stopTimeoutS the service answers what is left with 503 and exits 1 by itself; systemd's
    // SIGKILL (which leaves GStreamer no EOS) comes at least 5 s later, for an event loop running late
    expect(systemdS - (CONFIG_KEYS.stopTimeoutS.default as number)).toBeGreaterThanOrEqual(5);
    expect(CONFIG_KEYS.stopTimeoutS.allowed).toContain(`TimeoutStopSec (${systemdS})`);
  });
  it('crackscope-kiosk.service: after the service is ready, restarted if it dies, on the local kiosk URL', () => {
    const d = directives(unitText('crackscope-kiosk.service'));
    expect(d.get('After')?.join(' ')).toMatch(/crackscope\.service/);
    expect(d.get('Wants')?.join(' ')).toMatch(/crackscope\.service/);
    expect(d.get('Restart')?.at(-1)).toBe('always');
    // X11 (xinit + NVIDIA's Tegra X driver), not cage/wlroots (audit 6); the session script runs Chromium --kiosk
    expect(d.get('ExecStart')?.at(-1)).toMatch(/^\/usr\/bin\/xinit \/opt\/crackscope\/deploy\/jetson\/kiosk-session\.sh -- \S*Xorg :0 vt1/);
    expect(fs.readFileSync(path.join(ROOT, 'deploy/jetson/kiosk-session.sh'), 'utf8')).toMatch(/--kiosk/);
    expect(d.get('Environment')?.join(' ')).toMatch(/CRACKSCOPE_KIOSK_URL=http:\/\/127\.0\.0\.1:8080\//);
  });

  it('the env example only names real config keys', () => {
    const text = fs.readFileSync(path.join(ROOT, 'systemd/crackscope.env.example'), 'utf8');
    const known = new Set(CONFIG_KEY_NAMES.map(envName));
    const named = [...text.matchAll(/^#?(CRACKSCOPE_[A-Z_]+)=/gm)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((n) => !known.has(n))).toEqual([]);
    // and every uncommented value parses
    for (const [, name, value] of text.matchAll(/^(CRACKSCOPE_[A-Z_]+)=(.*)$/gm)) {
      expect(() => loadConfig({ env: { [name]: value } }), `${name}=${value}`).not.toThrow();
    }
  });
});

function shellScripts(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.sh') || (e.isFile() && /^#!.*\b(ba)?sh\b/.test(fs.readFileSync(p, 'utf8').slice(0, 80)))) out.push(p);
    }
  };
  for (const dir of ['deploy', 'scripts', 'bench', '.ci']) walk(path.join(ROOT, dir));
  return out.sort();
}

describe.skipIf(!need('shellcheck', has('shellcheck'), 'Debian package shellcheck'))('shell scripts', () => {
  it('pass shellcheck', () => {
    const scripts = shellScripts();
    expect(scripts.map((s) => path.relative(ROOT, s))).toEqual(
      expect.arrayContaining(['.ci/run', 'bench/cpu-runs.sh', 'bench/gpu-run.sh', 'scripts/setup.sh', 'deploy/jetson/install.sh']),
    );
    const r = spawnSync('shellcheck', ['--severity=style', '--external-sources', ...scripts], { encoding: 'utf8', cwd: ROOT });
    expect(r.stdout + r.stderr, `shellcheck ${scripts.map((s) => path.relative(ROOT, s)).join(' ')}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('deploy scripts parse with bash -n', () => {
    for (const s of shellScripts()) execFileSync('bash', ['-n', s]);
  });
});

describe('build-onnxruntime.sh --check', () => {
  const script = path.join(ROOT, 'deploy/jetson/build-onnxruntime.sh');
  const check = (release: string | null) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-tegra-'));
    const file = path.join(dir, 'nv_tegra_release');
    if (release !== null) fs.writeFileSync(file, release);
    return spawnSync('bash', [script, '--check', '--work-dir', dir], {
      encoding: 'utf8',
      env: { ...process.env, CRACKSCOPE_TEGRA_RELEASE_FILE: file, ORT_VERSION: '' },
    });
  };

  it('detects JetPack 5.1 and 6.x from the L4T release and prints the pinned plan, disk and time', () => {
    const jp5 = check('# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 19:57:35 UTC 2023\n');
    expect(jp5.status, jp5.stderr).toBe(0);
    expect(jp5.stdout).toMatch(/JetPack 5\.1/);
    expect(jp5.stdout).toMatch(/v1\.16\.3/); // NVIDIA's pin for r35; cuda only (audit 4)
    expect(jp5.stdout).toMatch(/cuda only: no TensorRT FP16 on JetPack 5/);
    expect(jp5.stdout).not.toMatch(/--use_tensorrt/);
    expect(jp5.stdout).toMatch(/jobs: +\d+ \(RAM only, swap not counted\), --nvcc_threads 1/);
    expect(jp5.stdout).toMatch(/GB free needed/);
    expect(jp5.stdout).toMatch(/time: .* h/);
    const jp6 = check('# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n');
    expect(jp6.status, jp6.stderr).toBe(0);
    expect(jp6.stdout).toMatch(/JetPack 6\.1\/6\.2.*|v1\.20\.2/);
    expect(jp6.stdout).toMatch(/--use_tensorrt --use_cuda --build_nodejs/);
    const jp60 = check('# R36 (release), REVISION: 3.0, GCID: 36923193, BOARD: generic, EABI: aarch64, DATE: Fri Jul 19 23:24:25 UTC 2024\n');
    expect(jp60.stdout).toMatch(/v1\.17\.3 \(pinned for JetPack 6\.0/); // TensorRT 8.6: not 1.18 (audit 16)
  });

  it('refuses other JetPacks and non-Jetsons with a clear message', () => {
    const jp4 = check('# R32 (release), REVISION: 7.4, GCID: 33514132, BOARD: t210ref, EABI: aarch64\n');
    expect(jp4.status).toBe(1);
    expect(jp4.stderr).toMatch(/L4T R32\.7 is not supported: crackscope supports JetPack 5\.1\.x .* and JetPack 6\.x/);
    const none = check(null);
    if (!fs.existsSync('/etc/nv_tegra_release')) {
      expect(none.status).toBe(1);
      expect(none.stderr).toMatch(/this is not a Jetson/);
    }
  });
});
