/**
 * The state store on PostgreSQL (COMPUTE_MCP_DATABASE_URL): one set of limits, tokens, keys, leases and one audit log
 * for every replica of the server on the database.
 *
 * - Records are rows of append-only tables (`compute_mcp.records`, one stream per row; `compute_mcp.audit`), read by
 *   sequence number. An append takes its stream's transaction-scoped advisory lock before it takes a number, so rows of
 *   one stream become visible in the order of their numbers and a reader that has seen number n has seen all below.
 * - A lock (`spend`, `tokens`) is a session-level advisory lock held on a connection of its own for the whole section.
 *   Everything the section reads and writes goes over that connection, so a section whose connection (and with it
 *   the lock) is lost cannot write another line: its create fails before the cloud is called (fail closed).
 * - Migrations are numbered and applied at start in one transaction under an advisory lock: idempotent, and safe when
 *   replicas start at once.
 * - At start the store checks that two connections are two sessions (a pooler in transaction mode would hand both the
 *   same lock and break every limit): if not, the server does not start.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { ClientBase, Pool, PoolClient, PoolConfig } from 'pg';
import { ComputeError } from '../domain/errors.js';
import { StateError, checkSecret, type Lock, type LockName, type StateStore, type Stream, type Tail } from './store.js';

/** The class of every advisory lock of ours ('cmcp'); the second key says which. */
const LOCK_CLASS = 0x636d6370;
const LOCK_IDS: Record<LockName | 'migrate' | 'probe', number> = { spend: 1, tokens: 2, migrate: 3, probe: 4 };
const STREAM_IDS: Record<Stream, number> = {
  'tokens-spent': 10,
  idempotency: 11,
  ledger: 12,
  leases: 13,
  audit: 14,
};

/**
 * The schema, one step per version, applied in order and never changed once released: a new version adds a step.
 * Rows are never updated or deleted (the triggers refuse it), so the tables are the history.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE compute_mcp.secrets (
     name text PRIMARY KEY,
     value bytea NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   );
   CREATE TABLE compute_mcp.records (
     seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     stream text NOT NULL,
     at timestamptz NOT NULL DEFAULT now(),
     entry jsonb NOT NULL
   );
   CREATE INDEX records_stream_seq ON compute_mcp.records (stream, seq);
   CREATE TABLE compute_mcp.audit (
     seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     at timestamptz NOT NULL DEFAULT now(),
     call_id text,
     tool text,
     phase text,
     entry jsonb NOT NULL
   );
   CREATE INDEX audit_call_id ON compute_mcp.audit (call_id);
   CREATE FUNCTION compute_mcp.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     RAISE EXCEPTION 'compute_mcp.% is append-only', TG_TABLE_NAME;
   END $$;
   CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON compute_mcp.audit
     FOR EACH ROW EXECUTE FUNCTION compute_mcp.append_only();
   CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON compute_mcp.audit
     FOR EACH STATEMENT EXECUTE FUNCTION compute_mcp.append_only();
   CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON compute_mcp.records
     FOR EACH ROW EXECUTE FUNCTION compute_mcp.append_only();
   CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON compute_mcp.records
     FOR EACH STATEMENT EXECUTE FUNCTION compute_mcp.append_only();
   CREATE TRIGGER secrets_append_only BEFORE UPDATE OR DELETE ON compute_mcp.secrets
     FOR EACH ROW EXECUTE FUNCTION compute_mcp.append_only();
   CREATE TRIGGER secrets_no_truncate BEFORE TRUNCATE ON compute_mcp.secrets
     FOR EACH STATEMENT EXECUTE FUNCTION compute_mcp.append_only();`,
];

/** A statement that takes longer than this has lost its database: the call fails (closed) instead of hanging. */
const STATEMENT_TIMEOUT_MS = 15_000;
/** How long a section waits for a lock another replica holds before it gives up (nothing is done). */
const LOCK_TIMEOUT_MS = 120_000;

