/**
 * The shared core of every cloud emulator: a real HTTP server on loopback with routing, auth, a request log, and
 * switches for injected faults (status codes incl. 429 + Retry-After, latency, malformed or raw bodies, bodies that
 * trickle, huge streamed bodies). Each cloud's `emulator.ts` adds its routes, state machine and error body on top.
 *
 * Test and demo control lives under `/_emulator/*` (not part of any cloud's API): POST/DELETE `/_emulator/faults`,
 * GET `/_emulator/requests`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../transport/body.js';

export interface EmulatorRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface EmulatorResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>;

export interface Route {
  method: string;
  /** `/compute/v1/instances/:id` style. */
  path: string;
  handler: Handler;
}

export interface Fault {
  method?: string;
  /** Substring or regular expression (as a string from the control API) matched against the path. */
  path?: string | RegExp;
  /** Answer with this status instead of calling the route. */
  status?: number;
  headers?: Record<string, string>;
  /** With `status`: this body (JSON-encoded) instead of the cloud's error envelope. */
  body?: unknown;
  /** With `status`: this text as the body, sent as is (e.g. a non-JSON answer that echoes what it was sent). */
  raw?: string;
  /** Call the route, but send a truncated, non-JSON body with its status. */
  malformed?: boolean;
  /** Extra latency before answering (before the headers: a cloud that does not answer). */
  delayMs?: number;
  /**
   * Send the headers at once, then the body in pieces of `trickleBytes` (default 8) with this pause between them:
   * a cloud that answers but never finishes.
   */
  trickleMs?: number;
  trickleBytes?: number;
  /**
   * Answer `status` (default 200) with a JSON body of this many bytes, generated piece by piece as the socket drains
   * (the emulator never holds it), and stop writing when the client hangs up. Each such answer is in `streams`.
   */
  hugeBytes?: number;
  /** With `hugeBytes`: announce the size in Content-Length (default: chunked, so the client cannot know). */
  announceLength?: boolean;
  /** How many matching requests this fault applies to (default 1; 0 = forever). */
  times?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: unknown;
  status: number;
  /** performance.now() when the request arrived and when its answer was sent: round trips can be told apart. */
  startedAt: number;
  answeredAt: number;
}

/** A body the emulator streamed (a `hugeBytes` or `trickleMs` fault): how far it got. */
export interface StreamedBody {
  method: string;
  path: string;
  /** The whole body's size. */
  bytesPlanned: number;
  /** Bytes handed to the socket so far (it accepts more only as the client reads). */
  bytesWritten: number;
  /** The client closed the connection before the whole body was written. */
  closedEarly: boolean;
  /** Settles when the emulator stops writing: the body was sent, or the client hung up. */
  done: Promise<void>;
}

export interface EmulatorOptions {
  name: string;
  routes: Route[];
  /** True when the request carries valid credentials. */
  authorize: (headers: IncomingMessage['headers']) => boolean;
  /** The cloud's own error envelope. */
  errorBody: (status: number, code: string, message: string) => unknown;
  /** Latency added to every answer. */
  latencyMs?: number;
  /** Body size limit, bytes. */
  maxBodyBytes?: number;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  keys: string[];
}

export class HttpEmulator {
  readonly name: string;
  readonly requests: RecordedRequest[] = [];
  /** Bodies sent in pieces (huge or trickling), in order. */
  readonly streams: StreamedBody[] = [];
  private faults: (Fault & { remaining: number })[] = [];
  private readonly routes: CompiledRoute[];
  private server?: Server;
  latencyMs: number;
  private base = '';

  constructor(private readonly opts: EmulatorOptions) {
    this.name = opts.name;
    this.latencyMs = opts.latencyMs ?? 0;
    this.routes = opts.routes.map((r) => {
      const keys: string[] = [];
      const src = r.path.replace(/:([a-zA-Z_]+)/g, (_, k: string) => {
        keys.push(k);
        return '([^/]+)';
      });
      return { ...r, regex: new RegExp(`^${src}/?$`), keys };
    });
  }

  get baseUrl(): string {
    if (!this.base) throw new Error(`${this.name} emulator is not started`);
    return this.base;
  }

