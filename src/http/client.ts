/**
 * The only module that performs HTTP. Built on undici (an `Agent` with keep-alive and connect/header/body timeouts),
 * sent with the Agent's own `request` (a WHATWG fetch costs about four times its CPU per call) unless the global
 * `fetch` has been replaced, as msw does in wire tests, or a `fetch` is given: then through that fetch. Behaviour tests
 * talk to the emulators over loopback. Every body is validated with zod here; every failure becomes a ComputeError.
 *
 * A cloud is not trusted to be well behaved: each attempt (headers and body) is bounded by the request timeout, a
 * body is read incrementally and abandoned once it passes a size cap, and any text a cloud sends back is scrubbed of
 * the client's own secrets before it reaches an error, a tool result or a log line.
 */
import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { Logger } from 'pino';
import { ComputeError, type ErrorCode } from '../domain/errors.js';
import type { ProviderId } from '../domain/model.js';
import { sleep } from '../domain/sleep.js';
import { DEFAULT_RETRY, RETRYABLE_STATUSES, backoffDelay, parseRetryAfter, type RetryPolicy } from './retry.js';

export interface HttpTimeouts {
  connectMs: number;
  /** Whole request, headers and body, per attempt. */
  requestMs: number;
}

export const DEFAULT_TIMEOUTS: HttpTimeouts = { connectMs: 5_000, requestMs: 30_000 };

const KiB = 1024;
const MiB = 1024 * KiB;
/** The largest successful answer read: a page of any documented list is far smaller. */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * MiB;
/** Error answers are only mined for a code and a sentence; more than this is an HTML error page or worse. */
export const DEFAULT_MAX_ERROR_BYTES = 64 * KiB;

export interface CloudErrorBody {
  code?: string;
  message?: string;
}

export interface HttpClientOptions {
  provider: ProviderId;
  baseUrl: string;
  /** Auth and other fixed headers; called per request so secrets live in one closure. */
  headers: () => Record<string, string>;
  /**
   * More values never to show in errors or logs. The values `headers()` returns (and the credential after
   * `Bearer`/`Token`) are already treated as secrets.
   */
  secrets?: readonly string[];
  /** Reads the cloud's error envelope (e.g. `{code,message}`). */
  parseError?: (body: unknown) => CloudErrorBody;
  /** Names the env var(s) to check on 401/403. */
  credentialsHint?: string;
  timeouts?: Partial<HttpTimeouts>;
  retry?: Partial<RetryPolicy>;
  /** Size cap for a successful (2xx) body, bytes (default 8 MiB). */
  maxResponseBytes?: number;
  /** Size cap for an error body, bytes (default 64 KiB); a longer one is cut, not refused. */
  maxErrorBytes?: number;
  log?: Logger;
  /** Defaults to the global fetch, looked up per call (so msw's patch is seen). */
  fetch?: typeof fetch;
  dispatcher?: Dispatcher;
}

export interface RequestOptions<S extends z.ZodType | undefined> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Response body schema; omit for bodiless answers (204). */
  schema?: S;
  /** Safe to send again (GET, or documented idempotent). Defaults to true for GET only. */
  idempotent?: boolean;
  signal?: AbortSignal;
}

/**
 * A success, read and checked. Plain data only: an object made per call must not carry a getter (or setter). V8
 * makes the pair behind one in old space, so everything the getter's closure reached (here the whole undici answer,
 * body stream and all) outlived every young collection until the next full one: about 3 KiB a call promoted, and
 * the server's RSS grew with every call until then. No adapter reads a success's headers.
 */
export interface HttpResponse<T> {
  status: number;
  data: T;
}

type AnyRequest = RequestOptions<z.ZodType | undefined>;

/** One attempt's response, however it was sent: status, a header, and a body to read (up to a cap) or to drop. */
interface Reply {
  status: number;
  ok: boolean;
  header(name: string): string | null;
  read(cap: number, hangUp: () => void, abort: Abort): Promise<CappedText>;
  drop(): Promise<void>;
}

/** One attempt's answer: the response, and for a success with a schema, its body as text. */
interface Answer {
  res: Reply;
  text?: string;
  /** Closes the connection of this attempt (used when the rest of a body is not wanted). */
  hangUp: () => void;
  abort: Abort;
  /** Stops this attempt's timer and its link to the caller's signal, once its answer has been used. */
  release: () => void;
}

