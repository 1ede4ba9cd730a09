// `npm run bench`: start-up, memory, tools/list size, per-call overhead, fan-out and HTTP throughput of the built
// server (dist/), each beside its baseline measured in the same run, and writes the table into BENCHMARKS.md.
// Not a test: nothing here fails on a number. BENCH_QUICK=1 runs fewer rounds and leaves BENCHMARKS.md alone (CI's
// smoke check that the bench still runs).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { benchHttp } from './bench-http.mjs';
import { benchStores } from './bench-store.mjs';
import { loadSource } from './load.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const CLI = new URL('../dist/index.js', import.meta.url).pathname;
const BASE_ENV = { PATH: process.env.PATH, HOME: process.env.HOME, COMPUTE_MCP_EMULATOR_PACE: 'instant' };
// Credentials in the form each cloud expects; the stdio server must not call a cloud before the first tool call.
const CREDENTIALS = {
  GENESISCLOUD_API_TOKEN: 'bench-token-not-used-before-a-tool-call',
  MITHRIL_API_KEY: 'fkey_bench-not-used-before-a-tool-call',
  ONET_API_KEY: 'sk-onetsolutions-bench',
  ONET_ORGANIZATION_ID: 'org',
  ONET_PROJECT_ID: 'project',
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];
const since = (t0) => performance.now() - t0;
const rows = [];
const row = (what, value, note = '') => {
  rows.push([what, value, note]);
  console.error(`${what}: ${value}${note ? `  (${note})` : ''}`);
};
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '0' } },
};

