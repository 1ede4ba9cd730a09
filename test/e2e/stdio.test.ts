/** The built CLI, spawned as a client would spawn it, over stdio. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ListToolsResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GenesisEmulator } from '../../src/providers/genesiscloud/emulator.js';
import { H100, SSH_KEY } from '../helpers/harness.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/index.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const BASE_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  COMPUTE_MCP_EMULATOR_PACE: 'instant',
};

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/index.js is missing: run `npm run build` (npm test does it)');
});

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, ...args], {
    env: { ...BASE_ENV, ...env },
    encoding: 'utf8',
    timeout: 20_000,
    input: '',
  });

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

async function connect(args: string[], env: Record<string, string> = {}) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, ...args],
    env: { ...BASE_ENV, ...env },
    stderr: 'pipe',
  });
  const stderr: string[] = [];
  transport.stderr?.on('data', (d) => stderr.push(String(d)));
  const client = new Client({ name: 'e2e', version: '0' });
  await client.connect(transport);
  cleanup.push(() => client.close());
  return { client, stderr };
}

describe('compute-mcp over stdio', () => {
  it('serves the fourteen tools on the emulators and walks create → wait → delete', async () => {
    const { client, stderr } = await connect(['--emulate']);
    expect(client.getServerVersion()).toMatchObject({ name: 'compute-mcp', version: VERSION });
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(14);
    const types = (await client.callTool({ name: 'list_instance_types', arguments: { gpu: 'h100' } }))
      .structuredContent as {
      items: { provider: string; id: string; gpu: { model: string }; price: { usd_per_hour: number | null } }[];
    };
    // H100s from every emulated cloud that sells them, cheapest first (unknown prices last).
    expect(types.items.map((t) => `${t.provider}/${t.id}`)).toEqual(
      expect.arrayContaining(['mithril/h100-80gb.sxm.8x', `genesiscloud/${H100}`]),
    );
    for (const t of types.items) expect(t.gpu.model).toMatch(/H100/i);
    const prices = types.items.map((t) => t.price.usd_per_hour ?? Infinity);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    const args = { provider: 'genesiscloud', instance_type: H100, name: 'e2e', ssh_public_key: SSH_KEY };
    const ask = (await client.callTool({ name: 'create_vm', arguments: args })).structuredContent as {
      status: string;
      confirmation_token: string;
    };
    expect(ask.status).toBe('confirmation_required');
    const made = (
      await client.callTool({
        name: 'create_vm',
        arguments: { ...args, confirmation_token: ask.confirmation_token, wait_seconds: 10 },
      })
    ).structuredContent as { status: string; instance: { id: string; status: string } };
    expect(made).toMatchObject({ status: 'created', instance: { status: 'running' } });
    const del = (
      await client.callTool({ name: 'delete_vm', arguments: { provider: 'genesiscloud', id: made.instance.id } })
    ).structuredContent as { confirmation_token: string };
    const done = (
      await client.callTool({
        name: 'delete_vm',
        arguments: { provider: 'genesiscloud', id: made.instance.id, confirmation_token: del.confirmation_token },
      })
    ).structuredContent as { status: string };
    expect(done.status).toBe('deleted');
    // stderr carries pino JSON lines only
    const lines = stderr.join('').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });

  it('writes nothing but JSON-RPC on stdout', async () => {
    const child = spawn(process.execPath, [CLI, '--emulate'], { env: { ...BASE_ENV, LOG_LEVEL: 'trace' } });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    const send = (m: object) => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_instances', arguments: {} } });
    send({
      jsonrpc: '2.0',
      id: 4,
      method: 'tools/call',
      params: { name: 'get_instance', arguments: { provider: 'genesiscloud', id: 'nope' } },
    });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout; stdout so far: ${out}`)), 15_000);
      child.stdout.on('data', () => {
        if (out.split('\n').filter(Boolean).length >= 4) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    child.stdin.end();
    await new Promise((r) => child.on('exit', r));
    const lines = out.split('\n').filter(Boolean);
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ jsonrpc: '2.0' });
    const byId = new Map(
      lines.map((l) => JSON.parse(l) as { id: number; result: { isError?: boolean } }).map((m) => [m.id, m]),
    );
    expect(byId.get(4)!.result.isError).toBe(true);
    expect(byId.get(3)!.result.isError).toBeFalsy();
  });

  it('answers every method it serves (the build tells the SDK each method without building its schema)', async () => {
    const { client } = await connect(['--emulate']);
    const { prompts } = await client.listPrompts();
    expect(prompts.length).toBeGreaterThan(0);
    // Answered by the prompt's handler (which may refuse missing arguments), not as an unknown method.
    const got = await client.getPrompt({ name: prompts[0]!.name, arguments: {} }).catch((e: Error) => e);
    expect(String(got instanceof Error ? got.message : '')).not.toMatch(/-32601|not found/i);
    await client.listResources();
    await client.listResourceTemplates();
    await client.ping();
    await client.setLoggingLevel('warning');
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(14);
    expect((await client.callTool({ name: 'list_providers', arguments: {} })).isError).toBeFalsy();
    // A method nobody serves is still refused as such, and an invalid level is refused.
    await expect(client.request({ method: 'no/such' } as never, ListToolsResultSchema)).rejects.toThrow(/-32601/);
    // Params the SDK's schema refuses: -32602 naming the field, not -32603 with zod's raw JSON.
    const bad = await client.setLoggingLevel('bogus' as never).catch((e: Error) => e);
    expect(String(bad)).toMatch(/-32602.*Invalid params for logging\/setLevel: params\.level: /);
    expect(String(bad)).not.toContain('"code"');
  });

  it('never prints a real key to stderr, results or errors (live mode against a loopback cloud)', async () => {
    const CANARY = 'gc_canary_e2e_4d1f8a7b2c9e';
    const em = new GenesisEmulator({ token: CANARY });
    await em.start();
    cleanup.push(() => em.stop());
    const { client, stderr } = await connect([], {
      GENESISCLOUD_API_TOKEN: CANARY,
      GENESISCLOUD_BASE_URL: em.baseUrl,
      LOG_LEVEL: 'trace',
    });
    const results: unknown[] = [];
    results.push(await client.callTool({ name: 'list_providers', arguments: {} }));
    results.push(await client.callTool({ name: 'list_instances', arguments: {} }));
    results.push(
      await client.callTool({
        name: 'create_vm',
        arguments: { provider: 'genesiscloud', instance_type: H100, name: 'x', ssh_public_key: SSH_KEY, dry_run: true },
      }),
    );
    em.http.injectFault({ method: 'GET', path: '/compute/v1/instances', status: 401, times: 0 });
    results.push(await client.callTool({ name: 'list_instances', arguments: { provider: 'genesiscloud' } }));
    await client.close();
    expect(em.http.requests.some((r) => r.headers.authorization === `Bearer ${CANARY}`)).toBe(true);
    expect(JSON.stringify(results)).toContain('PROVIDER_AUTH');
    expect(stderr.join('')).not.toContain(CANARY);
    expect(JSON.stringify(results)).not.toContain(CANARY);
  });
});

describe('the command line', () => {
  it('--help and --version', () => {
    const h = run(['--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('compute-mcp call TOOL [JSON]');
    const v = run(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(VERSION);
  });

  it('call prints the structured result, with exit codes 0 / 1 / 2', () => {
    const ok = run(['call', 'list_instance_types', '{"gpu":"h100","provider":"genesiscloud"}', '--emulate']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).items[0].id).toBe(H100);
    const toolErr = run([
      'call',
      'get_instance',
      '{"provider":"genesiscloud","id":"00000000-0000-4000-8000-000000000000"}',
      '--emulate',
    ]);
    expect(toolErr.status).toBe(1);
    expect(JSON.parse(toolErr.stdout).error).toMatchObject({ code: 'NOT_FOUND', provider: 'genesiscloud' });
    const gated = run([
      'call',
      'create_vm',
      JSON.stringify({ provider: 'genesiscloud', instance_type: H100, name: 'x', ssh_public_key: SSH_KEY }),
      '--emulate',
    ]);
    expect(gated.status).toBe(0);
    expect(JSON.parse(gated.stdout).status).toBe('confirmation_required');
    expect(run(['call', 'no_such_tool', '{}', '--emulate']).status).toBe(2);
    expect(run(['call', 'list_providers', '{not json', '--emulate']).status).toBe(2);
    expect(run(['frobnicate']).status).toBe(2);
    expect(run(['--bogus-flag']).status).toBe(2);
  });

  it('a bad config file stops the start with the field and the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cm-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ policy: { limits: { maxInstances: 'ten' } } }));
    const r = run(['--emulate', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('policy.limits.maxInstances');
    expect(r.stdout).toBe('');
  });

  it('without credentials the server starts and says how to enable a cloud', () => {
    const r = run(['call', 'list_providers']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).items[0]).toMatchObject({
      id: 'genesiscloud',
      enabled: false,
      reason: 'Set GENESISCLOUD_API_TOKEN to enable it.',
    });
  });

  it('demo runs the main job end to end', () => {
    const r = run(['demo']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const s of [
      'CONFIRMATION REQUIRED',
      'Created genesiscloud',
      'no new VM was created',
      'is running',
      'ssh ubuntu@',
      'paused',
      'Snapshot',
      'Created mithril',
      '(your bid limit)',
      'second-price auction',
      'resumed',
      'Done:',
    ])
      expect(r.stdout).toContain(s);
  });
});
