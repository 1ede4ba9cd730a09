/** HTTP sessions are bounded: per client and in total, and an idle session is closed (its McpServer with it). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { startHttp, type HttpOptions } from '../../src/transport/http.js';
import {
  assertBuilt,
  cleanupAfterEach,
  BASE_ENV,
  CLI,
  INIT,
  MCP_HEADERS,
  openRaw,
  raw,
  rpcError,
  startHttpCli,
  until,
} from './serve.js';

const ROOT = join(import.meta.dirname, '../..');
const PROTOCOL = { 'mcp-protocol-version': '2025-11-25' };
const PING = { jsonrpc: '2.0', id: 9, method: 'ping' };

const { cleanup, killLater } = cleanupAfterEach();

/** startHttp in this process, with a bare McpServer per session; the servers and log lines are kept for checks. */
async function serve(extra: Partial<HttpOptions> = {}) {
  const servers: McpServer[] = [];
  const logs: string[] = [];
  const log = createLogger({ level: 'info', destination: { write: (s: string) => void logs.push(s) } });
  const makeServer = () => {
    const s = new McpServer({ name: 'sessions-test', version: '0' });
    servers.push(s);
    return s;
  };
  const http = await startHttp({ host: '127.0.0.1', port: 0, log, makeServer, ...extra });
  cleanup(() => http.close());
  return { http, servers, logs };
}

