/**
 * One suite for every state store: the state directory and PostgreSQL (a real server: COMPUTE_MCP_TEST_DATABASE_URL,
 * else an embedded one). Two store objects on the same directory or database stand for two processes or replicas.
 * Then what only the database has: migrations, append-only tables, a lost lock connection, a database that goes away.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/guardrails/audit.js';
import { IdempotencyStore } from '../../src/guardrails/idempotency.js';
import { LeaseStore } from '../../src/guardrails/leases.js';
import { Ledger } from '../../src/guardrails/ledger.js';
import { Mutex } from '../../src/guardrails/mutex.js';
import { ConfirmationTokens } from '../../src/guardrails/token.js';
import { StateDir } from '../../src/state/dir.js';
import { MIGRATIONS, PgStore, redactUrl } from '../../src/state/postgres.js';
import type { StateStore } from '../../src/state/store.js';
import { cuttableProxy, startTestPostgres, type TestPostgres } from '../helpers/postgres.js';

let pg: TestPostgres;
const opened: StateStore[] = [];
beforeAll(async () => {
  pg = await startTestPostgres();
}, 120_000);
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
  await pg?.stop();
}, 60_000);

/** Opens `n` stores on one new place: the same directory, or the same database. */
type Place = (n: number) => Promise<StateStore[]>;
const KINDS: [string, Place][] = [
  [
    'state directory',
    async (n) => {
      const dir = mkdtempSync(join(tmpdir(), 'store-suite-'));
      return Array.from({ length: n }, () => new StateDir(dir));
    },
  ],
  [
    'PostgreSQL',
    async (n) => {
      const url = await pg.database();
      const stores: StateStore[] = [];
      for (let i = 0; i < n; i++) stores.push(await PgStore.open(url));
      opened.push(...stores);
      return stores;
    },
  ],
];

const binding = { request: { tool: 'create_vm', hash: 'h' }, quote: { usd_per_hour: 1 }, usd_per_hour: 1 };

