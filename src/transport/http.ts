/**
 * Streamable HTTP at /mcp with stateful sessions (so elicitation and progress work), on 127.0.0.1 unless told
 * otherwise. Every request passes, in order: the Host check and the Origin check (DNS-rebinding protection), the
 * bearer token when one is required, the body size bound; then the session's transport handles it (session.ts: a
 * plain request is answered directly as JSON, anything else by the SDK's transport).
 * A non-loopback bind refuses to start without COMPUTE_MCP_HTTP_TOKEN.
 *
 * Sessions cost memory (an McpServer each), so they are bounded: per client (the token's digest, else the remote
 * address; at its cap a client's unused sessions make room) and in total, and a session nobody has used for the idle
 * time is closed. A session belongs to the token that opened it; another token sees it as absent.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';
import { readBody } from './body.js';
import { SessionTransport } from './session.js';

export const MCP_PATH = '/mcp';
export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_SESSIONS = 256;
export const MAX_SESSIONS_PER_CLIENT = 16;
export const SESSION_IDLE_MS = 30 * 60 * 1000;
const SESSION_NOT_FOUND = 'Session not found: initialize again';

export interface HttpOptions {
  host: string;
  port: number;
  /** Accepted bearer tokens (one per agent or team). Required off loopback; optional on it. */
  tokens?: readonly string[];
  makeServer: () => McpServer;
  log: Logger;
  maxBodyBytes?: number;
  /** Open sessions allowed in all (default 256). */
  maxSessions?: number;
  /** Open sessions allowed per client: per token when tokens are in use, else per remote address (default 16). */
  maxSessionsPerClient?: number;
  /** A session with no request for this long is closed (default 30 minutes). */
  sessionIdleMs?: number;
  /**
   * Pages served beside /mcp (the approval pages under /approve/): their link is their credential, so they need no
   * bearer token; the handler checks Host and Origin itself.
   */
  pages?: { prefix: string; handle(req: IncomingMessage, res: ServerResponse): Promise<void> };
}

export interface RunningHttp {
  url: string;
  sessions(): number;
  close(): Promise<void>;
}

export class HttpConfigError extends Error {}

/**
 * Loopback by address, not by spelling: IPv4 literals in 127.0.0.0/8, ::1 and ::ffff:127.x.y.z (bracketed or not,
 * in any IPv6 spelling), and the name `localhost`. Any other name may resolve anywhere (127.attacker.example).
 */
export function isLoopback(host: string): boolean {
  const lower = host.toLowerCase();
  const bracketed = /^\[(.*)\]$/.exec(lower)?.[1];
  if (bracketed === undefined) {
    if (lower === 'localhost') return true;
    if (isIP(lower) === 4) return lower.startsWith('127.');
  }
  const bare = bracketed ?? lower; // brackets hold IPv6 only: [127.0.0.1] and [localhost] are nobody's spelling
  if (isIP(bare) !== 6) return false;
  const canonical = canonicalIpv6(bare);
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical ?? '');
}

/** The WHATWG URL parser writes an IPv6 address one way (::1, ::ffff:7f00:1), whatever way it was given. */
function canonicalIpv6(address: string): string | undefined {
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return undefined; // e.g. a zone id (fe80::1%eth0): not loopback
  }
}

/** `[HOST:]PORT` → host and port; the host defaults to 127.0.0.1. */
export function parseListen(spec: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(spec.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535)
    throw new HttpConfigError(`--http takes [HOST:]PORT, e.g. 3000 or 127.0.0.1:3000 (got ${JSON.stringify(spec)})`);
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
}

/** COMPUTE_MCP_HTTP_TOKEN: one token or a comma-separated list; blanks around and between commas are ignored. */
export function parseTokens(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** The session limits set in the environment; a value that is not a positive number stops the start. */
export function sessionLimitsFromEnv(env: NodeJS.ProcessEnv): Pick<HttpOptions, 'maxSessions' | 'sessionIdleMs'> {
  const max = positiveNumber(env, 'COMPUTE_MCP_HTTP_MAX_SESSIONS', true);
  const idle = positiveNumber(env, 'COMPUTE_MCP_HTTP_SESSION_IDLE_SECONDS', false);
  return { maxSessions: max, sessionIdleMs: idle === undefined ? undefined : idle * 1000 };
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, integer: boolean): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!(n > 0) || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    const kind = integer ? 'whole number' : 'number';
    throw new HttpConfigError(`${name} must be a positive ${kind} (got ${JSON.stringify(raw)})`);
  }
  return n;
}

