/**
 * `compute-mcp doctor` from the built CLI: on the emulators everything works (exit 0); against emulators and loopback
 * servers started here, a wrong key is named with the cloud's own error, a cloud that never answers is given up after
 * --timeout, a clock an hour off and a half-configured cloud fail the run; the config file and the state directory are
 * checked (and left as they were); keys never appear in the output; --json is one JSON document on stdout.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/cli/doctor.js';
import type { RunningEmulator } from '../../src/providers/cloud.js';
import { BUILT_CLOUDS } from '../../src/providers/clouds.js';
import { CLI, configFile, requireBuilt } from '../helpers/cli.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
beforeAll(() => requireBuilt());

const genesis = BUILT_CLOUDS.find((c) => c.id === 'genesiscloud')!;
const mithril = BUILT_CLOUDS.find((c) => c.id === 'mithril')!;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `compute-mcp doctor ARGS` with exactly `env` (plus PATH, HOME and a fresh state directory). */
function doctor(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, 'doctor', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: mkdtempSync(join(tmpdir(), 'cm-doctor-home-')),
      COMPUTE_MCP_STATE_DIR: join(mkdtempSync(join(tmpdir(), 'cm-doctor-state-')), 'state'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })),
  );
}
const report = (r: Run) => JSON.parse(r.stdout) as DoctorReport;
const cloudOf = (r: DoctorReport, id: string) => r.clouds.find((c) => c.id === id)!;

async function emulator(cloud = genesis): Promise<RunningEmulator> {
  const em = await cloud.emulator({ pace: 'instant' });
  cleanups.push(() => em.stop());
  return em;
}

