// HTTP throughput and memory of the built server (issue 13, items 2 and 3), measured side by side in one run: the
// emulators run in their own process (`compute-mcp emulate`), the server in another (`--http 127.0.0.1:0`, pointed
// at them through the variables `emulate` prints). A light client (raw JSON-RPC POSTs over an undici Pool of
// keep-alive connections) measures the server; the SDK client's figure is reported beside it.
// Standalone: `node scripts/bench-http.mjs` (after `npm run build`); `quick` (BENCH_QUICK=1 standalone) runs a tenth.
// BENCH_HTTP_NODE_FLAGS adds flags to the server's node (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const CONCURRENCY = 10;
const PROXY = new URL('./bench-proxy.mjs', import.meta.url).pathname;
const PROTOCOL = '2025-11-25';
const VM_TYPE = 'vcpu-2_memory-4g_disk-80g';

export async function benchHttp({ cli, row, quick = false }) {
  const calls = quick ? 400 : 4000; // per throughput figure, after a warm-up of a tenth as many
  const rounds = quick ? 2 : 10; // of 1,000 calls each (10 sessions of 100) for the memory figures
  const stateDir = mkdtempSync(join(tmpdir(), 'compute-mcp-bench-'));
  const children = [];
  const pools = [];
  try {
    const start = (args, env, flags = []) => {
      const child = spawn(process.execPath, [...flags, cli, ...args], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, COMPUTE_MCP_EMULATOR_PACE: 'instant', ...env },
      });
      children.push(child);
      return child;
    };
    const clouds = JSON.parse(await output(start(['emulate'], {}), 'stdout', (s) => /^\{[\s\S]*\n\}\n/.exec(s)?.[0]));
    const env = Object.assign({}, ...Object.values(clouds).map((c) => c.env));
    const flags = (process.env.BENCH_HTTP_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const config = join(stateDir, 'config.json');
    writeFileSync(config, JSON.stringify({ prices: { genesiscloud: { [VM_TYPE]: 0.05 } } }));
    const server = start(
      ['--http', '127.0.0.1:0', '--config', config],
      { ...env, COMPUTE_MCP_STATE_DIR: join(stateDir, 'state'), LOG_LEVEL: 'warn' },
      flags,
    );
    const url = new URL(await output(server, 'stderr', (s) => /listening on (\S+)/.exec(s)?.[1]));
    const mcp = new Pool(url.origin, { connections: CONCURRENCY });
    pools.push(mcp);

    // One VM to read: the config gives its type a small price, so the create needs no human (a CPU VM under
    // policy.confirm.aboveUsdPerHour).
    const setup = await Session.open(mcp, url);
    const created = await setup.call('create_vm', {
      provider: 'genesiscloud',
      instance_type: VM_TYPE,
      name: 'bench',
      ssh_public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench bench',
    });
    const id = created.structuredContent?.instance?.id;
    if (!id) throw new Error(`create_vm answered ${JSON.stringify(created)}`);
    await setup.close();
    const getInstance = { provider: 'genesiscloud', id };

    // Memory: 10,000 calls; every session makes 100 and is closed (DELETE); RSS after the first 1,000, half-way and at
    // the end (V8 grows its young generation, then lets old space fill up to its first full collection under load: the
    // half-way reading tells that one-time growth from growth per call).
    const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024;
    const after = [];
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          const s = await Session.open(mcp, url);
          for (let i = 0; i < 100; i++) await s.call('get_instance', getInstance);
          await s.close();
          if ((await s.post({ jsonrpc: '2.0', id: 0, method: 'ping' })).statusCode !== 404)
            throw new Error('a deleted session still answers');
        }),
      );
      after.push(rss());
    }
    const [first, half, last] = [after[0], after[rounds / 2 - 1], after[rounds - 1]];
    const sinceHalf = rounds > 2 ? `, ${pct(last / half - 1)} vs after ${rounds / 2},000` : '';
    row('server RSS after 1,000 get_instance calls', `${first.toFixed(0)} MiB`, 'VmRSS; 10 sessions of 100 calls');
    row(
      `server RSS after ${rounds},000 calls`,
      `${last.toFixed(0)} MiB`,
      `${pct(last / first - 1)} vs after 1,000${sinceHalf}; ${rounds * CONCURRENCY} sessions opened and deleted`,
    );

    // Throughput at concurrency 10: the cloud's GET alone and through the server, in alternating rounds, so that a
    // slower or faster moment of the machine (or of the emulator) weighs on both alike; the medians are reported, and
    // the ratio is the median of each round's own.
    const gc = clouds.genesiscloud;
    const emulator = new Pool(gc.base_url, { connections: CONCURRENCY });
    pools.push(emulator);
    const path = `${new URL(gc.base_url).pathname.replace(/\/$/, '')}/compute/v1/instances/${id}`;
    const auth = { authorization: `Bearer ${gc.env.GENESISCLOUD_API_TOKEN}` };
    const rate = (call, n = calls) => rateOf(call, n);
    const rawGet = async () => {
      const r = await emulator.request({ method: 'GET', path, headers: auth });
      await r.body.json();
      if (r.statusCode !== 200) throw new Error(`emulator answered ${r.statusCode}`);
    };
    const sessions = await Promise.all(Array.from({ length: CONCURRENCY }, () => Session.open(mcp, url)));
    // The bare proxy (scripts/bench-proxy.mjs): the same GET behind the least a server can do, in its own process.
    const proxyProcess = spawn(process.execPath, [PROXY, new URL(path, gc.base_url).href, auth.authorization]);
    children.push(proxyProcess);
    const proxyUrl = new URL(await output(proxyProcess, 'stdout', (s) => /^(http\S+)\n/.exec(s)?.[1]));
    const proxyPool = new Pool(proxyUrl.origin, { connections: CONCURRENCY });
    pools.push(proxyPool);
    const viaProxy = async () => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { arguments: getInstance } });
      const r = await proxyPool.request({ method: 'POST', path: proxyUrl.pathname, body });
      await answer(r, 1);
    };
    const cpu = cpuOf(server.pid);
    const turns = quick ? 1 : 5;
    const raws = [];
    const proxied = [];
    const lights = [];
    let lightCpu = 0;
    for (let t = 0; t < turns; t++) {
      raws.push(await rate(rawGet, calls / 2));
      proxied.push(await rate(viaProxy, calls / 2));
      cpu.reset();
      lights.push(await rate((w) => sessions[w].call('get_instance', getInstance), calls / 2));
      lightCpu += cpu.since();
    }
    const rawRate = median(raws);
    const light = median(lights);
    const ofRaw = (xs) => {
      const ratios = xs.map((x, t) => x / raws[t]);
      const spread = `${Math.round(100 * Math.min(...ratios))}–${Math.round(100 * Math.max(...ratios))} %`;
      return `${Math.round(100 * median(ratios))} % of the raw GET (rounds: ${spread})`;
    };
    row(
      'the same GET straight to the emulator',
      `${rawRate} req/s`,
      `concurrency ${CONCURRENCY}, undici Pool; median of ${turns} rounds alternating with the next two rows`,
    );
    row(
      'the same GET behind a bare proxy',
      `${median(proxied)} calls/s`,
      `scripts/bench-proxy.mjs: node:http in, undici out, no MCP; ${ofRaw(proxied)}`,
    );
    row(
      'get_instance over HTTP, light client',
      `${light} calls/s`,
      `${CONCURRENCY} sessions; ${ofRaw(lights)}; ` +
        `${Math.round((100 * light) / median(proxied))} % of the bare proxy; ` +
        `server CPU ${Math.round(lightCpu / (turns * (calls / 2) * 1.1))} µs/call`,
    );
    cpu.reset();
    const providers = await rate((w) => sessions[w].call('list_providers', {}));
    row(
      'list_providers over HTTP, light client',
      `${providers} calls/s`,
      `calls no cloud; server CPU ${Math.round(cpu.since() / (calls * 1.1))} µs/call`,
    );
    await Promise.all(sessions.map((s) => s.close()));

    const sdk = await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        const c = new Client({ name: 'bench', version: '0' });
        await c.connect(new StreamableHTTPClientTransport(url));
        return c;
      }),
    );
    try {
      const viaSdk = await rate((w) => sdk[w].callTool({ name: 'get_instance', arguments: getInstance }));
      row('get_instance over HTTP, SDK client', `${viaSdk} calls/s`, 'StreamableHTTPClientTransport, 10 clients');
    } finally {
      await Promise.all(sdk.map((c) => c.close()));
    }
  } finally {
    await Promise.all(pools.map((p) => p.destroy()));
    await Promise.all(children.map(stop));
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** One MCP session over the light client: JSON-RPC POSTs, answers read as JSON or as an SSE stream. */
class Session {
  static async open(pool, url) {
    const s = new Session(pool, url.pathname);
    const r = await s.post({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'bench', version: '0' } },
    });
    await answer(r, 0);
    s.sid = r.headers['mcp-session-id'];
    await (await s.post({ jsonrpc: '2.0', method: 'notifications/initialized' })).body.dump();
    return s;
  }

  constructor(pool, path) {
    Object.assign(this, { pool, path, sid: undefined, next: 1 });
  }

  post(message) {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (this.sid) Object.assign(headers, { 'mcp-session-id': this.sid, 'mcp-protocol-version': PROTOCOL });
    return this.pool.request({ method: 'POST', path: this.path, headers, body: JSON.stringify(message) });
  }

  async call(name, args) {
    const id = this.next++;
    const res = await answer(
      await this.post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
      id,
    );
    if (res.result?.isError) throw new Error(`${name}: ${res.result.content[0].text}`);
    return res.result;
  }

  async close() {
    const headers = { 'mcp-session-id': this.sid, 'mcp-protocol-version': PROTOCOL };
    const r = await this.pool.request({ method: 'DELETE', path: this.path, headers });
    await r.body.dump();
    if (r.statusCode !== 200) throw new Error(`DELETE answered ${r.statusCode}`);
  }
}

