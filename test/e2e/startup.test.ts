/**
 * What the stdio server does before the first tool call: it calls no cloud, and it loads neither the HTTP transport,
 * nor the emulators, nor the HTTP client library, nor worker threads (each is imported when first used).
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, requireBuilt } from '../helpers/cli.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/** A loopback "cloud" that records every request and answers an empty list. */
async function recordingCloud(): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ instances: [], total_count: 0, page: 1, per_page: 100 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A preload that, on SIGUSR2, writes the Node built-in modules loaded so far to a file. */
function moduleProbe(): { hook: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cm-startup-'));
  const hook = join(dir, 'probe.mjs');
  const out = join(dir, 'modules.json');
  writeFileSync(
    hook,
    `import { writeFileSync } from 'node:fs';
     process.on('SIGUSR2', () => writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.moduleLoadList)));`,
  );
  return { hook, out };
}

async function until<T>(read: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = read();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('start-up', () => {
  it('reads a start file under 800 KB, and loads no node:crypto before a tool call needs it', async () => {
    requireBuilt();
    // Every start reads dist/cli.cjs whole (src/launch.cts): growth there is paid by every client session.
    expect(statSync(join(CLI, '../cli.cjs')).size).toBeLessThan(800 * 1024);
    const probe = moduleProbe();
    const home = mkdtempSync(join(tmpdir(), 'cm-home-'));
    const start = async (args: string[]) => {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [...args, CLI],
        stderr: 'ignore',
        env: {
          PATH: process.env.PATH ?? '',
          HOME: home,
          GENESISCLOUD_API_TOKEN: 'startup-test-0123456789',
          LOG_LEVEL: 'silent',
        },
      });
      const client = new Client({ name: 'startup', version: '0' });
      await client.connect(transport);
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      return { client, pid: transport.pid! };
    };
    // The first start in a new state directory makes its token secret (random bytes); the starts after read it.
    await (await start([])).client.close();
    const { client, pid } = await start(['--import', probe.hook]);
    cleanups.push(() => client.close());
    process.kill(pid, 'SIGUSR2');
    const loaded = await until(
      () => (existsSync(probe.out) ? (JSON.parse(readFileSync(probe.out, 'utf8')) as string[]) : undefined),
      'the module list',
    );
    expect(loaded).toContain('NativeModule fs'); // the probe sees what was loaded
    expect(loaded).not.toContain('NativeModule crypto');
  });

  it('calls no cloud and loads no HTTP transport, emulator, HTTP client or worker before the first tool call', async () => {
    requireBuilt();
    const cloud = await recordingCloud();
    const probe = moduleProbe();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', probe.hook, CLI],
      stderr: 'ignore',
      env: {
        PATH: process.env.PATH ?? '',
        HOME: mkdtempSync(join(tmpdir(), 'cm-home-')),
        GENESISCLOUD_API_TOKEN: 'startup-test-token-0123456789',
        GENESISCLOUD_BASE_URL: cloud.url,
        LOG_LEVEL: 'silent',
      },
    });
    const client = new Client({ name: 'startup', version: '0' });
    await client.connect(transport);
    cleanups.push(() => client.close());
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.callTool({ name: 'list_providers', arguments: {} });

    process.kill(transport.pid!, 'SIGUSR2');
    const loaded = await until(
      () => (existsSync(probe.out) ? (JSON.parse(readFileSync(probe.out, 'utf8')) as string[]) : undefined),
      'the module list',
    );
    const builtins = loaded.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
    expect(builtins).toContain('crypto'); // the probe sees what was loaded
    // From Node 22 on, Node's own `performance` object loads worker_threads (for eventLoopUtilization): only Node 20
    // shows whether our code does.
    const node20 = Number(process.versions.node.split('.')[0]) === 20;
    for (const unused of ['http', 'https', 'tls', 'http2', ...(node20 ? ['worker_threads'] : []), 'readline'])
      expect(builtins, unused).not.toContain(unused);
    expect(cloud.requests).toHaveLength(0);

    // The first tool that needs the cloud calls it.
    await client.callTool({ name: 'list_instances', arguments: { provider: 'genesiscloud' } });
    expect(cloud.requests.length).toBeGreaterThan(0);
  });
});
