/** The built CLI in Streamable HTTP mode, and progress/cancellation over HTTP and stdio. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GenesisEmulator } from '../../src/providers/genesiscloud/emulator.js';
import { H100, SSH_KEY } from '../helpers/harness.js';

const CLI = join(import.meta.dirname, '../../dist/index.js');
const BASE_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  COMPUTE_MCP_EMULATOR_PACE: 'instant',
};

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** Starts `compute-mcp --http`, resolves with its URL (from the line it prints on stderr). */
async function startHttpCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...BASE_ENV, ...env } });
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  cleanup.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no URL; stderr: ${err}`)), 10_000);
    child.stderr.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { url, child, stderr: () => err };
}

async function httpClient(url: string, opts: { elicit?: boolean; token?: string } = {}) {
  const client = new Client(
    { name: 'http-e2e', version: '0' },
    { capabilities: opts.elicit ? { elicitation: { form: {} } } : {} },
  );
  if (opts.elicit)
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { approve: true } }));
  const transport = new StreamableHTTPClientTransport(
    new URL(url),
    opts.token ? { requestInit: { headers: { authorization: `Bearer ${opts.token}` } } } : undefined,
  );
  await client.connect(transport);
  cleanup.push(() => client.close());
  return { client, transport };
}

const init = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};
/** A raw POST with any Host header (fetch does not let a caller set Host). */
function rawPost(url: string, host: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const r = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode!);
      },
    );
    r.on('error', reject);
    r.end(JSON.stringify(init));
  });
}

const post = (url: string, headers: Record<string, string> = {}, body: string = JSON.stringify(init)) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body,
  });

describe('compute-mcp --http', () => {
  it('serves stateful sessions on 127.0.0.1 and closes them cleanly', async () => {
    const { url } = await startHttpCli(['--emulate', '--http', '127.0.0.1:0']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const { client, transport } = await httpClient(url);
    const sid = transport.sessionId!;
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    expect((await client.listTools()).tools).toHaveLength(14);
    await transport.terminateSession();
    const after = await post(
      url,
      { 'mcp-session-id': sid },
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    );
    expect(after.status).toBe(404);
  });

  it('refuses a foreign Host or Origin, oversized bodies, and requests without a session', async () => {
    const { url } = await startHttpCli(['--emulate', '--http', '127.0.0.1:0']);
    const port = new URL(url).port;
    expect(await rawPost(url, 'evil.example.com')).toBe(403);
    expect(await rawPost(url, `evil.example.com:${port}`)).toBe(403);
    expect(await rawPost(url, `localhost:${port}`)).toBe(200);
    expect((await post(url, { origin: 'http://evil.example.com' })).status).toBe(403);
    expect((await post(url, { origin: `http://localhost:${port}` })).status).toBe(200);
    expect((await post(url, {}, JSON.stringify({ ...init, pad: 'x'.repeat(2 * 1024 * 1024) }))).status).toBe(413);
    expect((await post(url, {}, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }))).status).toBe(400);
    expect((await post(url, {}, '{nope')).status).toBe(400);
  });

  it('asks a human over HTTP (elicitation on the tool call stream) and creates on yes', async () => {
    const { url } = await startHttpCli(['--emulate', '--http', '127.0.0.1:0']);
    const { client } = await httpClient(url, { elicit: true });
    const r = await client.callTool({
      name: 'create_vm',
      arguments: { provider: 'genesiscloud', instance_type: H100, name: 'h', ssh_public_key: SSH_KEY },
    });
    expect(r.structuredContent).toMatchObject({ status: 'created', approved_by: 'elicitation' });
  });

  it('off loopback: refuses to start without a token, then requires it on every request, and denies instead of issuing tokens', async () => {
    const refused = spawn(process.execPath, [CLI, '--emulate', '--http', '0.0.0.0:0'], { env: BASE_ENV });
    let err = '';
    refused.stderr.on('data', (d) => (err += String(d)));
    const code = await new Promise((r) => refused.on('exit', r));
    expect(code).toBe(2);
    expect(err).toContain('without COMPUTE_MCP_HTTP_TOKEN');

    const TOKEN = 'http-token-for-tests';
    const { url: shown } = await startHttpCli(['--emulate', '--http', '0.0.0.0:0'], { COMPUTE_MCP_HTTP_TOKEN: TOKEN });
    const url = shown.replace('0.0.0.0', '127.0.0.1');
    expect((await post(url)).status).toBe(401);
    expect((await post(url, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(url, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    const { client } = await httpClient(url, { token: TOKEN });
    const r = await client.callTool({
      name: 'create_vm',
      arguments: { provider: 'genesiscloud', instance_type: H100, name: 'h', ssh_public_key: SSH_KEY },
    });
    expect(r.isError).toBe(true);
    expect((r.content as { text: string }[])[0]!.text).toMatch(/^\[CONFIRMATION_UNAVAILABLE\]/);
  });

  it('shuts down gracefully on SIGTERM', async () => {
    const { child } = await startHttpCli(['--emulate', '--http', '127.0.0.1:0']);
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
  });
});

describe('progress and cancellation', () => {
  async function slowCloud() {
    const em = new GenesisEmulator({ token: 'tok', delays: { createMs: 120_000 } });
    await em.start();
    cleanup.push(() => em.stop());
    const dir = mkdtempSync(join(tmpdir(), 'cm-progress-'));
    // A price for the cheap type, so the create needs no confirmation under the default policy.
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ prices: { genesiscloud: { 'vcpu-2_memory-4g_disk-80g': 0.04 } } }),
    );
    return {
      em,
      env: {
        GENESISCLOUD_API_TOKEN: 'tok',
        GENESISCLOUD_BASE_URL: em.baseUrl,
        COMPUTE_MCP_STATE_DIR: join(dir, 'state'),
        COMPUTE_MCP_CONFIG: join(dir, 'config.json'),
      },
    };
  }

  /** `logs` is the server's stderr so far: the end of the cancelled call shows there. */
  async function exercise(client: Client, em: GenesisEmulator, logs: () => string) {
    const cheap = {
      provider: 'genesiscloud',
      instance_type: 'vcpu-2_memory-4g_disk-80g',
      name: 'slow',
      ssh_public_key: SSH_KEY,
    };
    // create_vm with wait_seconds reports progress while it waits
    const progress: { message?: string }[] = [];
    const created = await client.callTool(
      { name: 'create_vm', arguments: { ...cheap, wait_seconds: 3 } },
      CallToolResultSchema,
      { onprogress: (p) => progress.push(p) },
    );
    const id = (created.structuredContent as { instance: { id: string; status: string } }).instance.id;
    expect((created.structuredContent as { instance: { status: string } }).instance.status).toBe('pending');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]!.message).toContain('pending (creating)');

    // wait_for_instance stops promptly when the request is cancelled
    const ac = new AbortController();
    const seen: unknown[] = [];
    const waiting = client.callTool(
      { name: 'wait_for_instance', arguments: { provider: 'genesiscloud', id, timeout_seconds: 50 } },
      CallToolResultSchema,
      {
        signal: ac.signal,
        onprogress: (p) => {
          seen.push(p);
          if (seen.length === 2) ac.abort('the user moved on');
        },
      },
    );
    const started = Date.now();
    await expect(waiting).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(10_000);
    const polls = () => em.http.count('GET', `/compute/v1/instances/${id}`);
    // The server ends the call (and logs it) once it sees the cancellation; after that nothing may poll again.
    await vi.waitFor(() => expect(logs()).toMatch(/"tool":"wait_for_instance".*"code":"CANCELLED"/), {
      timeout: 10_000,
      interval: 20,
    });
    const before = polls();
    // A full round trip on the same connection: had the loop survived, its next poll (every 2 s) would be counted by
    // the time a later wait_for_instance with a 2-second budget ends.
    await client.callTool({
      name: 'wait_for_instance',
      arguments: { provider: 'genesiscloud', id, status: 'paused', timeout_seconds: 2 },
    });
    expect(polls() - before).toBeLessThanOrEqual(2); // the new call's own polls (at 0 s and 2 s) only
  }

  it('over HTTP', async () => {
    const { em, env } = await slowCloud();
    const { url, stderr } = await startHttpCli(['--http', '127.0.0.1:0'], env);
    const { client } = await httpClient(url);
    await exercise(client, em, stderr);
  });

  it('over stdio', async () => {
    const { em, env } = await slowCloud();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI],
      env: { ...BASE_ENV, ...env },
      stderr: 'pipe',
    });
    let err = '';
    transport.stderr?.on('data', (d) => (err += String(d)));
    const client = new Client({ name: 'stdio-e2e', version: '0' });
    await client.connect(transport);
    cleanup.push(() => client.close());
    await exercise(client, em, () => err);
  });
});