const MAX_ERROR_TEXT = 300;
const MAX_INTERNAL_TEXT = 2000;

export class HttpClient {
  readonly provider: ProviderId;
  private readonly opts: HttpClientOptions;
  private readonly timeouts: HttpTimeouts;
  private readonly retry: RetryPolicy;
  /** Made at the first request: undici is loaded then, not when the server starts. */
  private dispatcher?: Promise<Dispatcher>;
  private readonly maxResponseBytes: number;
  private readonly maxErrorBytes: number;

  constructor(opts: HttpClientOptions) {
    this.opts = opts;
    this.provider = opts.provider;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.maxErrorBytes = opts.maxErrorBytes ?? DEFAULT_MAX_ERROR_BYTES;
  }

  private agent(): Promise<Dispatcher> {
    return (this.dispatcher ??= this.opts.dispatcher
      ? Promise.resolve(this.opts.dispatcher)
      : // undici is CommonJS: its exports are the default export of the module (in the bundle and in plain Node alike).
        import('undici').then(
          ({ default: { Agent } }) =>
            new Agent({
              connect: { timeout: this.timeouts.connectMs },
              headersTimeout: this.timeouts.requestMs,
              bodyTimeout: this.timeouts.requestMs,
              keepAliveTimeout: 10_000,
            }),
        ));
  }

  async close(): Promise<void> {
    if (!this.opts.dispatcher && this.dispatcher) await (await this.dispatcher).close();
  }

