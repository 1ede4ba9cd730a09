// Benchmarks (npm run bench): start-up, tools/list size, per-call overhead, fan-out, HTTP throughput, peak RSS.
// Everything runs against the built server (dist/) and the emulators on loopback; numbers go to stdout as a table.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createLogger } from '../dist/log.js';
import { startRuntime } from '../dist/runtime.js';

const CLI = new URL('../dist/index.js', import.meta.url).pathname;
const log = createLogger({ level: 'silent' });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const rows = [];
const row = (what, value, note = '') => {
  rows.push([what, value, note]);
  console.error(`${what}: ${value} ${note}`);
};

async function inProcess(latencyMs = 0) {
  const rt = await startRuntime({ emulate: true, env: {}, log, pace: 'instant' });
  if (latencyMs) for (const e of Object.values(rt.emulators.byCloud)) e.http.latencyMs = latencyMs;
  const server = rt.makeServer();
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'bench', version: '0' });
  await Promise.all([server.connect(b), client.connect(a)]);
  return {
    rt,
    client,
    close: async () => {
      await client.close();
      await rt.close();
    },
  };
}

// 1. spawn → initialized, over stdio
{
  const times = [];
  for (let i = 0; i < 7; i++) {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [CLI, '--emulate'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        COMPUTE_MCP_EMULATOR_PACE: 'instant',
        LOG_LEVEL: 'silent',
      },
    });
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'b', version: '0' } } })}\n`,
    );
    await new Promise((r) => child.stdout.once('data', r));
    times.push(ms(t0));
    child.stdin.end();
    await new Promise((r) => child.on('exit', r));
  }
  row('spawn → initialize answered (stdio, --emulate)', `${median(times).toFixed(0)} ms`, `median of ${times.length}`);
}

// 2. tools/list size
{
  const { client, close } = await inProcess();
  const { tools } = await client.listTools();
  row(
    'tools/list size',
    `${Math.round(Buffer.byteLength(JSON.stringify({ tools })) / 4)} tokens`,
    `bytes/4, ${tools.length} tools`,
  );
  await close();
}

// 3. per-call overhead: get_instance through MCP vs the raw HTTP call it makes
{
  const { rt, client, close } = await inProcess();
  const created = await client.callTool({
    name: 'create_vm',
    arguments: {
      provider: 'genesiscloud',
      instance_type: 'vcpu-2_memory-4g_disk-80g',
      name: 'bench',
      ssh_public_key: 'ssh-ed25519 AAAAC3Nza bench',
    },
  });
  const id = created.structuredContent.instance.id;
  const url = `${rt.emulators.byCloud.genesiscloud.baseUrl}/compute/v1/instances/${id}`;
  const raw = [];
  const viaMcp = [];
  for (let i = 0; i < 300; i++) {
    let t0 = process.hrtime.bigint();
    await (await fetch(url, { headers: { authorization: 'Bearer emulator-genesiscloud-token' } })).json();
    raw.push(ms(t0));
    t0 = process.hrtime.bigint();
    await client.callTool({ name: 'get_instance', arguments: { provider: 'genesiscloud', id } });
    viaMcp.push(ms(t0));
  }
  row(
    'get_instance through MCP (in-process client)',
    `${median(viaMcp).toFixed(2)} ms`,
    `p95 ${p95(viaMcp).toFixed(2)} ms`,
  );
  row('the same GET, raw fetch to the emulator', `${median(raw).toFixed(2)} ms`, `p95 ${p95(raw).toFixed(2)} ms`);
  row('per-call overhead', `${(median(viaMcp) - median(raw)).toFixed(2)} ms`, 'median difference');
  await close();
}

// 4. fan-out across the clouds with 50 ms injected latency, cold and cached
{
  const { client, close } = await inProcess(50);
  let t0 = process.hrtime.bigint();
  await client.callTool({ name: 'list_instance_types', arguments: { gpu: 'h100' } });
  row(
    'list_instance_types, all clouds, 50 ms latency, cold',
    `${ms(t0).toFixed(0)} ms`,
    'Genesis: 7 availability calls in parallel; Mithril: 2',
  );
  t0 = process.hrtime.bigint();
  await client.callTool({ name: 'list_instance_types', arguments: { gpu: 'h100' } });
  row('the same, cached (30 s catalog cache)', `${ms(t0).toFixed(1)} ms`, '');
  t0 = process.hrtime.bigint();
  await client.callTool({ name: 'list_instances', arguments: {} });
  row('list_instances, all clouds, 50 ms latency', `${ms(t0).toFixed(0)} ms`, 'one page per call');
  await close();
}

// 5 + 6. HTTP throughput with concurrent clients, and the server's peak RSS
{
  const child = spawn(process.execPath, [CLI, '--emulate', '--http', '127.0.0.1:0'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, COMPUTE_MCP_EMULATOR_PACE: 'instant', LOG_LEVEL: 'warn' },
  });
  let err = '';
  const url = await new Promise((resolve) =>
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve(m[1]);
    }),
  );
  const clients = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const c = new Client({ name: 'load', version: '0' });
      await c.connect(new StreamableHTTPClientTransport(new URL(url)));
      return c;
    }),
  );
  const perClient = 100;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < perClient; i++)
        await c.callTool({ name: 'list_instances', arguments: { provider: 'genesiscloud' } });
    }),
  );
  const secs = ms(t0) / 1000;
  row(
    'HTTP throughput, 10 concurrent sessions',
    `${Math.round((clients.length * perClient) / secs)} calls/s`,
    `${clients.length * perClient} list_instances calls in ${secs.toFixed(1)} s`,
  );
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
  row(
    'server peak RSS after that run',
    hwm ? `${Math.round(Number(hwm) / 1024)} MiB` : 'n/a',
    'VmHWM, includes the two emulators',
  );
  await Promise.all(clients.map((c) => c.close()));
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
}

console.log(`| measure | result | note |\n|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`);
