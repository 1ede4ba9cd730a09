// Creates per second through the spend gate on each state store, measured side by side in one run: the state
// directory and PostgreSQL (COMPUTE_MCP_TEST_DATABASE_URL when set, else an embedded server). Each create is a real
// create_vm through the SDK client, the gate (idempotency record, ledger claim, lease, audit lines, all under the spend
// lock) and the emulated cloud with no added latency, so what differs between the two is the store.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { loadSource } from './load.mjs';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKeyBenchKeyBenchKeyBenchKeyBenchKey00 bench';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchStores({ row, quick }) {
  const { startRuntime } = await loadSource('src/runtime.ts');
  const { createLogger } = await loadSource('src/log.ts');
  const { startTestPostgres } = await loadSource('test/helpers/postgres.ts');
  const pg = await startTestPostgres();
  const stores = [
    ['state directory', { COMPUTE_MCP_STATE_DIR: mkdtempSync(join(tmpdir(), 'bench-store-')) }],
    [`PostgreSQL (${pg.kind})`, { COMPUTE_MCP_DATABASE_URL: await pg.database() }],
  ];
  const open = [];
  for (const [name, env] of stores) {
    const rt = await startRuntime({ emulate: true, env, log: createLogger({ level: 'silent' }), pace: 'instant' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'bench', version: '0' });
    await Promise.all([rt.makeServer().connect(b), client.connect(a)]);
    open.push({ name, rt, client, rates: [] });
  }
  let n = 0;
  const create = async (client) => {
    const r = await client.callTool({
      name: 'create_vm',
      arguments: {
        provider: 'genesiscloud',
        instance_type: 'vcpu-2_memory-4g_disk-80g',
        name: `bench-${n++}`,
        ssh_public_key: KEY,
        idempotency_key: `bench-${process.pid}-${n}`,
      },
    });
    if (r.isError) throw new Error(`create_vm failed: ${JSON.stringify(r.content)}`);
  };
  // Rounds alternate between the stores, so both see the same machine; 10 clients' calls at once each round.
  const perRound = quick ? 20 : 100;
  const rounds = quick ? 2 : 7;
  for (const s of open) for (let i = 0; i < 5; i++) await create(s.client);
  for (let round = 0; round < rounds; round++)
    for (const s of open) {
      const t0 = performance.now();
      for (let done = 0; done < perRound; done += 10)
        await Promise.all(Array.from({ length: 10 }, () => create(s.client)));
      s.rates.push(perRound / ((performance.now() - t0) / 1000));
    }
  const [dir, db] = open.map((s) => median(s.rates));
  row('creates/s through the gate: state directory', `${dir.toFixed(0)}/s`, '10 at once, median of rounds');
  row(
    `creates/s through the gate: ${open[1].name}`,
    `${db.toFixed(0)}/s`,
    `${(db / dir).toFixed(2)}× the state directory, same run`,
  );
  for (const s of open) {
    await s.client.close();
    await s.rt.close();
  }
  await pg.stop();
}