  url(path: string, query?: RequestOptions<undefined>['query']): string {
    const u = new URL(this.opts.baseUrl.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** `text` with every form of every secret this client holds replaced by `[redacted]`. */
  scrub(text: string): string {
    return redactSecrets(text, secretsOf(this.opts.headers(), this.opts.secrets));
  }

  async request<S extends z.ZodType | undefined = undefined>(
    req: RequestOptions<S>,
  ): Promise<HttpResponse<S extends z.ZodType ? z.infer<S> : undefined>> {
    const idempotent = req.idempotent ?? req.method === 'GET';
    const maxAttempts = idempotent ? this.retry.maxAttempts : 1;
    const url = this.url(req.path, req.query);
    for (let attempt = 1; ; attempt++) {
      let answer: Answer;
      try {
        answer = await this.attempt(url, req, attempt);
      } catch (err) {
        if (err instanceof ComputeError) throw err;
        if (req.signal?.aborted)
          throw new ComputeError('CANCELLED', 'The request was cancelled', { provider: this.provider, cause: err });
        const where = { provider: this.provider, method: req.method, path: req.path, attempt };
        this.opts.log?.debug({ ...where, err: this.scrub(describe(err)) }, 'http error');
        if (attempt < maxAttempts) {
          await sleep(backoffDelay(attempt, this.retry), req.signal);
          continue;
        }
        throw this.unreachable(req, idempotent, err);
      }
      try {
        const { res } = answer;
        if (res.ok) {
          return { status: res.status, data: this.parseBody(answer.text, req) };
        }

        const retryAfterMs = parseRetryAfter(res.header('retry-after'));
        if (idempotent && attempt < maxAttempts && RETRYABLE_STATUSES.has(res.status)) {
          const wait = retryAfterMs ?? backoffDelay(attempt, this.retry);
          if (wait <= this.retry.maxRetryAfterMs) {
            await res.drop();
            answer.release();
            await sleep(wait, req.signal);
            continue;
          }
        }
        throw await this.toError(answer, req, idempotent, retryAfterMs);
      } finally {
        answer.release();
      }
    }
  }

  /**
   * Sends once and, for a success, reads the body, all under one abort that fires on the first of: the caller's
   * signal, the request timeout (so a cloud that never sends headers or trickles its body is cut off) and this
   * attempt's own hang-up. Its timer and its link to the caller's signal are dropped once the answer has been used:
   * a timer per call left running for the whole timeout (AbortSignal.timeout) would outlive thousands of calls.
   */
  private async attempt(url: string, req: AnyRequest, attempt: number): Promise<Answer> {
    const started = Date.now();
    const abort = new Abort();
    const caller = req.signal;
    const onCallerAbort = () => abort.abort(caller?.reason);
    if (caller?.aborted) onCallerAbort();
    else caller?.addEventListener('abort', onCallerAbort, { once: true });
    const timer = setTimeout(() => abort.abort(timeoutError()), this.timeouts.requestMs);
    const release = () => {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
    };
    const hangUp = () => abort.abort(new Error('response body abandoned'));
    try {
      const res = await this.send(url, req, abort);
      const ms = Date.now() - started;
      const log = this.opts.log;
      if (log && (log.isLevelEnabled?.('debug') ?? true))
        log.debug(
          { provider: this.provider, method: req.method, path: req.path, status: res.status, ms, attempt },
          'http',
        );
      const answer: Answer = { res, hangUp, abort, release };
      if (!res.ok) return answer;
      if (!req.schema) {
        await res.drop();
        return answer;
      }
      answer.text = await this.readSuccess(answer, req);
      return answer;
    } catch (err) {
      release();
      throw err;
    }
  }

  private async send(url: string, req: AnyRequest, abort: Abort): Promise<Reply> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.opts.headers() };
    let body: string | undefined;
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.body);
    }
    const dispatcher = await this.agent();
    const doFetch = this.opts.fetch ?? (globalThis.fetch === NODE_FETCH ? undefined : globalThis.fetch);
    if (doFetch) {
      // `dispatcher` is undici's extension to RequestInit; Node's global fetch honours it.
      const init = { method: req.method, headers, body, signal: abort.signal(), dispatcher };
      return fetched(await doFetch(url, init as unknown as RequestInit));
    }
    const { origin, pathname, search } = new URL(url);
    try {
      // No redirects are followed (fetch follows them): a cloud API that answers 3xx gets an error naming the status.
      const res = await dispatcher.request({
        origin,
        path: pathname + search,
        method: req.method,
        headers,
        body,
        signal: abort,
      });
      return requested(res);
    } catch (err) {
      // Shaped as fetch fails (the cause carries the code), so timeouts and unreachable clouds read the same.
      throw abort.aborted ? abort.reason : new Error('request failed', { cause: err });
    }
  }

  /** A success body up to the cap; a longer one is refused as soon as that is known, before it is all sent. */
  private async readSuccess({ res, hangUp, abort }: Answer, req: AnyRequest): Promise<string> {
    const cap = this.maxResponseBytes;
    const declared = Number(res.header('content-length') ?? 0);
    if (declared > cap) {
      await res.drop();
      hangUp();
      throw this.tooLarge(req, cap);
    }
    const read = await res.read(cap, hangUp, abort);
    if (read.overflow) throw this.tooLarge(req, cap);
    return read.text;
  }

  private parseBody(text: string | undefined, req: AnyRequest): never {
    if (!req.schema || text === undefined) return undefined as never;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.badResponse(req, `the body is not JSON`, text);
    }
    const parsed = req.schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown';
      throw this.badResponse(req, `the body does not match the documented format (${where})`, text);
    }
    return parsed.data as never;
  }

  private badResponse(req: AnyRequest, why: string, raw: string, hint?: string): ComputeError {
    const notResent = 'Check the resource with a read tool before trying again; the request was not re-sent.';
    const message = this.scrub(`unexpected answer to ${req.method} ${req.path}: ${why}`);
    return new ComputeError('PROVIDER_BAD_RESPONSE', message, {
      provider: this.provider,
      hint: req.method === 'GET' ? (hint ?? 'Try again; if it persists the cloud API may have changed.') : notResent,
      internal: this.scrub(raw).slice(0, MAX_INTERNAL_TEXT),
    });
  }

  private tooLarge(req: AnyRequest, cap: number): ComputeError {
    const why = `the answer was larger than ${sizeText(cap)}, so it was not read`;
    const hint = 'Ask for less at a time (a smaller `limit`); if it persists, the cloud may be misbehaving.';
    return this.badResponse(req, why, '', hint);
  }

  private unreachable(req: AnyRequest, idempotent: boolean, err: unknown): ComputeError {
    const timedOut = isTimeout(err);
    const message = timedOut ? `${req.method} ${req.path} timed out` : `could not reach the cloud (${describe(err)})`;
    return new ComputeError(timedOut ? 'TIMEOUT' : 'PROVIDER_UNAVAILABLE', this.scrub(message), {
      provider: this.provider,
      hint: idempotent
        ? 'Try again in a minute.'
        : 'The request may have reached the cloud and was not re-sent; check list_instances before trying again.',
      cause: err,
    });
  }

  private async toError(
    answer: Answer,
    req: AnyRequest,
    idempotent: boolean,
    retryAfterMs?: number,
  ): Promise<ComputeError> {
    const { res, hangUp, abort } = answer;
    // The status alone classifies the error, so a long error body is cut rather than refused; a slow one gives ''.
    const read = await res.read(this.maxErrorBytes, hangUp, abort).catch(() => ({ text: '', overflow: false }));
    // Scrubbed before parsing too, so no field the error envelope picks out can carry a secret.
    const text = this.scrub(read.text);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const cloud = body !== undefined && this.opts.parseError ? this.opts.parseError(body) : {};
    const cloudText = cloud.message ? `: ${clip(cloud.message)}` : '';
    const codeText = cloud.code ? ` (${clip(cloud.code)})` : '';
    // Scrubbed again: JSON escapes (`\u0041`) are undone by parsing and could spell a secret the raw text hid.
    const base = this.scrub(`${req.method} ${req.path} failed with HTTP ${res.status}${codeText}${cloudText}`);
    const [code, hint] = classify(res.status, idempotent, this.opts.credentialsHint, retryAfterMs);
    const cut = read.overflow ? ` [cut at ${sizeText(this.maxErrorBytes)}]` : '';
    const internal = text.slice(0, MAX_INTERNAL_TEXT) + cut;
    return new ComputeError(code, base, { provider: this.provider, hint, status: res.status, retryAfterMs, internal });
  }
}