/** The JSON-RPC answer with this id, from a JSON body or the `data:` lines of an SSE stream. */
async function answer(r, id) {
  const text = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode}: ${text}`);
  const messages = String(r.headers['content-type']).startsWith('text/event-stream')
    ? text.split('\n').flatMap((l) => (l.startsWith('data: ') ? [JSON.parse(l.slice(6))] : []))
    : [JSON.parse(text)];
  const found = messages.find((m) => m.id === id);
  if (!found || found.error) throw new Error(`no answer to ${id}: ${text}`);
  return found;
}

/** Calls per second of `call(worker)` run by CONCURRENCY workers, after a warm-up of a tenth as many (calls * 1.1 in all). */
async function rateOf(call, calls) {
  const run = async (n) => {
    let left = n;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, w) => {
        while (left-- > 0) await call(w);
      }),
    );
  };
  await run(calls / 10);
  const t0 = performance.now();
  await run(calls);
  return Math.round(calls / ((performance.now() - t0) / 1000));
}

/** The process's CPU time (user + system, from /proc) in µs since the last reset. */
function cpuOf(pid) {
  const ticks = () => {
    const [user, system] = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13);
    return Number(user) + Number(system);
  };
  let last = ticks();
  return {
    reset: () => void (last = ticks()),
    since: () => ((ticks() - last) * 1e6) / 100,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Resolves with `match(text so far)` once it is truthy; rejects when the process exits first. */
function output(child, stream, match) {
  return new Promise((resolve, reject) => {
    let text = '';
    child[stream].on('data', (d) => {
      text += d;
      const m = match(text);
      if (m) resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`${child.spawnargs.join(' ')} exited ${code}: ${text}`)));
  });
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s. */
function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return undefined;
  return new Promise((resolve) => {
    const kill = globalThis.setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      globalThis.clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)} %`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cli = new URL('../dist/index.js', import.meta.url).pathname;
  const rows = [];
  const row = (what, value, note = '') => rows.push(`| ${what} | ${value} | ${note} |`);
  await benchHttp({ cli, row, quick: process.env.BENCH_QUICK === '1' });
  console.log(`| measure | result | note |\n|---|---|---|\n${rows.join('\n')}`);
}