/** spawn → the first byte on stdout (for the server: the answer to initialize), in ms. */
async function firstAnswer(args, env) {
  const t0 = performance.now();
  // The default log level, as a new user runs it: the start-up lines are written to stderr (not read here).
  const child = spawn(process.execPath, args, { env: { ...BASE_ENV, ...env }, stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdin.on('error', () => undefined);
  child.stdin.write(`${JSON.stringify(INIT)}\n`);
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before answering`)));
  });
  const elapsed = since(t0);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return elapsed;
}

/**
 * A client session's server before the measured starts: it answers initialize and tools/list and runs for longer than
 * the two seconds after which it keeps the code it compiled (src/launch.cts), as a user's first session does.
 */
async function firstSession(args, env) {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...BASE_ENV, ...env, LOG_LEVEL: 'silent' } });
  child.stdin.write(`${JSON.stringify(INIT)}\n${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' })}\n`);
  await delay(2_500);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

// 1. Start-up: the three measured in turn, round after round, so that a busy moment hits all of them alike.
{
  // One of each mode, as a user who has run both (the cache then holds what each compiles).
  await firstSession([], CREDENTIALS);
  await firstSession(['--emulate'], {});
  // A new build's first start (no code cache yet: a cache directory of its own, empty, each time).
  const caches = [];
  const fresh = () => {
    caches.push(mkdtempSync(join(tmpdir(), 'compute-mcp-bench-cache-')));
    return { ...CREDENTIALS, XDG_CACHE_HOME: caches.at(-1) };
  };
  const kinds = {
    bare: [['-e', 'process.stdout.write("x"); setTimeout(() => {}, 1000)'], () => ({})],
    credentials: [[CLI], () => CREDENTIALS],
    emulate: [[CLI, '--emulate'], () => ({})],
    first: [[CLI], fresh],
  };
  const times = { bare: [], credentials: [], emulate: [], first: [] };
  for (let i = 0; i < (QUICK ? 3 : 15); i++)
    for (const [k, [args, env]] of Object.entries(kinds)) times[k].push(await firstAnswer(args, env()));
  const [bare, creds, emu] = [median(times.bare), median(times.credentials), median(times.emulate)];
  const first = median(times.first);
  for (const dir of caches) rmSync(dir, { recursive: true, force: true });
  const n = times.bare.length;
  row('bare `node -e` (spawn → first byte)', `${bare.toFixed(0)} ms`, `median of ${n}, the baseline`);
  row(
    'spawn → initialize answered, stdio, credentials for 3 clouds',
    `${creds.toFixed(0)} ms`,
    `bare + ${(creds - bare).toFixed(0)} ms; median of ${n}`,
  );
  row(
    'spawn → initialize answered, stdio, --emulate',
    `${emu.toFixed(0)} ms`,
    `bare + ${(emu - bare).toFixed(0)} ms; five emulators started`,
  );
  row(
    'the same with credentials, first start of a new build',
    `${first.toFixed(0)} ms`,
    `bare + ${(first - bare).toFixed(0)} ms; no code cache yet (the rows above follow first sessions that kept it)`,
  );
}

// 2. Memory and size: one stdio server with credentials, idle after tools/list.
{
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI],
    env: { ...BASE_ENV, ...CREDENTIALS, LOG_LEVEL: 'silent' },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  row(
    'tools/list size',
    `${Math.round(Buffer.byteLength(JSON.stringify({ tools })) / 4)} tokens`,
    `bytes/4, ${tools.length} tools (budget 3,500)`,
  );
  await delay(200); // idle: what start-up allocated and let go is collected
  row('RSS of the stdio server, idle after tools/list', `${rssMiB(transport.pid).toFixed(0)} MiB`, 'VmRSS');
  await client.close();
}

const { startRuntime } = await loadSource('src/runtime.ts');
const { createLogger } = await loadSource('src/log.ts');

/** A runtime on the emulators with a real client over an in-memory transport (the server's own cost, no stdio). */
async function inProcess(latencyMs = 0) {
  const rt = await startRuntime({ emulate: true, env: {}, log: createLogger({ level: 'silent' }), pace: 'instant' });
  for (const e of Object.values(rt.emulators.byCloud)) e.http.latencyMs = latencyMs;
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'bench', version: '0' });
  await Promise.all([rt.makeServer().connect(b), client.connect(a)]);
  return { rt, client, close: () => client.close().then(() => rt.close()) };
}

// 3. Per-call overhead: get_instance through MCP, and the raw GET it makes, alternately.
{
  const { rt, client, close } = await inProcess();
  const created = await client.callTool({
    name: 'create_vm',
    arguments: {
      provider: 'genesiscloud',
      instance_type: 'vcpu-2_memory-4g_disk-80g',
      name: 'bench',
      ssh_public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKeyBenchKeyBenchKeyBenchKeyBenchKey00 bench',
    },
  });
  const id = created.structuredContent?.instance?.id;
  if (!id) throw new Error(`create_vm did not create: ${JSON.stringify(created.content)}`);
  const em = rt.emulators.byCloud.genesiscloud;
  const url = `${em.baseUrl}/compute/v1/instances/${id}`;
  const headers = { authorization: `Bearer ${em.env.GENESISCLOUD_API_TOKEN}` };
  const raw = [];
  const viaMcp = [];
  for (let i = 0; i < (QUICK ? 30 : 500); i++) {
    let t0 = performance.now();
    await (await fetch(url, { headers })).json();
    raw.push(since(t0));
    t0 = performance.now();
    await client.callTool({ name: 'get_instance', arguments: { provider: 'genesiscloud', id } });
    viaMcp.push(since(t0));
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

// 4. Fan-out: every cloud, 200 ms of latency on each cloud call; round trips = elapsed / 200 ms.
{
  const LATENCY = 200;
  const { client, close } = await inProcess(LATENCY);
  const timed = async (name, args) => {
    const t0 = performance.now();
    const r = await client.callTool({ name, arguments: args });
    if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
    return since(t0);
  };
  const cold = await timed('list_instance_types', {});
  row(
    'list_instance_types, all clouds, 200 ms per cloud call, cold',
    `${cold.toFixed(0)} ms`,
    `${(cold / LATENCY).toFixed(2)} round trips`,
  );
  const cached = [];
  for (let i = 0; i < 20; i++) cached.push(await timed('list_instance_types', {}));
  row('the same, cached', `${median(cached).toFixed(1)} ms`, 'median of 20');
  const list = await timed('list_instances', {});
  row(
    'list_instances, all clouds, 200 ms per cloud call',
    `${list.toFixed(0)} ms`,
    `${(list / LATENCY).toFixed(2)} round trips`,
  );
  await close();
}

// 5. HTTP: throughput over Streamable HTTP beside the raw GET, and memory over 10,000 calls (scripts/bench-http.mjs).
await benchHttp({ cli: CLI, row, quick: QUICK });

// 6. Creates/s through the gate on each state store (scripts/bench-store.mjs).
await benchStores({ row, quick: QUICK });

const table = `| measure | result | note |\n|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`;
console.log(table);
if (!QUICK) {
  const file = new URL('../BENCHMARKS.md', import.meta.url);
  const machine = `${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, ${cpus().length} cores`;
  const section = `<!-- bench:start -->\nLast run: ${machine}.\n\n${table}\n<!-- bench:end -->`;
  const md = readFileSync(file, 'utf8');
  if (!md.includes('<!-- bench:start -->')) throw new Error('BENCHMARKS.md has no <!-- bench:start --> marker');
  writeFileSync(file, md.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, section));
  console.error('BENCHMARKS.md updated');
}
process.exit(0);