/** What was read of a body: at most the cap, and whether there was more (which was never read). */
export interface CappedText {
  text: string;
  overflow: boolean;
}

/**
 * Reads a body chunk by chunk, holding at most `cap` bytes. Past the cap the stream is cancelled and the request
 * aborted (`hangUp`), so the connection closes instead of the rest being downloaded. `signal` bounds the wait: a
 * body that trickles is given up when it fires, whatever fetch implementation produced the stream.
 */
export async function readCapped(
  res: Response,
  cap: number,
  hangUp: () => void,
  signal?: AbortSignal,
): Promise<CappedText> {
  if (!res.body) return { text: '', overflow: false };
  // Already over (the timeout fired between the headers and now): an abort listener would never be called.
  signal?.throwIfAborted();
  const reader = res.body.getReader();
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      signal?.throwIfAborted();
      if (done) return { text: text + decoder.decode(), overflow: false };
      size += value.byteLength;
      if (size > cap) {
        text += decoder.decode(value.subarray(0, value.byteLength - (size - cap)));
        await abandon(reader, hangUp);
        return { text, overflow: true };
      }
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * What ends one attempt, whichever way it was sent: undici's `request` takes this EventEmitter as its signal; fetch
 * gets an AbortSignal made from it. Not an AbortController per call: Node 20 keeps every AbortSignal through
 * young-generation collections, so each one (with all its listeners held) went to old space, and the server's RSS
 * grew by kilobytes a call until the next full collection.
 */
class Abort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;
  private controller?: AbortController;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.emit('abort');
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  /** The same as an AbortSignal, for fetch. */
  signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}

/** Node's own fetch, as it was when this module loaded: another one at call time (msw's) is used instead of undici. */
const NODE_FETCH = globalThis.fetch;

/** A fetch Response as a Reply. */
function fetched(res: Response): Reply {
  return {
    status: res.status,
    ok: res.ok,
    header: (name) => res.headers.get(name),
    read: (cap, hangUp, abort) => readCapped(res, cap, hangUp, abort.signal()),
    drop: () => res.body?.cancel().catch(() => undefined) ?? Promise.resolve(),
  };
}

