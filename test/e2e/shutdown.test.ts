/** The built CLI over stdio: it ends cleanly when its client goes, and survives a line too long to be a message. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BASE_ENV, CLI, INIT, until } from './serve.js';

const MAX_LINE = 4 * 1024 * 1024;

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.reverse()) c();
  cleanup = [];
});
beforeAll(assertBuilt);

interface Stdio {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Sends a chunk, waiting for the pipe to drain so a large write does not pile up in this process. */
  write: (chunk: string | Buffer) => Promise<void>;
}

async function startStdio(): Promise<Stdio> {
  const child = spawn(process.execPath, [CLI, '--emulate'], { env: BASE_ENV });
  cleanup.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (err += String(d)));
  child.stdin.on('error', () => undefined); // the server may go first; that is for the test to judge
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await until(() => err.includes('ready on stdio'), 'the server to be ready');
  const write = (chunk: string | Buffer) =>
    new Promise<void>((resolve) => {
      if (child.stdin.write(chunk) || child.exitCode !== null) return resolve();
      const done = () => {
        child.stdin.off('drain', done);
        child.off('exit', done);
        resolve();
      };
      child.stdin.once('drain', done);
      child.once('exit', done); // a server that died never drains: let the test see it
    });
  return { child, stdout: () => out, stderr: () => err, exited, write };
}

const messages = (out: string) =>
  out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** stderr holds pino JSON lines only (no stack trace, no recursion), none at error level (50) or above. */
function expectCleanStderr(stderr: string): void {
  expect(stderr).not.toContain('Maximum call stack');
  for (const line of stderr.split('\n').filter(Boolean)) {
    const entry = JSON.parse(line) as { level: number; msg: string };
    expect(entry.level, entry.msg).toBeLessThan(50);
  }
}

/** The peak resident memory of a process in MiB (Linux); undefined elsewhere. */
function peakMiB(pid: number): number | undefined {
  const file = `/proc/${pid}/status`;
  if (!existsSync(file)) return undefined;
  const kib = /VmHWM:\s+(\d+)/.exec(readFileSync(file, 'utf8'))?.[1];
  return kib ? Number(kib) / 1024 : undefined;
}

describe('stdio shutdown', () => {
  it('exits 0 promptly when stdin closes, without re-entering its shutdown or logging an error', async () => {
    const s = await startStdio();
    const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
    await s.write(`${JSON.stringify(INIT)}\n${JSON.stringify(initialized)}\n`);
    await until(() => messages(s.stdout()).some((m) => m.id === 1), 'the initialize result');
    const closedAt = Date.now();
    s.child.stdin.end();
    expect(await s.exited).toBe(0);
    expect(Date.now() - closedAt).toBeLessThan(5_000);
    expectCleanStderr(s.stderr());
  });

  it('shuts down cleanly when its client closes stdout (EPIPE), instead of crashing with a trace', async () => {
    const s = await startStdio();
    s.child.stdout.destroy();
    await s.write(`${JSON.stringify(INIT)}\n`);
    expect(await s.exited).toBe(0);
    expectCleanStderr(s.stderr());
  });
});

describe('an oversized stdin line', () => {
  it('is refused with a JSON-RPC error (no id: its id is unread), in bounded memory, and the server carries on', async () => {
    const s = await startStdio();
    const before = peakMiB(s.child.pid!);
    const lineMiB = 96;
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    await s.write('{"jsonrpc":"2.0","id":7,"method":"ping","params":{"pad":"');
    for (let i = 0; i < lineMiB; i++) await s.write(chunk);
    await s.write(`"}}\n${JSON.stringify(INIT)}\n`);
    await until(() => messages(s.stdout()).length >= 2, 'two answers');

    const [refusal, initialized] = messages(s.stdout());
    expect(refusal).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
    expect(refusal).not.toHaveProperty('id'); // MCP clients refuse a null id
    expect((refusal!.error as { message: string }).message).toContain(`at most ${MAX_LINE} bytes`);
    expect(initialized).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'compute-mcp' } } });
    const after = peakMiB(s.child.pid!);
    // The line is dropped as it streams in: the peak grows by less than the line itself (a buffering reader holds all
    // 96 MiB, and more as a string); what it does grow by is chunks the garbage collector has not taken back yet.
    if (before !== undefined && after !== undefined) expect(after - before).toBeLessThan(lineMiB);

    expect(s.stderr()).toContain('stdin line too long: dropped');
    s.child.stdin.end();
    expect(await s.exited).toBe(0);
    expectCleanStderr(s.stderr());
  });

  it('a line just under the bound is still read as a message', async () => {
    const s = await startStdio();
    await s.write(`${JSON.stringify(INIT)}\n`);
    await until(() => messages(s.stdout()).some((m) => m.id === 1), 'the initialize result');
    const envelope = JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'ping', params: { pad: '' } });
    const pad = 'y'.repeat(MAX_LINE - Buffer.byteLength(envelope) - 1); // the newline makes it exactly MAX_LINE
    await s.write(`${envelope.replace('"pad":""', `"pad":"${pad}"`)}\n`);
    await until(() => messages(s.stdout()).some((m) => m.id === 8), 'the ping result');
    expect(messages(s.stdout()).find((m) => m.id === 8)).toMatchObject({ result: {} });
    s.child.stdin.end();
    expect(await s.exited).toBe(0);
  });
});