/** A server that accepts connections and never answers: a cloud that does not respond. */
async function silentServer(): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A Genesis-shaped cloud whose clock is `offsetMs` off: it answers the instance list with that Date header. */
async function skewedCloud(offsetMs: number): Promise<string> {
  const server = createHttpServer((_req, res) => {
    res.setHeader('date', new Date(Date.now() + offsetMs).toUTCString());
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ instances: [], total_count: 0, page: 1, per_page: 100 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('compute-mcp doctor', () => {
  it('--emulate: every cloud answers, with its latency and the clock; exit 0', async () => {
    const r = await doctor(['--emulate', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rep = report(r);
    expect(rep.ok).toBe(true);
    expect(rep.node).toMatchObject({ status: 'ok', version: process.versions.node });
    expect(rep.config.status).toBe('ok');
    expect(rep.clock.status).toBe('ok');
    for (const cloud of BUILT_CLOUDS) {
      const c = cloudOf(rep, cloud.id);
      expect(c, cloud.id).toMatchObject({ status: 'ok', mode: 'emulated', call: { what: 'list_instances', ok: true } });
      expect(c.call!.ms).toBeGreaterThanOrEqual(0);
      expect(Math.abs(c.clock_skew_seconds!)).toBeLessThanOrEqual(2);
      expect(Object.values(c.keys).every(Boolean)).toBe(true);
    }
  });

  it('the human report: one line per check, the verdict last, nothing on stderr', async () => {
    const r = await doctor(['--emulate']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const cloud of BUILT_CLOUDS)
      expect(r.stdout).toMatch(
        new RegExp(
          `^ok +${cloud.id} +${cloud.name} \\(emulated, http://127\\.0\\.0\\.1:\\d+\\): the keys work: list_instances answered in \\d+ ms$`,
          'm',
        ),
      );
    expect(r.stdout.trim().split('\n').at(-1)).toBe('Everything enabled works.');
  });

  it('a working key on a live cloud is ok; the clouds without keys are off, not failures', async () => {
    const em = await emulator();
    const r = await doctor(['--json'], {
      GENESISCLOUD_API_TOKEN: em.env.GENESISCLOUD_API_TOKEN!,
      GENESISCLOUD_BASE_URL: em.baseUrl,
    });
    expect(r.code, r.stdout).toBe(0);
    const rep = report(r);
    expect(cloudOf(rep, 'genesiscloud')).toMatchObject({
      status: 'ok',
      mode: 'live',
      base_url: em.baseUrl,
      keys: { GENESISCLOUD_API_TOKEN: true },
    });
    expect(cloudOf(rep, 'mithril')).toMatchObject({
      status: 'off',
      keys: { MITHRIL_API_KEY: false, MITHRIL_PROJECT: false },
      message: 'not configured: set MITHRIL_API_KEY, MITHRIL_PROJECT to enable it',
    });
    // The state directory does not exist yet: the server makes it; doctor only looks.
    expect(rep.state).toMatchObject({ status: 'ok' });
    expect(rep.state.message).toContain('does not exist yet');
  });

  it('a wrong key and a cloud that never answers: each named, bounded by --timeout, exit 1, no key shown', async () => {
    const em = await emulator();
    const silent = await silentServer();
    const wrong = 'wrong-token-that-must-not-be-printed-42';
    const r = await doctor(['--json', '--timeout', '1'], {
      GENESISCLOUD_API_TOKEN: wrong,
      GENESISCLOUD_BASE_URL: em.baseUrl,
      MITHRIL_API_KEY: 'fkey_silent_cloud_key_0123456789',
      MITHRIL_PROJECT: 'proj_x',
      MITHRIL_BASE_URL: silent,
    });
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(r.stdout + r.stderr).not.toContain('fkey_silent_cloud_key_0123456789');
    const rep = report(r);
    expect(rep.ok).toBe(false);
    const g = cloudOf(rep, 'genesiscloud');
    expect(g).toMatchObject({ status: 'fail', mode: 'live', call: { ok: false } });
    expect(g.message).toMatch(/HTTP 401.*missing or invalid credentials.*\[PROVIDER_AUTH\]/);
    expect(g.hint).toContain('GENESISCLOUD_API_TOKEN');
    // The emulator answered (with a 401): its clock was still read.
    expect(Math.abs(g.clock_skew_seconds!)).toBeLessThanOrEqual(2);
    const m = cloudOf(rep, mithril.id);
    expect(m).toMatchObject({ status: 'fail', mode: 'live', base_url: silent, call: { ok: false } });
    expect(m.message).toMatch(/^no answer within 1 s/);
    expect(m.call!.ms).toBeGreaterThanOrEqual(900);
    expect(m.call!.ms).toBeLessThan(5_000);
    expect(m.clock_skew_seconds).toBeUndefined();

    const human = await doctor(['--timeout', '1'], {
      GENESISCLOUD_API_TOKEN: wrong,
      GENESISCLOUD_BASE_URL: em.baseUrl,
    });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(
      /^FAIL +genesiscloud +Genesis Cloud \(live, .*\): GENESISCLOUD_API_TOKEN set; GET .* failed with HTTP 401/m,
    );
    expect(human.stdout).toMatch(/→ The cloud refused the credentials; check GENESISCLOUD_API_TOKEN\./);
    expect(human.stdout.trim().split('\n').at(-1)).toBe('Not ready: genesiscloud.');
  });

  it("a clock an hour off the cloud's Date header fails, saying by how much", async () => {
    const url = await skewedCloud(-3_600_000);
    const r = await doctor(['--json'], {
      GENESISCLOUD_API_TOKEN: 'token-for-the-skewed-cloud',
      GENESISCLOUD_BASE_URL: url,
    });
    expect(r.code).toBe(1);
    const rep = report(r);
    expect(cloudOf(rep, 'genesiscloud').status).toBe('ok');
    expect(Math.abs(cloudOf(rep, 'genesiscloud').clock_skew_seconds! - 3600)).toBeLessThanOrEqual(2);
    expect(rep.clock.status).toBe('fail');
    expect(rep.clock.message).toMatch(/clock is 3[56]\d\d s ahead of genesiscloud/);
  });

  it('a half-configured cloud fails, naming what is missing', async () => {
    const half = await doctor(['--json'], { MITHRIL_API_KEY: 'fkey_half_configured_0123' });
    expect(half.code).toBe(1);
    expect(cloudOf(report(half), 'mithril')).toMatchObject({
      status: 'fail',
      keys: { MITHRIL_API_KEY: true, MITHRIL_PROJECT: false },
      hint: 'Set MITHRIL_PROJECT too, or unset the others.',
    });
  });

  it('no cloud enabled at all is not ready', async () => {
    const r = await doctor([]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Not ready: no cloud is enabled');
  });

  it('an invalid config file fails, naming the field; a valid one is ok', async () => {
    const bad = configFile({ policy: { confirm: { gpu: 'sometimes' } } });
    const r = await doctor(['--json', '--emulate', '--config', bad]);
    expect(r.code).toBe(1);
    expect(report(r).config).toMatchObject({ status: 'fail', file: bad });
    expect(report(r).config.message).toContain('policy.confirm.gpu');
    const good = configFile({ policy: { limits: { maxInstances: 3 } } });
    const ok = await doctor(['--json', '--emulate'], { COMPUTE_MCP_CONFIG: good });
    expect(ok.code).toBe(0);
    expect(report(ok).config).toMatchObject({ status: 'ok', file: good });
  });

  it('the state directory: modes too open are a warning (left as they were), a link in it a failure', async () => {
    const em = await emulator();
    const env = { GENESISCLOUD_API_TOKEN: em.env.GENESISCLOUD_API_TOKEN!, GENESISCLOUD_BASE_URL: em.baseUrl };
    const dir = join(mkdtempSync(join(tmpdir(), 'cm-doctor-st-')), 'state');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'audit.jsonl'), '', { mode: 0o644 });
    chmodSync(join(dir, 'audit.jsonl'), 0o644);
    const open = await doctor(['--json'], { ...env, COMPUTE_MCP_STATE_DIR: dir });
    expect(open.code).toBe(0);
    expect(report(open).state).toMatchObject({ status: 'warn', dir });
    expect(report(open).state.message).toMatch(/mode 755.*audit\.jsonl \(644\)/);
    expect(statSync(dir).mode & 0o777).toBe(0o755); // doctor reads; the server fixes
    symlinkSync('/etc/hostname', join(dir, 'ledger.jsonl'));
    const linked = await doctor(['--json'], { ...env, COMPUTE_MCP_STATE_DIR: dir });
    expect(linked.code).toBe(1);
    expect(report(linked).state).toMatchObject({ status: 'fail' });
    expect(report(linked).state.message).toContain('ledger.jsonl');
  });

  it('refuses a bad --timeout and options of other commands (exit 2)', async () => {
    expect((await doctor(['--timeout', 'soon'])).code).toBe(2);
    expect((await doctor(['--html', 'x.html'])).stderr).toContain('--html is an option of spend');
  });
});