describe.each(KINDS)('the state store: %s', (_, place) => {
  it('makes the token secret once and gives every process the same one', async () => {
    const [a, b] = await place(2);
    const [sa, sb] = await Promise.all([
      a!.secret('token-secret', () => Buffer.alloc(32, 1)),
      b!.secret('token-secret', () => Buffer.alloc(32, 2)),
    ]);
    expect(sa.length).toBe(32);
    expect(sa.equals(sb)).toBe(true);
    expect((await a!.secret('token-secret', () => Buffer.alloc(32, 3))).equals(sa)).toBe(true);
  });

  it('refuses to make a secret shorter than 32 bytes', async () => {
    const [a] = await place(1);
    await expect(a!.secret('token-secret', () => Buffer.alloc(8, 1))).rejects.toThrow(/holds 8 bytes, fewer than 32/);
  });

  it('reads a stream from an offset: what this and other processes appended since, in order', async () => {
    const [a, b] = await place(2);
    await a!.append('ledger', { n: 1 });
    const first = await b!.tail<{ n: number }>('ledger', 0);
    expect(first.lines).toEqual([{ n: 1 }]);
    await b!.append('ledger', { n: 2 });
    await a!.append('ledger', { n: 3 });
    await a!.append('leases', { other: true });
    const next = await a!.tail<{ n: number }>('ledger', first.offset);
    expect(next.lines).toEqual([{ n: 2 }, { n: 3 }]);
    expect((await a!.tail('ledger', next.offset)).lines).toEqual([]);
    expect((await b!.tail('leases', 0)).lines).toEqual([{ other: true }]);
    expect((await b!.tail('audit', 0)).lines).toEqual([]);
  });

  it('loses no line to a reader that reads while two processes append at once', async () => {
    const [a, b, reader] = await place(3);
    const seen: number[] = [];
    let offset = 0;
    let writing = true;
    const reading = (async () => {
      while (writing) {
        const t = await reader!.tail<{ n: number }>('idempotency', offset);
        offset = t.offset;
        seen.push(...t.lines.map((l) => l.n));
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all(
      Array.from({ length: 120 }, (_, n) => (n % 2 ? a! : b!).append('idempotency', { n, pad: 'x'.repeat(n) })),
    );
    writing = false;
    await reading;
    seen.push(...(await reader!.tail<{ n: number }>('idempotency', offset)).lines.map((l) => l.n));
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);
  });

  it('lets one process at a time into a lock, across processes, and lets go when the section throws', async () => {
    const [a, b] = await place(2);
    let inside = 0;
    let most = 0;
    const work = (s: StateStore) =>
      s.lock('spend').run(async () => {
        most = Math.max(most, ++inside);
        await new Promise((r) => setTimeout(r, 3));
        inside--;
      });
    await Promise.all(Array.from({ length: 16 }, (_, i) => work(i % 2 ? a! : b!)));
    expect(most).toBe(1);
    await expect(a!.lock('spend').run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await b!.lock('spend').run(async () => 'free again')).toBe('free again');
    // Two different locks do not wait for each other.
    expect(await a!.lock('spend').run(() => b!.lock('tokens').run(async () => 'nested'))).toBe('nested');
  });

  it('a read-check-write under the lock holds across processes: 40 claims for 5 places give 5', async () => {
    const [a, b] = await place(2);
    const ledgers = [new Ledger(a), new Ledger(b)];
    const locks = [new Mutex(a!.lock('spend')), new Mutex(b!.lock('spend'))];
    const granted: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        locks[i % 2]!.run(async () => {
          const ledger = ledgers[i % 2]!;
          if ((await ledger.unlisted([])).instances >= 5) return;
          await ledger.claim({ key: `k${i}`, kind: 'create', provider: 'c', gpus: 1, usd_per_hour: 1 });
          granted.push(i);
        }),
      ),
    );
    expect(granted).toHaveLength(5);
    expect((await new Ledger(a).active()).map((c) => c.key).sort()).toEqual(granted.map((i) => `k${i}`).sort());
  });

  it('spends a confirmation token once, whichever processes redeem it at once, and across restarts', async () => {
    const [a, b] = await place(2);
    const [ta, tb] = [await ConfirmationTokens.open(a!), await ConfirmationTokens.open(b!)];
    const { token } = ta.issue(binding);
    const results = await Promise.all([ta, tb, ta, tb].map((t) => t.redeem(token, binding)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    for (const r of results.filter((x) => !x.ok)) expect(r).toMatchObject({ reason: 'used' });
    const [again] = await place(1);
    // A restart on another place knows neither the secret nor the spend.
    expect(await (await ConfirmationTokens.open(again!)).redeem(token, binding)).toMatchObject({ reason: 'signature' });
    expect(await (await ConfirmationTokens.open(b!)).redeem(token, binding)).toMatchObject({ reason: 'used' });
  });

  it('shares idempotency records, leases and the audit log between processes; the newest line of a key wins', async () => {
    const [a, b] = (await place(2)) as [StateStore, StateStore];
    const rec = {
      key: 'k1',
      hash: 'h',
      provider: 'genesiscloud',
      status: 'pending' as const,
      name: 'vm',
      instance_type: 't',
      region: 'r',
      at: 1,
    };
    await new IdempotencyStore(a).put(rec);
    const other = new IdempotencyStore(b);
    expect(await other.get('k1')).toEqual(rec);
    await new IdempotencyStore(a).put({ ...rec, status: 'created', instance_id: 'vm-1' });
    expect(await other.get('k1')).toMatchObject({ status: 'created', instance_id: 'vm-1' });
    expect([...(await other.claimedIds())]).toEqual(['vm-1']);

    const la = new LeaseStore(a, () => 1_000);
    await la.open({
      key: 'k1',
      provider: 'genesiscloud',
      name: 'vm',
      instance_type: 't',
      region: 'r',
      usd_per_hour: 2.5,
      created_at: 1_000,
      expires_at: 3_601_000,
      on_expiry: 'stop',
      enforced_by: 'server',
    });
    await la.settle('k1', 'vm-1');
    const lb = new LeaseStore(b, () => 1_000);
    expect(await lb.forInstance('genesiscloud', 'vm-1')).toMatchObject({ key: 'k1', state: 'open', usd_per_hour: 2.5 });
    await lb.extend('k1', 1);
    expect((await la.get('k1'))?.expires_at).toBe(7_201_000);

    await new AuditLog(a, 'call-1').write({ tool: 'create_vm', phase: 'call', request: { name: 'vm' } });
    await new AuditLog(b).write({ tool: 'delete_vm', phase: 'decision', decision: 'deny' });
    expect(await new AuditLog(b).read()).toMatchObject([
      { call_id: 'call-1', tool: 'create_vm', phase: 'call', request: { name: 'vm' } },
      { tool: 'delete_vm', phase: 'decision', decision: 'deny' },
    ]);
  });
});

describe('the PostgreSQL store', () => {
  it('applies the migrations once when replicas start at once, and again is a no-op', async () => {
    const url = await pg.database();
    const stores = await Promise.all(Array.from({ length: 4 }, () => PgStore.open(url)));
    opened.push(...stores);
    const rows = await pg.sql<{ version: number }>(url, 'SELECT version FROM compute_mcp.migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    opened.push(await PgStore.open(url));
    expect(await pg.sql(url, 'SELECT version FROM compute_mcp.migrations')).toHaveLength(MIGRATIONS.length);
  });

  it('refuses a database whose schema is newer than this compute-mcp', async () => {
    const url = await pg.database();
    opened.push(await PgStore.open(url));
    await pg.sql(url, 'INSERT INTO compute_mcp.migrations (version) VALUES ($1)', [MIGRATIONS.length + 1]);
    await expect(PgStore.open(url)).rejects.toThrow(/schema version \d+, newer than this compute-mcp knows/);
  });

  it('keeps the audit log and the records append-only: no update, delete or truncate', async () => {
    const url = await pg.database();
    const store = await PgStore.open(url);
    opened.push(store);
    await new AuditLog(store).write({ tool: 'create_vm', phase: 'decision', decision: 'deny' });
    await store.append('ledger', { key: 'k' });
    await store.secret('token-secret', () => Buffer.alloc(32, 1));
    for (const sql of [
      "UPDATE compute_mcp.audit SET entry = '{}'",
      'DELETE FROM compute_mcp.audit',
      'TRUNCATE compute_mcp.audit',
      "UPDATE compute_mcp.records SET entry = '{}'",
      'DELETE FROM compute_mcp.records',
      'UPDATE compute_mcp.secrets SET value = $$x$$',
    ])
      await expect(pg.sql(url, sql), sql).rejects.toThrow(/append-only/);
    expect(await pg.sql(url, 'SELECT tool, phase FROM compute_mcp.audit')).toEqual([
      { tool: 'create_vm', phase: 'decision' },
    ]);
  });

  it('a unit of records commits all of them or none, inside the spend lock and outside it', async () => {
    const url = await pg.database();
    const proxy = await cuttableProxy(url);
    const [a, b] = [await PgStore.open(proxy.url), await PgStore.open(url)];
    opened.push(a, b);
    const unit = (fail: () => Promise<void>) =>
      a.atomic(async () => {
        await a.append('idempotency', { key: 'k', status: 'pending' });
        await a.append('ledger', { key: 'k' });
        await fail();
        await a.append('audit', { tool: 'create_vm', phase: 'send' });
      });
    await expect(a.lock('spend').run(() => unit(() => Promise.reject(new Error('no'))))).rejects.toThrow('no');
    await expect(unit(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    for (const stream of ['idempotency', 'ledger', 'audit'] as const)
      expect((await b.tail(stream, 0)).lines, stream).toEqual([]);
    await a.lock('spend').run(() => unit(async () => {}));
    expect((await b.tail('ledger', 0)).lines).toEqual([{ key: 'k' }]);
    expect((await b.tail('audit', 0)).lines).toHaveLength(1);
    // The database goes away halfway through a unit: what it wrote before is not there either.
    await expect(a.lock('spend').run(() => unit(() => proxy.cut()))).rejects.toMatchObject({
      code: 'STATE_UNAVAILABLE',
    });
    expect((await b.tail('ledger', 0)).lines).toHaveLength(1);
    expect((await b.tail('idempotency', 0)).lines).toHaveLength(1);
    await proxy.close();
  });

  it('a section whose connection (and lock) is lost writes nothing more, and another replica gets the lock', async () => {
    const url = await pg.database();
    const [a, b] = [await PgStore.open(url), await PgStore.open(url)];
    opened.push(a, b);
    const section = a.lock('spend').run(async () => {
      await a.append('ledger', { key: 'before' });
      // The database ends this session (a failover, an admin): the advisory lock goes with it.
      await pg.sql(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'compute-mcp'",
      );
      await new Promise((r) => setTimeout(r, 100));
      await a.append('ledger', { key: 'after' });
    });
    await expect(section).rejects.toThrow(/STATE_UNAVAILABLE|lost|cannot be used/);
    expect(await b.lock('spend').run(async () => 'taken')).toBe('taken');
    expect((await b.tail<{ key: string }>('ledger', 0)).lines.map((l) => l.key)).toEqual(['before']);
  });

  it('a database that goes away fails every write and lock closed, with a sentence, and fast', async () => {
    const url = await pg.database();
    const proxy = await cuttableProxy(url);
    const store = await PgStore.open(proxy.url);
    opened.push(store);
    await store.append('ledger', { key: 'k' });
    await proxy.cut();
    const started = Date.now();
    await expect(store.append('ledger', { key: 'k2' })).rejects.toMatchObject({ code: 'STATE_UNAVAILABLE' });
    await expect(store.lock('spend').run(async () => 'in')).rejects.toMatchObject({ code: 'STATE_UNAVAILABLE' });
    await expect(store.tail('ledger', 0)).rejects.toMatchObject({ code: 'STATE_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(5_000);
    await proxy.close();
  });

  it('a connection that breaks while the lock is being released does not take the process down', async () => {
    const url = await pg.database();
    let armed = false;
    const proxy = await cuttableProxy(url, { cutWhen: (d) => armed && d.includes('pg_advisory_unlock') });
    const [a, b] = [await PgStore.open(proxy.url), await PgStore.open(url)];
    opened.push(a, b);
    armed = true;
    // An unhandled 'error' event here would end the test process (vitest reports it as an error).
    expect(await a.lock('spend').run(async () => 'done')).toBe('done');
    await new Promise((r) => setTimeout(r, 200));
    // The broken session's lock went with it: another replica gets it.
    expect(await b.lock('spend').run(async () => 'taken')).toBe('taken');
    await proxy.close();
  });

  it('a unit rolled back leaves nothing behind in this process either: no phantom claim is counted', async () => {
    const [a] = [await PgStore.open(await pg.database())];
    opened.push(a);
    const ledger = new Ledger(a);
    await ledger.claim({ key: 'kept', kind: 'create', provider: 'c', gpus: 1, usd_per_hour: 1 });
    await expect(
      a.lock('spend').run(() =>
        a.atomic(async () => {
          await ledger.claim({ key: 'phantom', kind: 'create', provider: 'c', gpus: 8, usd_per_hour: 20 });
          throw new Error('the cloud refused');
        }),
      ),
    ).rejects.toThrow('the cloud refused');
    expect((await ledger.active()).map((c) => c.key)).toEqual(['kept']);
  });

  it('stores what jsonb cannot hold (a NUL, a lone surrogate) with U+FFFD instead of failing the call', async () => {
    const store = await PgStore.open(await pg.database());
    opened.push(store);
    await new AuditLog(store).write({ tool: 'create_vm', phase: 'call', request: { name: 'a\u0000b\ud800c' } });
    expect((await new AuditLog(store).read())[0]?.request).toEqual({ name: 'a\uFFFDb\uFFFDc' });
  });

  it('tells the agent the database is unavailable without naming its host or user', async () => {
    const url = new URL(await pg.database());
    const proxy = await cuttableProxy(url.toString());
    const store = await PgStore.open(proxy.url);
    opened.push(store);
    await proxy.cut();
    const err = (await store.append('ledger', { k: 1 }).then(
      () => new Error('appended'),
      (e: unknown) => e as Error,
    )) as Error;
    expect(err).toMatchObject({ code: 'STATE_UNAVAILABLE' });
    expect(err.message).not.toContain('127.0.0.1');
    expect(err.message).not.toContain(url.username);
    await proxy.close();
  });

  it('names where it is without the password', () => {
    expect(redactUrl('postgres://app:s3cret@db.internal:5432/compute?sslmode=require&password=x')).toBe(
      'postgres://app@db.internal:5432/compute',
    );
    expect(redactUrl('not a url')).not.toContain('not a url');
  });
});