  injectFault(f: Fault): void {
    this.faults.push({ ...f, remaining: f.times === undefined ? 1 : f.times });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Requests received for a method and path pattern (control calls excluded). */
  count(method: string, path: RegExp | string): number {
    return this.requests.filter(
      (r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)),
    ).length;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) this.send(res, 500, this.opts.errorBody(500, 'internal_error', String(err)));
      });
    });
    this.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    const addr = this.server.address() as AddressInfo;
    this.base = `http://${host}:${addr.port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const raw = await readBody(req, this.opts.maxBodyBytes ?? 1024 * 1024);
    if (raw === null)
      return this.send(res, 413, this.opts.errorBody(413, 'payload_too_large', 'request body too large'));

    if (url.pathname.startsWith('/_emulator/')) return this.control(method, url.pathname, raw, res);

    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        return this.record(
          res,
          { method, url, req, body: raw, startedAt },
          400,
          this.opts.errorBody(400, 'bad_request', 'request body is not valid JSON'),
        );
      }
    }
    const ctx = { method, url, req, body, startedAt };
    const fault = this.takeFault(method, url.pathname);
    const delay = this.latencyMs + (fault?.delayMs ?? 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (fault?.hugeBytes !== undefined) return this.recordHuge(res, ctx, fault, fault.hugeBytes);
    if (fault?.status !== undefined) {
      const { status } = fault;
      const injected = fault.raw !== undefined ? new RawBody(fault.raw) : fault.body;
      const answer = injected ?? this.opts.errorBody(status, 'injected_fault', `injected HTTP ${status}`);
      return this.record(res, ctx, status, answer, fault.headers, fault);
    }

    if (!this.opts.authorize(req.headers))
      return this.record(res, ctx, 401, this.opts.errorBody(401, 'unauthorized', 'missing or invalid credentials'));

    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.regex.exec(url.pathname);
      if (!m) continue;
      const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1]!)]));
      const out = await r.handler({
        method,
        path: url.pathname,
        query: url.searchParams,
        params,
        headers: req.headers,
        body,
      });
      if (fault?.malformed) return this.record(res, ctx, out.status, MALFORMED, out.headers, fault);
      return this.record(res, ctx, out.status, out.body, out.headers, fault);
    }
    const known = this.routes.some((r) => r.regex.test(url.pathname));
    return known
      ? this.record(
          res,
          ctx,
          405,
          this.opts.errorBody(405, 'method_not_allowed', `${method} is not allowed on ${url.pathname}`),
        )
      : this.record(res, ctx, 404, this.opts.errorBody(404, 'not_found', `no route ${url.pathname}`));
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const f = this.faults.find(
      (x) =>
        (!x.method || x.method === method) &&
        (x.path === undefined || (typeof x.path === 'string' ? path.includes(x.path) : x.path.test(path))),
    );
    if (!f) return undefined;
    if (f.remaining > 0 && --f.remaining === 0) this.faults.splice(this.faults.indexOf(f), 1);
    return f;
  }

  private control(method: string, path: string, raw: string, res: ServerResponse): void {
    if (path === '/_emulator/faults' && method === 'POST') {
      try {
        const f = JSON.parse(raw) as Fault & { path?: string };
        this.injectFault({ ...f, ...(f.path ? { path: new RegExp(f.path) } : {}) });
        return this.send(res, 204);
      } catch (e) {
        return this.send(res, 400, { error: String(e) });
      }
    }
    if (path === '/_emulator/faults' && method === 'DELETE') {
      this.clearFaults();
      return this.send(res, 204);
    }
    if (path === '/_emulator/requests' && method === 'GET')
      return this.send(
        res,
        200,
        this.requests.map(({ headers: _h, ...r }) => r),
      );
    return this.send(res, 404, { error: 'unknown control path' });
  }

  private record(
    res: ServerResponse,
    ctx: RequestContext,
    status: number,
    body: unknown,
    headers?: Record<string, string>,
    fault?: Fault,
  ): void {
    this.logRequest(ctx, status);
    const text = status === 204 ? undefined : encode(body);
    if (fault?.trickleMs === undefined || text === undefined) return this.send(res, status, body, headers);
    const bytes = Buffer.from(text);
    const pieces = slices(bytes, fault.trickleBytes ?? 8);
    this.stream(res, ctx, status, headers, pieces, { size: bytes.length, pauseMs: fault.trickleMs });
  }

  private recordHuge(res: ServerResponse, ctx: RequestContext, fault: Fault, size: number): void {
    const status = fault.status ?? 200;
    this.logRequest(ctx, status);
    const headers = { ...fault.headers, ...(fault.announceLength ? { 'content-length': String(size) } : {}) };
    this.stream(res, ctx, status, headers, hugeJson(size), { size, pauseMs: 0 });
  }

  private logRequest(ctx: RequestContext, status: number): void {
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(ctx.req.headers)) if (typeof v === 'string') h[k] = v;
    const { method, url, body, startedAt } = ctx;
    this.requests.push({
      method,
      path: url.pathname,
      query: url.search,
      headers: h,
      body,
      status,
      startedAt,
      answeredAt: performance.now(),
    });
  }

  /**
   * Writes a body piece by piece, only as fast as the client reads it (and `pauseMs` apart), and stops as soon as
   * the client hangs up: what was written and whether the client left early are kept in `streams`.
   */
  private stream(
    res: ServerResponse,
    ctx: RequestContext,
    status: number,
    headers: Record<string, string> | undefined,
    pieces: Iterable<Buffer>,
    how: { size: number; pauseMs: number },
  ): void {
    const entry: StreamedBody = {
      method: ctx.method,
      path: ctx.url.pathname,
      bytesPlanned: how.size,
      bytesWritten: 0,
      closedEarly: false,
      done: Promise.resolve(),
    };
    this.streams.push(entry);
    const closed = new Promise<void>((resolve) => res.once('close', resolve));
    const drained = () => Promise.race([new Promise((resolve) => res.once('drain', resolve)), closed]);
    const write = async () => {
      for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.flushHeaders();
      for (const piece of pieces) {
        if (res.destroyed) break;
        entry.bytesWritten += piece.length;
        if (!res.write(piece)) await drained();
        if (how.pauseMs > 0) await pause(how.pauseMs, closed);
      }
      entry.closedEarly = entry.bytesWritten < how.size;
      if (!res.destroyed) res.end();
    };
    entry.done = write().catch(() => {
      entry.closedEarly = true;
    });
  }

  private send(res: ServerResponse, status: number, body?: unknown, headers?: Record<string, string>): void {
    for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
    const text = status === 204 ? undefined : encode(body);
    res.statusCode = status;
    if (text === undefined) {
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(text);
  }
}

interface RequestContext {
  method: string;
  url: URL;
  req: IncomingMessage;
  body: unknown;
  startedAt: number;
}

const MALFORMED = Symbol('malformed');

/** A body sent as is, not JSON-encoded. */
class RawBody {
  constructor(readonly text: string) {}
}

/** The bytes of an answer's body, or undefined for none. */
function encode(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  if (body === MALFORMED) return '{"truncated": [1, 2';
  if (body instanceof RawBody) return body.text;
  return JSON.stringify(body);
}

function* slices(buf: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size);
}

const HUGE_PIECE = 64 * 1024;

/**
 * A valid JSON body of exactly `size` bytes (at least 4): `["xxx…x"]`, produced one piece at a time from one shared
 * buffer, so a 64 MiB answer costs the emulator 64 KiB.
 */
function* hugeJson(size: number): Generator<Buffer> {
  const filler = Buffer.alloc(HUGE_PIECE, 'x');
  yield Buffer.from('["');
  for (let left = Math.max(0, size - 4); left > 0; left -= HUGE_PIECE)
    yield filler.subarray(0, Math.min(left, HUGE_PIECE));
  yield Buffer.from('"]');
}

/** Waits `ms`, or less if `cut` settles first (the timer does not outlive a closed connection). */
function pause(ms: number, cut: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const wait = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([wait, cut]).finally(() => clearTimeout(timer));
}

/** Lazily applied state transitions: each entry takes effect once its time has come, checked on every read. */
export class Timeline<S> {
  private steps: { at: number; apply: (s: S) => void }[] = [];
  constructor(private readonly now: () => number = Date.now) {}
  after(ms: number, apply: (s: S) => void): void {
    const last = this.steps.length ? this.steps[this.steps.length - 1]!.at : this.now();
    this.steps.push({ at: Math.max(last, this.now() + ms), apply });
  }
  clear(): void {
    this.steps = [];
  }
  advance(state: S): void {
    const now = this.now();
    while (this.steps.length && this.steps[0]!.at <= now) this.steps.shift()!.apply(state);
  }
}

/** What every cloud's emulator shares: its HTTP server, started and stopped through it. */
export abstract class CloudEmulator {
  abstract readonly http: HttpEmulator;
  start(port = 0): Promise<string> {
    return this.http.start(port);
  }
  stop(): Promise<void> {
    return this.http.stop();
  }
  get baseUrl(): string {
    return this.http.baseUrl;
  }
}
