/** Shared by the HTTP and shutdown e2e tests: start the built CLI, poll for state, send raw requests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach } from 'vitest';

export const CLI = join(import.meta.dirname, '../../dist/index.js');
export const BASE_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  COMPUTE_MCP_EMULATOR_PACE: 'instant',
};

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error('dist/index.js is missing: run `npm run build` (npm test does it)');
}

/** Polls `check` every 20 ms until it is truthy; fails naming `what` after `timeoutMs`. */
export async function until<T>(
  check: () => T | Promise<T>,
  what: string | (() => string),
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Cli {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `compute-mcp --http …`; resolves with the URL it prints on stderr. `track` gets the child to kill later. */
export async function startHttpCli(
  args: string[],
  env: Record<string, string>,
  track: (c: ChildProcess) => void,
): Promise<Cli> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...BASE_ENV, ...env } });
  track(child);
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = await Promise.race([
    until(
      () => /listening on (http:\/\/\S+)/.exec(err)?.[1],
      () => `the URL on stderr (so far: ${err})`,
    ),
    exited.then((code) => Promise.reject(new Error(`exited ${code}: ${err}`))),
  ]);
  return { url, child, stderr: () => err, exited };
}

export const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};
export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Any method and headers, Host included (fetch does not let a caller set Host). Reads the whole body. */
export function raw(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<RawResponse> {
  const u = new URL(url);
  const options = { host: u.hostname, port: u.port, path: u.pathname, method, headers: { ...MCP_HEADERS, ...headers } };
  return new Promise((resolve, reject) => {
    const r = request(options, (res) => {
      let text = '';
      res.on('data', (d) => (text += String(d)));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    r.on('error', reject);
    r.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A raw initialize; the session id when it was accepted. */
export async function openRaw(
  url: string,
  headers: Record<string, string> = {},
): Promise<RawResponse & { sid?: string }> {
  const r = await raw(url, 'POST', headers, INIT);
  const sid = r.headers['mcp-session-id'];
  return { ...r, sid: typeof sid === 'string' ? sid : undefined };
}

/** The JSON-RPC error in a plain JSON reply. */
export const rpcError = (body: string) => JSON.parse(body) as { error: { code: number; message: string }; id: unknown };

/**
 * Registers an afterEach that runs what a test leaves to undo, last first. `cleanup` takes any undo step;
 * `killLater` ends a child process the test left running.
 */
export function cleanupAfterEach() {
  let steps: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const step of steps.reverse()) await step();
    steps = [];
  });
  const cleanup = (step: () => Promise<unknown> | void) => void steps.push(step);
  const killLater = (c: ChildProcess) => cleanup(() => void (c.exitCode === null && c.kill('SIGKILL')));
  return { cleanup, killLater };
}
