/**
 * Progress on the terminal: `compute-mcp call wait_for_instance …` draws the tool's progress as one line rewritten in
 * place on stderr when stderr is a terminal (run here under a pseudo-terminal, with `script` from util-linux), wipes
 * it before the result, and keeps stdout to the JSON result; with stderr not a terminal nothing extra is written.
 * The VM is created beforehand on an emulator that takes a few seconds to start it, so the wait reports progress.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressText, ProgressLine } from '../../src/cli/progress.js';
import { parseConfig } from '../../src/config.js';
import type { RunningEmulator } from '../../src/providers/cloud.js';
import { BUILT_CLOUDS } from '../../src/providers/clouds.js';
import { ProviderSet } from '../../src/providers/index.js';
import { CLI, requireBuilt } from '../helpers/cli.js';
import { memoryLogger } from '../helpers/logsink.js';

const cloud = BUILT_CLOUDS.find((c) => c.id === 'genesiscloud')!;
const CREATE_MS = 5_000;
let em: RunningEmulator;
let env: Record<string, string>;

beforeAll(async () => {
  requireBuilt();
  em = await cloud.emulator({ pace: 'instant', options: { delays: { createMs: CREATE_MS } } });
  env = {
    PATH: process.env.PATH ?? '',
    HOME: mkdtempSync(join(tmpdir(), 'cm-progress-home-')),
    COMPUTE_MCP_STATE_DIR: join(mkdtempSync(join(tmpdir(), 'cm-progress-state-')), 'state'),
    LOG_LEVEL: 'silent',
    TERM: 'xterm',
    ...em.env,
    GENESISCLOUD_BASE_URL: em.baseUrl,
  };
});
afterAll(() => em?.stop());

/** A VM that is still being created (the emulator takes CREATE_MS), made through the cloud's own adapter. */
async function creatingVm(name: string): Promise<string> {
  const providers = new ProviderSet({ env, config: parseConfig({}), log: memoryLogger('silent').log });
  try {
    const p = providers.get(cloud.id);
    const vm = await p.create(await p.planCreate(cloud.contract.createRequest(name)));
    expect(vm.status).not.toBe('running');
    return vm.id;
  } finally {
    await providers.close();
  }
}

/** Runs a command to its end without blocking this process (the emulator answers from here). */
function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const waitArgs = (id: string) => JSON.stringify({ provider: cloud.id, id, status: 'running', timeout_seconds: 30 });
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('compute-mcp call: progress on the terminal', () => {
  it('stderr a terminal: a progress line rewritten in place, wiped before the exit; stdout only the result', async () => {
    const id = await creatingVm('progress-tty');
    const out = join(mkdtempSync(join(tmpdir(), 'cm-progress-out-')), 'result.json');
    // Under `script`, stdin and stderr are the pseudo-terminal; stdout goes to a file, as in `… > result.json`.
    const command = [process.execPath, CLI, 'call', 'wait_for_instance', waitArgs(id)].map(sh).join(' ');
    // A terminal 200 columns wide, so the line is not cut at the default 80.
    const r = await run('script', ['-qec', `stty cols 200; ${command} > ${sh(out)}`, '/dev/null']);
    expect(r.code, r.stderr).toBe(0);
    const terminal = r.stdout;
    // Several updates of one line: each starts by returning to the line's start and clearing it.
    const updates = terminal.split('\r\x1b[2K').filter((s) => s.startsWith('wait_for_instance'));
    expect(updates.length, JSON.stringify(terminal)).toBeGreaterThanOrEqual(2);
    expect(updates[0]).toMatch(
      new RegExp(`^wait_for_instance \\[[#-]{20}\\] [\\d.]+/30 ${id}: pending \\(creating\\)$`),
    );
    expect(terminal).not.toMatch(/\n.*wait_for_instance \[/); // never a new line per update
    expect(terminal.endsWith('\r\x1b[2K')).toBe(true); // wiped: the shell prompt starts on a clean line
    const result = JSON.parse(readFileSync(out, 'utf8')) as { reached: boolean; instance: { status: string } };
    expect(result).toMatchObject({ reached: true, instance: { status: 'running' } });
  }, 60_000);

  it('stderr not a terminal: no progress is asked for or written', async () => {
    const id = await creatingVm('progress-pipe');
    const r = await run(process.execPath, [CLI, 'call', 'wait_for_instance', waitArgs(id)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ reached: true, instance: { status: 'running' } });
  }, 60_000);
});

describe('the progress line', () => {
  it('shows a bar when the total is known, the count otherwise, and fits the terminal', () => {
    expect(progressText('wait_for_instance', { progress: 15, total: 30, message: 'vm-1: starting' })).toBe(
      'wait_for_instance [##########----------] 15/30 vm-1: starting',
    );
    expect(progressText('snapshot', { progress: 2.25 })).toBe('snapshot: 2.3');
    const long = progressText('t', { progress: 1, total: 2, message: 'x'.repeat(200) }, 40);
    expect(long.length).toBe(39);
    expect(long.endsWith('…')).toBe(true);
  });

  it('clears only a line it drew', () => {
    const written: string[] = [];
    const line = new ProgressLine('t', { write: (s: string) => written.push(s), columns: 60 });
    line.clear();
    expect(written).toEqual([]);
    line.update({ progress: 1, total: 2 });
    line.clear();
    line.clear();
    expect(written).toEqual(['\r\x1b[2Kt [##########----------] 1/2', '\r\x1b[2K']);
  });
});