async function connectClient(url: string, token?: string) {
  const client = new Client({ name: 'sessions-e2e', version: '0' });
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  await client.connect(transport);
  cleanup(() => client.close());
  return { client, transport };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const ping = (url: string, sid: string) => raw(url, 'POST', { 'mcp-session-id': sid, ...PROTOCOL }, PING);

/** Opens the session's standalone SSE stream (GET) and keeps it open, so the session is in use, until cleanup. */
async function holdStream(url: string, sid: string, headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const get = { accept: 'text/event-stream', 'mcp-session-id': sid, ...PROTOCOL, ...headers };
  const r = await fetch(url, { headers: get, signal: ac.signal });
  expect(r.status).toBe(200);
  cleanup(() => ac.abort());
}

beforeAll(assertBuilt);

describe('HTTP session caps', () => {
  it('refuses a client whose sessions are all in use: 429 saying to DELETE some; a DELETE frees a slot', async () => {
    const { http } = await serve({ maxSessionsPerClient: 2, maxSessions: 10 });
    const a = await openRaw(http.url);
    const b = await openRaw(http.url);
    expect([a.status, b.status]).toEqual([200, 200]);
    await holdStream(http.url, a.sid!);
    await holdStream(http.url, b.sid!);

    const over = await openRaw(http.url);
    expect(over.status).toBe(429);
    expect(over.sid).toBeUndefined();
    expect(over.headers['retry-after']).toBe('60');
    const err = rpcError(over.body);
    expect(err.id).toBe(1);
    expect(err.error.message).toMatch(/^Too many sessions: this client has 2 open, all in use \(limit 2\)\./);
    expect(err.error.message).toContain('DELETE /mcp with their mcp-session-id header');
    // An SDK client's connect fails with the same sentence, so the agent learns what to do.
    await expect(connectClient(http.url)).rejects.toThrow(/Too many sessions: this client has 2 open/);
    expect(http.sessions()).toBe(2);

    const del = await raw(http.url, 'DELETE', { 'mcp-session-id': a.sid!, ...PROTOCOL });
    expect(del.status).toBe(200);
    await until(() => http.sessions() === 1, 'the deleted session to leave the table');
    expect((await openRaw(http.url)).status).toBe(200);
  });

  it("at its cap, a client's longest-unused session not in use makes room (its McpServer closes)", async () => {
    const { http, servers, logs } = await serve({ maxSessionsPerClient: 2 });
    const a = await openRaw(http.url);
    const b = await openRaw(http.url);
    expect((await ping(http.url, a.sid!)).status).toBe(200); // b is the longest unused now
    const c = await openRaw(http.url);
    expect(c.status).toBe(200);
    expect(http.sessions()).toBe(2);

    const gone = await ping(http.url, b.sid!);
    expect(gone.status).toBe(404);
    expect(rpcError(gone.body).error.message).toBe('Session not found: initialize again');
    expect(servers[1]!.isConnected()).toBe(false);
    expect(logs.some((l) => l.includes('http session reclaimed') && l.includes(b.sid!))).toBe(true);
    for (const live of [a, c]) expect((await ping(http.url, live.sid!)).status).toBe(200);
  });

  it("counts per token; over the total, 503 saying to try later (never closing another token's)", async () => {
    const { http } = await serve({ tokens: ['token-a', 'token-b'], maxSessionsPerClient: 2, maxSessions: 3 });
    for (let i = 0; i < 2; i++) {
      const a = await openRaw(http.url, bearer('token-a'));
      expect(a.status).toBe(200);
      await holdStream(http.url, a.sid!, bearer('token-a'));
    }
    expect((await openRaw(http.url, bearer('token-a'))).status).toBe(429);
    // Same address, another token: another client, with its own allowance ...
    expect((await openRaw(http.url, bearer('token-b'))).status).toBe(200);
    // ... until the server as a whole is full.
    const full = await openRaw(http.url, bearer('token-b'));
    expect(full.status).toBe(503);
    expect(full.headers['retry-after']).toBe('60');
    expect(rpcError(full.body).error.message).toMatch(/^Server busy: 3 sessions open \(limit 3\)\. Try again later/);
    expect(http.sessions()).toBe(3);
  });

  it('never holds more than the cap, even under concurrent initializes', async () => {
    const { http, servers } = await serve({ maxSessionsPerClient: 3 });
    const results = await Promise.all(Array.from({ length: 12 }, () => openRaw(http.url)));
    for (const r of results) expect([200, 429]).toContain(r.status);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(3);
    expect(http.sessions()).toBeLessThanOrEqual(3);
    await until(() => servers.filter((s) => s.isConnected()).length <= 3, 'the McpServers of closed sessions to close');
  });
});

describe('HTTP session idle expiry', () => {
  it('closes a session nobody uses, and its McpServer; its id then gets 404 "initialize again"', async () => {
    const { http, servers, logs } = await serve({ sessionIdleMs: 300 });
    const idle = await openRaw(http.url);
    expect(idle.status).toBe(200);
    const { client } = await connectClient(http.url);
    expect(http.sessions()).toBe(2);

    // The busy session keeps pinging (and holds its SSE stream open); the idle one must go, the busy one stay.
    await until(async () => {
      await client.ping();
      return http.sessions() === 1;
    }, 'the idle session to expire');
    expect(servers[0]!.isConnected()).toBe(false);
    expect(logs.some((l) => l.includes('"http session expired"') && l.includes(idle.sid!))).toBe(true);

    const after = await ping(http.url, idle.sid!);
    expect(after.status).toBe(404);
    expect(rpcError(after.body).error.message).toBe('Session not found: initialize again');
    await expect(client.ping()).resolves.toEqual({});
    expect(servers[1]!.isConnected()).toBe(true);
  });

  it('the expiry timer never keeps the process alive: unref()d while running, cleared by close()', async () => {
    // A fresh process, so no other timer muddles the count; it must end by itself after close().
    const script = `
      import { loadSource } from ${JSON.stringify(join(ROOT, 'scripts/load.mjs'))};
      const { startHttp } = await loadSource('src/transport/http.ts');
      import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const log = { info() {}, warn() {}, error() {}, debug() {}, child() { return log; } };
      const before = timers();
      const http = await startHttp({ host: '127.0.0.1', port: 0, log, sessionIdleMs: 3_600_000,
        makeServer: () => new McpServer({ name: 't', version: '0' }) });
      const whileRunning = timers();
      const r = await fetch(http.url, { method: 'POST', body: ${JSON.stringify(JSON.stringify(INIT))},
        headers: ${JSON.stringify(MCP_HEADERS)} });
      await r.text();
      const opened = http.sessions();
      await http.close();
      process.stdout.write(JSON.stringify({ before, whileRunning, opened }));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: BASE_ENV });
    killLater(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code, err).toBe(0);
    const seen = JSON.parse(out) as { before: number; whileRunning: number; opened: number };
    expect(seen.opened).toBe(1);
    expect(seen.whileRunning).toBe(seen.before);
  });
});

describe('the CLI reads the session limits from the environment', () => {
  it('COMPUTE_MCP_HTTP_MAX_SESSIONS and COMPUTE_MCP_HTTP_SESSION_IDLE_SECONDS', async () => {
    const env = { COMPUTE_MCP_HTTP_MAX_SESSIONS: '1', COMPUTE_MCP_HTTP_SESSION_IDLE_SECONDS: '0.3' };
    const cli = await startHttpCli(['--emulate', '--http', '127.0.0.1:0'], env, killLater);
    const first = await openRaw(cli.url);
    expect(first.status).toBe(200);
    expect((await openRaw(cli.url)).status).toBe(503);
    await until(() => cli.stderr().includes('http session expired'), 'the session to expire');
    const gone = await ping(cli.url, first.sid!);
    expect(gone.status).toBe(404);
    expect(rpcError(gone.body).error.message).toBe('Session not found: initialize again');
    expect((await openRaw(cli.url)).status).toBe(200);
  });

  it('a value that is not a positive number stops the start with exit code 2', async () => {
    const child = spawn(process.execPath, [CLI, '--emulate', '--http', '127.0.0.1:0'], {
      env: { ...BASE_ENV, COMPUTE_MCP_HTTP_MAX_SESSIONS: 'lots' },
    });
    killLater(child);
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    await until(() => child.exitCode !== null || err.includes('listening on'), 'an exit or a start');
    expect(child.exitCode, err).toBe(2);
    expect(err).toContain('COMPUTE_MCP_HTTP_MAX_SESSIONS must be a positive whole number (got "lots")');
  });
});