/** undici's `request` answer as a Reply. */
function requested(res: Dispatcher.ResponseData): Reply {
  const header = (name: string) => {
    const v = res.headers[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  };
  return {
    status: res.statusCode,
    ok: res.statusCode >= 200 && res.statusCode < 300,
    header,
    read: (cap, hangUp, abort) => readCappedStream(res.body, cap, hangUp, abort),
    drop: async () => {
      res.body.on('error', () => undefined); // destroying a body that was not read reports an abort: expected here
      res.body.destroy();
    },
  };
}

/** readCapped for a Node stream (undici's `request` body): the same cap, hang-up and signal, decoded as it comes. */
async function readCappedStream(
  body: AsyncIterable<Buffer> & { destroy(err?: Error): void },
  cap: number,
  hangUp: () => void,
  abort: Abort,
): Promise<CappedText> {
  abort.throwIfAborted();
  const decoder = new StringDecoder('utf8');
  let size = 0;
  let text = '';
  for await (const chunk of body) {
    abort.throwIfAborted();
    size += chunk.byteLength;
    if (size > cap) {
      text += decoder.end(chunk.subarray(0, chunk.byteLength - (size - cap)));
      body.destroy();
      hangUp();
      return { text, overflow: true };
    }
    text += decoder.write(chunk);
  }
  return { text: text + decoder.end(), overflow: false };
}

/** Stops a body mid-way: cancelling the stream tells fetch to drop it, aborting makes sure the socket closes. */
async function abandon(reader: ReadableStreamDefaultReader<Uint8Array> | undefined, hangUp: () => void): Promise<void> {
  await reader?.cancel().catch(() => undefined);
  hangUp();
}

/** What AbortSignal.timeout aborts with, so a timeout reads the same whichever way it was made. */
const timeoutError = () => new DOMException('The operation was aborted due to timeout', 'TimeoutError');

/** Shorter values are not treated as secrets: replacing them would mangle ordinary words in a cloud's text. */
const MIN_SECRET_LENGTH = 8;
export const REDACTED = '[redacted]';

/** The secrets a client holds: each header value, the credential after an auth scheme, and any named explicitly. */
export function secretsOf(headers: Record<string, string>, extra: readonly string[] = []): string[] {
  const found = new Set<string>();
  for (const value of [...Object.values(headers), ...extra]) {
    found.add(value);
    const credential = /^(?:Bearer|Token|Basic|ApiKey)\s+(\S.*)$/i.exec(value.trim())?.[1];
    if (credential) found.add(credential);
  }
  return [...found].filter((s) => s.length >= MIN_SECRET_LENGTH);
}

/** The forms a secret may take when a cloud echoes it: as sent, URL-encoded, JSON-escaped, base64 and base64url. */
function formsOf(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const b64 = bytes.toString('base64');
  const jsonEscaped = JSON.stringify(secret).slice(1, -1);
  return [secret, encodeURIComponent(secret), jsonEscaped, b64, b64.replace(/=+$/, ''), bytes.toString('base64url')];
}

/** `text` with every form of every secret replaced by `[redacted]`, longest first so no tail of one is left. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0 || text === '') return text;
  const forms = [...new Set(secrets.flatMap(formsOf))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const form of forms) out = out.split(form).join(REDACTED);
  return out;
}

/** "8 MiB", "64 KiB", "100 bytes": sizes as the user configured them. */
export function sizeText(bytes: number): string {
  const round = (n: number) => Math.round(n * 100) / 100;
  if (bytes >= MiB) return `${round(bytes / MiB)} MiB`;
  if (bytes >= KiB) return `${round(bytes / KiB)} KiB`;
  return `${bytes} bytes`;
}

function classify(
  status: number,
  idempotent: boolean,
  credentials?: string,
  retryAfterMs?: number,
): [ErrorCode, string] {
  const notResent = idempotent ? '' : ' The request was not re-sent, so nothing was duplicated.';
  if (status === 401 || status === 403)
    return ['PROVIDER_AUTH', `The cloud refused the credentials; check ${credentials ?? 'the API key'}.`];
  if (status === 404) return ['NOT_FOUND', 'Check the id with a list tool.'];
  if (status === 409)
    return ['CONFLICT', 'The resource is in a state that does not allow this; check it with get_instance.'];
  if (status === 400 || status === 422) return ['INVALID_INPUT', 'Fix the value the cloud names and call again.'];
  if (status === 429) {
    const after = retryAfterMs !== undefined ? `Retry after ${Math.ceil(retryAfterMs / 1000)}s.` : 'Retry in a minute.';
    return ['RATE_LIMITED', after + notResent];
  }
  if (status >= 500) return ['PROVIDER_UNAVAILABLE', 'The cloud is having trouble; try again in a minute.' + notResent];
  return ['PROVIDER_ERROR', 'Check the arguments and the resource state.' + notResent];
}

const clip = (s: string) => (s.length > MAX_ERROR_TEXT ? `${s.slice(0, MAX_ERROR_TEXT)}…` : s);

function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; cause?: { name?: string; code?: string } };
  return (
    e?.name === 'TimeoutError' ||
    e?.cause?.name === 'TimeoutError' ||
    e?.cause?.code === 'UND_ERR_CONNECT_TIMEOUT' ||
    e?.cause?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.cause?.code === 'UND_ERR_BODY_TIMEOUT'
  );
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