interface Session {
  transport: SessionTransport;
  server: McpServer;
  /** Who counts it against their cap: the token's digest, else the remote address. */
  client: string;
  /** The digest of the token that opened it; only that token may use it. */
  credential: Buffer | undefined;
  /** performance.now() at its last request's start or end: monotonic, so a clock change cannot expire it early. */
  lastSeen: number;
  /** Requests in progress, open SSE streams included: a session with one is in use, not idle. */
  active: number;
}

export async function startHttp(opts: HttpOptions): Promise<RunningHttp> {
  const expected = (opts.tokens ?? []).filter(Boolean).map(digest);
  const loopback = isLoopback(opts.host);
  if (!loopback && expected.length === 0)
    throw new HttpConfigError(
      `refusing to listen on ${opts.host} without COMPUTE_MCP_HTTP_TOKEN: ` +
        'off loopback every request must carry a bearer token',
    );
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const limits = {
    total: opts.maxSessions ?? MAX_SESSIONS,
    perClient: opts.maxSessionsPerClient ?? MAX_SESSIONS_PER_CLIENT,
    idleMs: opts.sessionIdleMs ?? SESSION_IDLE_MS,
  };
  const table = new SessionTable(limits, opts.log);

  const http: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      opts.log.error({ err }, 'http request failed');
      if (!res.headersSent) reply(res, 500, -32603, 'Internal error');
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    if (opts.pages && url.pathname.startsWith(opts.pages.prefix)) return opts.pages.handle(req, res);
    const host = hostOfHeader(req.headers.host);
    // DNS rebinding: on loopback only loopback names may be in Host; any Origin must be a loopback page too.
    if (loopback && (!host || !isLoopback(host))) return reply(res, 403, -32000, 'Forbidden: invalid Host header');
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, host, loopback))
      return reply(res, 403, -32000, 'Forbidden: invalid Origin header');
    let credential: Buffer | undefined;
    if (expected.length > 0) {
      credential = matchToken(req, expected);
      if (!credential) {
        res.setHeader('www-authenticate', 'Bearer');
        return reply(res, 401, -32001, 'Unauthorized: send Authorization: Bearer <COMPUTE_MCP_HTTP_TOKEN>');
      }
    }
    if (url.pathname !== MCP_PATH) return reply(res, 404, -32601, `Not found: the endpoint is ${MCP_PATH}`);

    const sid = header(req, 'mcp-session-id');
    if (req.method === 'POST') {
      const body = await readJson(req, maxBody);
      if (body === TOO_LARGE) return reply(res, 413, -32600, `Request body larger than ${maxBody} bytes`);
      if (body === BAD_JSON) return reply(res, 400, -32700, 'Parse error');
      if (sid) return forward(sid, credential, req, res, body, url);
      if (!isInitializeRequest(body))
        return reply(res, 400, -32000, 'Bad Request: no mcp-session-id, and not an initialize request');
      return open(clientOf(req, credential), credential, req, res, body);
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!sid) return reply(res, 400, -32000, 'Bad Request: mcp-session-id header required');
      return forward(sid, credential, req, res);
    }
    res.setHeader('allow', 'GET, POST, DELETE');
    return reply(res, 405, -32000, 'Method not allowed');
  }

  /** A request on an existing session, if it exists for this credential. */
  async function forward(
    sid: string,
    credential: Buffer | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    body?: unknown,
    url?: URL,
  ) {
    const s = table.get(sid, credential);
    if (!s) return reply(res, 404, -32001, SESSION_NOT_FOUND);
    table.track(s, res);
    if (url && s.transport.directly(req, res, body, url)) return;
    return s.transport.handleRequest(req, res, body);
  }

  /** An initialize request: a new McpServer and transport, if the caps allow one more session. */
  async function open(
    client: string,
    credential: Buffer | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
  ) {
    const refusal = table.admit(client);
    if (refusal) {
      opts.log.warn({ status: refusal.status }, 'http session refused: too many sessions');
      res.setHeader('retry-after', String(refusal.retryAfterSeconds));
      return reply(res, refusal.status, -32000, refusal.message, requestId(body));
    }
    // Counted from now on: concurrent initializes must not all slip under the cap while this one connects.
    const release = table.reserve(client);
    let made: { server: McpServer; transport: SessionTransport } | undefined;
    try {
      made = connectSession(client, credential, res);
      await made.server.connect(made.transport);
      made.transport.deliverTo(made.server);
      await made.transport.handleRequest(req, res, body);
    } finally {
      release();
      // The SDK refused the initialize (no session was made): nothing else will ever close this server.
      if (made && !made.transport.sessionId) void made.server.close().catch(() => undefined);
    }
  }

  /** A new McpServer and its transport; the session enters the table once the SDK has accepted the initialize. */
  function connectSession(client: string, credential: Buffer | undefined, res: ServerResponse) {
    const server = opts.makeServer();
    const transport: SessionTransport = new SessionTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        const session: Session = { transport, server, client, credential, lastSeen: performance.now(), active: 0 };
        table.add(id, session);
        table.track(session, res); // in use until its opener has had the answer (and the id)
      },
    });
    // However it ends (DELETE, idle expiry, reclaimed, shutdown), the session leaves the table and its McpServer closes.
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id) {
        table.remove(id);
        opts.log.info({ session: id, open: table.size }, 'http session closed');
      }
      void server.close().catch(() => undefined);
    };
    return { server, transport };
  }

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(opts.port, opts.host, () => resolve());
    });
  } catch (err) {
    await table.close(); // e.g. the port is taken: stop the sweeper too
    throw err;
  }
  const addr = http.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${shownHost}:${addr.port}${MCP_PATH}`;
  opts.log.info({ url, auth: expected.length > 0, tokens: expected.length }, 'compute-mcp listening (Streamable HTTP)');

  return {
    url,
    sessions: () => table.size,
    close: async () => {
      await table.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

interface Refusal {
  status: 429 | 503;
  message: string;
  retryAfterSeconds: number;
}

/** Open sessions by id, with the caps, the reservations of initializes in flight, and idle expiry. */
class SessionTable {
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly limits: { total: number; perClient: number; idleMs: number },
    private readonly log: Logger,
  ) {
    // Sweeps often enough that a session outlives its idle time by at most half of it (a minute at most). The
    // timer is unref()'d: it must never be what keeps the process alive.
    const every = Math.min(60_000, Math.max(10, Math.floor(limits.idleMs / 2)));
    this.sweeper = setInterval(() => this.sweep(performance.now()), every).unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The session, or undefined when it does not exist or belongs to another token (indistinguishable to callers). */
  get(id: string, credential: Buffer | undefined): Session | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.credential && !(credential && s.credential.equals(credential))) return undefined;
    return s;
  }

  add(id: string, s: Session): void {
    this.sessions.set(id, s);
    this.log.info({ session: id, open: this.sessions.size }, 'http session opened');
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  /** Marks the session in use until the response ends (an SSE stream may stay open for long). */
  track(s: Session, res: ServerResponse): void {
    s.active++;
    s.lastSeen = performance.now();
    res.once('close', () => {
      s.active--;
      s.lastSeen = performance.now();
    });
  }

  /**
   * Room for one more session of this client, or why not. At its cap, the client's longest-unused session that is
   * not in use (no request, no open stream) is closed to make room: clients that go away without DELETE (most do)
   * would otherwise lock themselves out until idle expiry. Only when every one is in use is the client refused.
   */
  admit(client: string): Refusal | undefined {
    const mine = this.countOf(client);
    if (mine >= this.limits.perClient && !this.reclaimFor(client))
      return {
        status: 429,
        retryAfterSeconds: 60,
        message:
          `Too many sessions: this client has ${mine} open, all in use (limit ${this.limits.perClient}). ` +
          `Close sessions you no longer use (DELETE ${MCP_PATH} with their mcp-session-id header), ` +
          'or wait until one is idle, and initialize again.',
      };
    const all = this.sessions.size + [...this.pending.values()].reduce((a, b) => a + b, 0);
    // The total is never made room for: that would let one client close another's sessions.
    if (all >= this.limits.total)
      return {
        status: 503,
        retryAfterSeconds: 60,
        message:
          `Server busy: ${all} sessions open (limit ${this.limits.total}). Try again later; idle sessions ` +
          `close after ${describeDuration(this.limits.idleMs)}.`,
      };
    return undefined;
  }

  /** Counts one session for the client until the returned function is called. */
  reserve(client: string): () => void {
    this.pending.set(client, (this.pending.get(client) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.pending.get(client) ?? 1) - 1;
      if (left > 0) this.pending.set(client, left);
      else this.pending.delete(client);
    };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const { transport, server } of all) {
      await transport.close().catch(() => undefined);
      await server.close().catch(() => undefined);
    }
  }

  private countOf(client: string): number {
    let n = this.pending.get(client) ?? 0;
    for (const s of this.sessions.values()) if (s.client === client) n++;
    return n;
  }

  /** Closes the client's longest-unused session that is not in use; false when there is none. */
  private reclaimFor(client: string): boolean {
    let oldest: [string, Session] | undefined;
    for (const entry of this.sessions)
      if (entry[1].client === client && entry[1].active === 0 && (!oldest || entry[1].lastSeen < oldest[1].lastSeen))
        oldest = entry;
    if (!oldest) return false;
    this.end(oldest[0], oldest[1], 'http session reclaimed: its client is at its cap and opened another');
    return true;
  }

  private sweep(now: number): void {
    for (const [id, s] of this.sessions)
      if (s.active === 0 && now - s.lastSeen >= this.limits.idleMs) this.end(id, s, 'http session expired');
  }

  private end(id: string, s: Session, why: string): void {
    this.sessions.delete(id);
    this.log.info({ session: id, idleSeconds: Math.round((performance.now() - s.lastSeen) / 1000) }, why);
    // Closing the transport closes its McpServer too (transport.onclose); both here in case it was half-open.
    void s.transport.close().catch(() => undefined);
    void s.server.close().catch(() => undefined);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The digest of the accepted token this request carries. Every entry is compared, in constant time, every time. */
function matchToken(req: IncomingMessage, expected: Buffer[]): Buffer | undefined {
  const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (!given) return undefined;
  const d = digest(given);
  let match: Buffer | undefined;
  for (const e of expected) if (timingSafeEqual(d, e)) match = e;
  return match;
}

/** Whose cap a new session counts against: the token when tokens are in use, else the remote address. */
function clientOf(req: IncomingMessage, credential: Buffer | undefined): string {
  return credential ? `token:${credential.toString('hex')}` : `address:${req.socket.remoteAddress ?? 'unknown'}`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The name in a Host header as sent, minus the port, lowercased. Not run through the URL parser: that would turn
 * 127.1 or 0x7f000001 into 127.0.0.1 and let spellings that the strict loopback rule refuses pass here.
 */
function hostOfHeader(value: string | undefined): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]@/\s]+)(?::\d{1,5})?$/.exec(value ?? '');
  return m?.[1]?.toLowerCase();
}

function originAllowed(origin: string, host: string | undefined, loopback: boolean): boolean {
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  if (o.protocol !== 'http:' && o.protocol !== 'https:') return false;
  return loopback ? isLoopback(o.hostname) : o.hostname === host;
}

function describeDuration(ms: number): string {
  if (ms >= 120_000) return `${Math.round(ms / 60_000)} minutes`;
  return `${Math.max(1, Math.round(ms / 1000))} seconds`;
}

type JsonRpcId = string | number | null;

function requestId(body: unknown): JsonRpcId {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function reply(res: ServerResponse, status: number, code: number, message: string, id: JsonRpcId = null): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }));
}

const TOO_LARGE = Symbol('too large');
const BAD_JSON = Symbol('bad json');

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const text = await readBody(req, max);
  if (text === null) return TOO_LARGE;
  try {
    return JSON.parse(text);
  } catch {
    return BAD_JSON;
  }
}