/** The database URL without its password or query, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

export class PgStore implements StateStore {
  readonly kind = 'postgresql';
  readonly fixes: readonly string[] = [];
  epoch = 0;
  /** The connection of the lock section this async context runs in, if any. */
  private readonly section = new AsyncLocalStorage<Section>();

  private constructor(
    private readonly pool: Pool,
    readonly where: string,
  ) {}

  /** Connects, checks that connections are separate sessions, applies the migrations. Fails with a StateError. */
  static async open(url: string, opts: { max?: number; warn?: (message: string) => void } = {}): Promise<PgStore> {
    const { default: pg } = await import('pg');
    const config: PoolConfig = {
      connectionString: url,
      max: opts.max ?? 10,
      application_name: 'compute-mcp',
      connectionTimeoutMillis: 10_000,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      // A database that stops answering without closing the connection (a network split) is noticed here too.
      query_timeout: STATEMENT_TIMEOUT_MS + 5_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // And on the server's side: a session whose client is gone ends (with its locks) in about a minute, and a
      // transaction left open by one never holds a stream for longer than 30 s.
      options:
        '-c idle_in_transaction_session_timeout=30000 -c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3',
    };
    const pool = new pg.Pool(config);
    // A connection that breaks (the database restarted, a failover) must never take the process down: every client
    // has a listener for its whole life; a section adds its own to learn that its lock is gone.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const store = new PgStore(pool, redactUrl(url));
    store.onLockBroken = opts.warn;
    try {
      await store.migrate();
      await store.checkSessions();
    } catch (e) {
      await pool.end().catch(() => undefined);
      if (e instanceof StateError) throw e;
      throw new StateError(`cannot use the database at ${store.where}: ${(e as Error).message}`);
    }
    return store;
  }

  async secret(name: 'token-secret', make: () => Buffer): Promise<Buffer> {
    // Two statements: a replica whose insert waited for another's is answered by a read that sees the other's row
    // (one statement would read from before that row was committed).
    const r = await this.guard(async () => {
      await this.query('INSERT INTO compute_mcp.secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
        name,
        make(),
      ]);
      return this.query<{ value: Buffer }>('SELECT value FROM compute_mcp.secrets WHERE name = $1', [name]);
    });
    const value = r.rows[0]?.value;
    if (!value) throw new StateError(`the database at ${this.where} returned no ${name}`);
    return checkSecret(
      value,
      `compute_mcp.secrets row ${name}`,
      'Delete the row (as the table owner, with its triggers disabled)',
    );
  }

  async append(stream: Stream, entry: object): Promise<void> {
    const json = JSON.stringify(entry, storable);
    await this.guard(() =>
      this.transaction(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, STREAM_IDS[stream]]);
        if (stream === 'audit') {
          const e = entry as { call_id?: unknown; tool?: unknown; phase?: unknown };
          await c.query('INSERT INTO compute_mcp.audit (call_id, tool, phase, entry) VALUES ($1, $2, $3, $4::jsonb)', [
            str(e.call_id),
            str(e.tool),
            str(e.phase),
            json,
          ]);
        } else await c.query('INSERT INTO compute_mcp.records (stream, entry) VALUES ($1, $2::jsonb)', [stream, json]);
      }),
    );
  }

  async tail<T>(stream: Stream, offset: number): Promise<Tail<T>> {
    const r = await this.guard(() =>
      stream === 'audit'
        ? this.query<{ seq: string; entry: T }>(
            'SELECT seq, entry FROM compute_mcp.audit WHERE seq > $1 ORDER BY seq',
            [offset],
          )
        : this.query<{ seq: string; entry: T }>(
            'SELECT seq, entry FROM compute_mcp.records WHERE stream = $1 AND seq > $2 ORDER BY seq',
            [stream, offset],
          ),
    );
    if (r.rows.length === 0) return { lines: [], offset };
    return { lines: r.rows.map((x) => x.entry), offset: Number(r.rows[r.rows.length - 1]!.seq) };
  }

  lock(name: LockName): Lock {
    return { run: (fn) => this.locked(LOCK_IDS[name], fn) };
  }

  async atomic<T>(fn: () => Promise<T>): Promise<T> {
    const s = this.current();
    if (s?.tx) return fn();
    if (!s) {
      // Outside a lock: a connection of its own for the unit.
      const client = await this.pool.connect().catch((e: unknown) => {
        throw asUnavailable(e, this.where);
      });
      const unit: Section = { client, lost: undefined, tx: false, done: false };
      const onError = (err: Error) => (unit.lost = err);
      client.on('error', onError);
      try {
        return await this.section.run(unit, () => this.atomic(fn));
      } finally {
        unit.done = true;
        client.off('error', onError);
        client.release(unit.lost ? true : undefined);
      }
    }
    if (s.lost) throw lostLock(s.lost);
    // Every stream's lock first, in one order: two units can never wait for each other, whatever they append.
    await this.guard(async () => {
      await s.client.query('BEGIN');
      await s.client.query(`SELECT pg_advisory_xact_lock($1, id) FROM unnest($2::int[]) AS id ORDER BY id`, [
        LOCK_CLASS,
        Object.values(STREAM_IDS),
      ]);
    });
    s.tx = true;
    try {
      const out = await fn();
      await this.guard(() => s.client.query('COMMIT'));
      return out;
    } catch (e) {
      await s.client.query('ROLLBACK').catch(() => undefined);
      // What this process remembered of the unit was never stored: the guardrails read everything again.
      this.epoch++;
      throw e;
    } finally {
      s.tx = false;
    }
  }

  /** A database that cannot be reached is an expected failure: said as such, with what to do. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw asUnavailable(e, this.where);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Runs `fn` holding the advisory lock `id`, with every statement of `fn` on the lock's own connection. */
  private async locked<T>(id: number, fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((e: unknown) => {
      throw asUnavailable(e, this.where);
    });
    const section: Section = { client, lost: undefined, tx: false, done: false };
    const onError = (err: Error) => (section.lost = err);
    client.on('error', onError);
    let held = false;
    try {
      const deadline = Date.now() + LOCK_TIMEOUT_MS;
      for (let attempt = 0; ; attempt++) {
        const r = await client.query<{ ok: boolean; pid: number }>(
          'SELECT pg_try_advisory_lock($1, $2) AS ok, pg_backend_pid() AS pid',
          [LOCK_CLASS, id],
        );
        section.pid = r.rows[0]?.pid;
        if (r.rows[0]?.ok) break;
        if (Date.now() > deadline)
          throw new ComputeError(
            'CONFLICT',
            'another compute-mcp replica has held the spend lock for too long; nothing was done',
            { hint: 'Try again in a minute.' },
          );
        await new Promise((r) => setTimeout(r, Math.min(5 + attempt * 5, 50)));
      }
      held = true;
      return await this.section.run(section, fn);
    } finally {
      section.done = true;
      let unlocked = false;
      if (held && !section.lost) {
        // Unlocked on the session that locked it, or (if not) the connection is closed, which ends the session and
        // its lock. Anything else means the lock did not hold all along: said loudly.
        const r = await client
          .query<{ ok: boolean; pid: number }>('SELECT pg_advisory_unlock($1, $2) AS ok, pg_backend_pid() AS pid', [
            LOCK_CLASS,
            id,
          ])
          .catch(() => undefined);
        unlocked = !!r?.rows[0]?.ok && r.rows[0].pid === section.pid;
        if (r && !unlocked)
          this.onLockBroken?.(
            `the spend lock was not held to the end of its section (unlock: ${r.rows[0]?.ok}, session ${section.pid} → ${r.rows[0]?.pid}); is a pooler in transaction mode between compute-mcp and the database?`,
          );
      }
      client.release(unlocked ? undefined : true);
      client.off('error', onError);
    }
  }

  /** Told when a lock turns out not to have held (logged by the runtime). */
  onLockBroken?: (message: string) => void;

  /** The section this async context runs in, unless it has ended. */
  private current(): Section | undefined {
    const s = this.section.getStore();
    return s && !s.done ? s : undefined;
  }

  /** A statement on the section's connection when inside one, else on any pooled connection. */
  private async query<R extends object>(sql: string, params: unknown[]) {
    const s = this.current();
    if (s) {
      if (s.lost) throw lostLock(s.lost);
      return s.client.query<R>(sql, params).catch((e: unknown) => {
        // No answer in time: the session may be gone, and its lock with it. The section ends here.
        if (/timeout/i.test((e as Error).message)) s.lost = e as Error;
        throw e;
      });
    }
    return this.pool.query<R>(sql, params);
  }

  private async transaction(fn: (c: ClientBase) => Promise<void>): Promise<void> {
    const s = this.current();
    if (s?.lost) throw lostLock(s.lost);
    if (s?.tx) return fn(s.client);
    const client: ClientBase | PoolClient = s ? s.client : await this.pool.connect();
    const own = !s;
    let broken = false;
    const onError = () => (broken = true);
    if (own) client.on('error', onError);
    try {
      await client.query('BEGIN');
      try {
        await fn(client);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw e;
      }
    } finally {
      if (own) {
        client.off('error', onError);
        (client as PoolClient).release(broken || undefined);
      }
    }
  }

  /** The schema version the database is at (0: none yet). */
  private async version(): Promise<number> {
    const t = await this.pool.query<{ t: string | null }>("SELECT to_regclass('compute_mcp.migrations')::text AS t");
    if (!t.rows[0]?.t) return 0;
    const r = await this.pool.query<{ v: number | null }>('SELECT max(version) AS v FROM compute_mcp.migrations');
    return r.rows[0]?.v ?? 0;
  }

  /**
   * Applies the versions not applied yet, in order, in one transaction under the migration lock. A database that is
   * current is only read, so replicas may run as a role that cannot change the schema.
   */
  private async migrate(): Promise<void> {
    const have = await this.version();
    if (have > MIGRATIONS.length) throw this.newer(have);
    if (have === MIGRATIONS.length) return;
    await this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, LOCK_IDS.migrate]);
      await c.query('CREATE SCHEMA IF NOT EXISTS compute_mcp');
      await c.query(
        `CREATE TABLE IF NOT EXISTS compute_mcp.migrations (
           version integer PRIMARY KEY,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const r = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM compute_mcp.migrations');
      const have = r.rows[0]?.v ?? 0;
      if (have > MIGRATIONS.length) throw this.newer(have);
      for (let v = have + 1; v <= MIGRATIONS.length; v++) {
        await c.query(MIGRATIONS[v - 1]!);
        await c.query('INSERT INTO compute_mcp.migrations (version) VALUES ($1)', [v]);
      }
    });
  }

  private newer(have: number): StateError {
    return new StateError(
      `the database at ${this.where} has schema version ${have}, newer than this compute-mcp knows (${MIGRATIONS.length}): upgrade compute-mcp`,
    );
  }

  /**
   * Two pooled connections must be two sessions: one must not get an advisory lock the other holds. Behind a pooler
   * in transaction mode they are not, and no lock would hold.
   */
  private async checkSessions(): Promise<void> {
    const [a, b] = [await this.pool.connect(), await this.pool.connect()];
    const key = randomBytes(4).readInt32BE(0) & 0x7fffffff;
    try {
      await a.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS + LOCK_IDS.probe, key]);
      const r = await b.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        LOCK_CLASS + LOCK_IDS.probe,
        key,
      ]);
      if (r.rows[0]?.ok)
        throw new StateError(
          `two connections to ${this.where} share one session (a pooler in transaction mode?): the spend lock would not hold. ` +
            'Connect to PostgreSQL directly, or through a pooler in session mode.',
        );
      await a.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS + LOCK_IDS.probe, key]);
    } finally {
      a.release();
      b.release(true);
    }
  }
}

interface Section {
  client: PoolClient;
  /** Set when the connection broke: the lock went with it. */
  lost: Error | undefined;
  /** A transaction (atomic) is open on the connection: appends join it. */
  tx: boolean;
  /** The section ended (its connection went back to the pool): work it left behind uses the pool. */
  done: boolean;
  /** The database session that took the lock. */
  pid?: number;
}

const lostLock = (err: Error) =>
  new ComputeError(
    'STATE_UNAVAILABLE',
    `the database connection holding the spend lock was lost (${err.message}); nothing more was done`,
    { hint: 'Try again once the database is back.' },
  );

/**
 * A database that cannot be reached or answer (no connection, a broken one, a timeout, a shutdown, no resources) is
 * an expected failure, said as such. Its details (host, user) go to the log, not to the agent. Anything else (a
 * statement the database refused) is a bug and stays one.
 */
function asUnavailable(e: unknown, where: string): Error {
  if (e instanceof ComputeError || e instanceof StateError) return e;
  const err = e as Error & { code?: string };
  const sqlstate = typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code) ? err.code : undefined;
  const unavailable = sqlstate ? /^(08|53|57|58)/.test(sqlstate) || sqlstate === '55P03' || sqlstate === '25P03' : true; // no SQLSTATE: the connection itself failed (refused, reset, timed out)
  if (!unavailable) return err;
  return new ComputeError(
    'STATE_UNAVAILABLE',
    `the state database cannot be used (${sqlstate ?? err.code ?? 'connection failed'}); nothing that spends was done`,
    {
      hint: 'Reads still work. Try again once the database is back, or ask whoever runs compute-mcp (the server log says more).',
      cause: err,
      internal: { where, message: err.message },
    },
  );
}

// eslint-disable-next-line no-control-regex -- NUL is exactly what jsonb cannot store
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** JSON PostgreSQL stores: a NUL or a lone surrogate in a string (which jsonb refuses) becomes U+FFFD. */
function storable(_: string, v: unknown): unknown {
  return typeof v === 'string' ? v.replace(UNSTORABLE, '\uFFFD') : v;
}

const str = (v: unknown) => (typeof v === 'string' ? v : null);
