/**
 * Team mode: replicas of the HTTP server on one PostgreSQL hold one set of limits. Each replica is the built CLI
 * (`--http`), each client a real SDK client over Streamable HTTP, the cloud one Genesis Cloud emulator that takes its
 * time to create, and the database a real PostgreSQL (COMPUTE_MCP_TEST_DATABASE_URL, else an embedded one).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN, GenesisEmulator } from '../../src/providers/genesiscloud/emulator.js';
import { configFile, requireBuilt } from '../helpers/cli.js';
import { CPU2, H100, SSH_KEY } from '../helpers/harness.js';
import { cuttableProxy, startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { PgStore } from '../../src/state/postgres.js';
import { BASE_ENV, CLI, cleanupAfterEach, startHttpCli, until } from './serve.js';

let pg: TestPostgres;
beforeAll(async () => {
  requireBuilt();
  pg = await startTestPostgres();
}, 120_000);
afterAll(() => pg?.stop(), 60_000);
const { cleanup, killLater } = cleanupAfterEach();

const PRICES = { genesiscloud: { [CPU2]: 0.1, [H100]: 17.92 } };
const CPU = { provider: 'genesiscloud', instance_type: CPU2, ssh_public_key: SSH_KEY };
const sc = <T = Record<string, unknown>>(r: CallToolResult) => r.structuredContent as T;
const textOf = (r: CallToolResult) => r.content.map((c) => ('text' in c ? c.text : '')).join('\n');

/** A Genesis Cloud emulator whose creates take `delayMs`, with the test key in the account already. */
async function slowCloud(delayMs = 300): Promise<GenesisEmulator> {
  const emulator = new GenesisEmulator({ latencyMs: 10 });
  await emulator.start();
  cleanup(() => emulator.stop());
  const key = await fetch(`${emulator.baseUrl}/compute/v1/ssh-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${emulator.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'test', value: SSH_KEY }),
  });
  expect(key.status).toBe(201);
  emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, delayMs, times: 0 });
  return emulator;
}

/** `n` replicas on one database and one cloud, each with a client. */
async function replicas(n: number, database: string, emulator: GenesisEmulator, config: object, elicit = false) {
  const env = {
    GENESISCLOUD_API_TOKEN: DEFAULT_TOKEN,
    GENESISCLOUD_BASE_URL: emulator.baseUrl,
    COMPUTE_MCP_DATABASE_URL: database,
    // Not used when a database is set: a directory of its own per replica shows nothing is shared through it.
    COMPUTE_MCP_STATE_DIR: mkdtempSync(join(tmpdir(), 'replica-')),
  };
  const file = configFile({ prices: PRICES, ...config });
  return Promise.all(
    Array.from({ length: n }, async () => {
      const cli = await startHttpCli(['--http', '127.0.0.1:0', '--config', file], env, killLater);
      const client = new Client(
        { name: 'replica-test', version: '0' },
        { capabilities: elicit ? { elicitation: { form: {} } } : {} },
      );
      await client.connect(new StreamableHTTPClientTransport(new URL(cli.url)));
      cleanup(() => client.close());
      const call = async (name: string, args: Record<string, unknown> = {}) =>
        (await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;
      return { cli, client, call };
    }),
  );
}

interface AuditRow {
  call_id: string | null;
  phase: string;
  entry: { decision?: string; instance_id?: string; tool: string };
}

describe('replicas on one PostgreSQL', () => {
  it('3 replicas × 10 parallel creates with room for 5: exactly 5 VMs, no key reused, every decision audited once', async () => {
    const emulator = await slowCloud();
    const db = await pg.database();
    const rs = await replicas(3, db, emulator, { policy: { limits: { maxInstances: 5 } } });
    // Each says which store it uses and where, without the password.
    const password = new URL(db).password;
    for (const r of rs) {
      expect(r.cli.stderr()).toMatch(/"store":"postgresql","where":"postgres:\/\/[^"@]*@127\.0\.0\.1:\d+\/cmcp_test_/);
      if (password) expect(r.cli.stderr()).not.toContain(password);
    }

    const results = await Promise.all(
      rs.flatMap((r, k) =>
        Array.from({ length: 10 }, (_, i) =>
          r.call('create_vm', { ...CPU, name: `r${k}-${i}`, idempotency_key: `key-${k}-${i}` }),
        ),
      ),
    );
    const created = results.filter((r) => !r.isError);
    for (const r of results.filter((x) => x.isError)) expect(textOf(r)).toMatch(/^\[POLICY_DENIED\] .*maxInstances/);
    expect(created.map((r) => sc(r).status)).toEqual(Array(5).fill('created'));
    expect(emulator.liveInstances()).toHaveLength(5);

    // No key reused: five keys, five VMs, one each.
    const ids = created.map((r) => sc<{ instance: { id: string } }>(r).instance.id);
    expect(new Set(ids).size).toBe(5);
    const keys = await pg.sql<{ key: string; id: string }>(
      db,
      "SELECT entry->>'key' AS key, entry->>'instance_id' AS id FROM compute_mcp.records WHERE stream = 'idempotency' AND entry->>'status' = 'created'",
    );
    expect(keys).toHaveLength(5);
    expect(new Set(keys.map((k) => k.key)).size).toBe(5);
    expect(keys.map((k) => k.id).sort()).toEqual([...ids].sort());

    // Every call audited once before and once after; every decision once; five sends, five cloud answers.
    const audit = await pg.sql<AuditRow>(db, 'SELECT call_id, phase, entry FROM compute_mcp.audit ORDER BY seq');
    const calls = new Set(audit.filter((a) => a.phase === 'call').map((a) => a.call_id));
    expect(calls.size).toBe(30);
    const count = (phase: string, extra: (a: AuditRow) => boolean = () => true) => {
      const by = new Map<string | null, number>();
      for (const a of audit) if (a.phase === phase && extra(a)) by.set(a.call_id, (by.get(a.call_id) ?? 0) + 1);
      return by;
    };
    for (const phase of ['call', 'result']) {
      const by = count(phase);
      expect(by.size, phase).toBe(30);
      expect(
        [...by.values()].every((n) => n === 1),
        phase,
      ).toBe(true);
    }
    const denies = count('decision', (a) => a.entry.decision === 'deny');
    expect(denies.size).toBe(25);
    expect([...denies.values()].every((n) => n === 1)).toBe(true);
    expect([...count('send').values()]).toEqual(Array(5).fill(1));
    const answered = audit.filter((a) => a.phase === 'cloud' && a.entry.instance_id).map((a) => a.entry.instance_id);
    expect(answered.sort()).toEqual([...ids].sort());
  }, 120_000);

  it('one idempotency key sent to 3 replicas at once makes one VM, and every answer names it', async () => {
    const emulator = await slowCloud();
    const rs = await replicas(3, await pg.database(), emulator, {});
    const results = await Promise.all(
      rs.flatMap((r) =>
        Array.from({ length: 3 }, () => r.call('create_vm', { ...CPU, name: 'keyed', idempotency_key: 'one-key' })),
      ),
    );
    for (const r of results) expect(r.isError, textOf(r)).toBeFalsy();
    expect(new Set(results.map((r) => sc<{ instance: { id: string } }>(r).instance.id)).size).toBe(1);
    expect(results.filter((r) => sc(r).status === 'created')).toHaveLength(1);
    expect(emulator.liveInstances()).toHaveLength(1);
  }, 120_000);

  it('a token one replica issued is spent once, whichever replicas redeem it', async () => {
    const emulator = await slowCloud();
    const rs = await replicas(3, await pg.database(), emulator, {});
    const args = { provider: 'genesiscloud', instance_type: H100, ssh_public_key: SSH_KEY, name: 'one-yes' };
    const ask = sc<{ status: string; confirmation_token: string }>(await rs[0]!.call('create_vm', args));
    expect(ask.status).toBe('confirmation_required');
    const results = await Promise.all(
      rs.map((r) => r.call('create_vm', { ...args, confirmation_token: ask.confirmation_token })),
    );
    expect(results.filter((r) => !r.isError && sc(r).status === 'created')).toHaveLength(1);
    expect(emulator.liveInstances()).toHaveLength(1);
  }, 120_000);

  it('a replica whose database session ends mid-create keeps its key: another replica does not create it again', async () => {
    const emulator = await slowCloud(2_500);
    const db = await pg.database();
    const [a, b] = await replicas(2, db, emulator, {});
    const args = { ...CPU, name: 'once', idempotency_key: 'key-once' };
    const first = a!.call('create_vm', args);
    await until(
      async () => (await pg.sql(db, "SELECT 1 FROM compute_mcp.audit WHERE phase = 'send'")).length,
      'the send',
    );
    // The database ends the sessions (a failover, an admin): the spend lock of the create in flight goes with them.
    await pg.sql(
      db,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'compute-mcp'",
    );
    const second = await b!.call('create_vm', args);
    expect(textOf(second)).toMatch(
      /^\[CONFLICT\] genesiscloud: a create with idempotency_key "key-once" .* may still be running/,
    );
    const made = await first;
    expect(made.isError, textOf(made)).toBeFalsy();
    expect(sc(made).status).toBe('created');
    expect(emulator.liveInstances()).toHaveLength(1);
  }, 120_000);

  it('a database that goes away mid-create creates nothing, and the replica goes on serving reads', async () => {
    const emulator = await slowCloud();
    const proxy = await cuttableProxy(await pg.database());
    cleanup(() => proxy.close());
    const [r] = await replicas(1, proxy.url, emulator, {}, true);
    const { client, call } = r!;
    // A VM from before, to read afterwards.
    const before = sc<{ instance: { id: string } }>(await call('create_vm', { ...CPU, name: 'before' })).instance.id;
    // The human is asked about a GPU VM; while they answer, the database goes away.
    client.setRequestHandler(ElicitRequestSchema, async () => {
      await proxy.cut();
      return { action: 'accept', content: { approve: true } };
    });
    const gpu = await call('create_vm', {
      provider: 'genesiscloud',
      instance_type: H100,
      ssh_public_key: SSH_KEY,
      name: 'during',
    });
    expect(gpu.isError).toBe(true);
    expect(textOf(gpu)).toMatch(/^\[STATE_UNAVAILABLE\] .*nothing that spends was done/);
    expect(emulator.liveInstances().map((i) => i.name)).toEqual(['before']);
    // Reads go on: the listing, one VM, the clouds.
    const list = await call('list_instances', { provider: 'genesiscloud' });
    expect(list.isError, textOf(list)).toBeFalsy();
    expect(sc<{ items: { id: string }[] }>(list).items.map((i) => i.id)).toEqual([before]);
    const one = await call('get_instance', { provider: 'genesiscloud', id: before });
    expect(one.isError, textOf(one)).toBeFalsy();
    expect((await call('list_providers')).isError).toBeFalsy();
    // And a create without a human fails closed too.
    const cpu = await call('create_vm', { ...CPU, name: 'after' });
    expect(textOf(cpu)).toMatch(/^\[STATE_UNAVAILABLE\]/);
    expect(emulator.liveInstances()).toHaveLength(1);
  }, 120_000);

  it('doctor reads the database without changing it: who answers, the schema version, or why it cannot be used', async () => {
    const db = await pg.database();
    const doctor = (url: string) => {
      const r = spawnSync(process.execPath, [CLI, 'doctor', '--emulate', '--json', '--timeout', '5'], {
        env: { ...BASE_ENV, COMPUTE_MCP_DATABASE_URL: url },
        encoding: 'utf8',
      });
      return { code: r.status, state: (JSON.parse(r.stdout) as { state: { status: string; message: string } }).state };
    };
    const fresh = doctor(db);
    expect(fresh.code).toBe(0);
    expect(fresh.state.status).toBe('ok');
    expect(fresh.state.message).toMatch(/^PostgreSQL \d+.* answers as \w+; schema version 0: the server migrates it/);
    // Doctor made nothing; a server does.
    expect(await pg.sql(db, "SELECT 1 FROM pg_namespace WHERE nspname = 'compute_mcp'")).toHaveLength(0);
    await (await PgStore.open(db)).close();
    expect(doctor(db).state.message).toMatch(/schema version 1, current/);
    const gone = new URL(db);
    gone.port = '1';
    const down = doctor(gone.toString());
    expect(down.code).toBe(1);
    expect(down.state.status).toBe('fail');
    expect(down.state.message).toMatch(/cannot be used/);
    if (gone.password) expect(JSON.stringify(down)).not.toContain(gone.password);
  }, 60_000);
});
