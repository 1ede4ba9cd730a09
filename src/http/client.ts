/**
 * The only module that performs HTTP. Built on undici (an `Agent` with keep-alive and connect/header/body timeouts)
 * driven through the global `fetch`, so wire tests can intercept it with msw while behaviour tests talk to the
 * emulators over loopback. Every body is validated with zod here; every failure becomes a ComputeError.
 */
import { Agent, type Dispatcher } from 'undici';
import type { z } from 'zod';
import type { Logger } from 'pino';
import { ComputeError, type ErrorCode } from '../domain/errors.js';
import type { ProviderId } from '../domain/model.js';
import { DEFAULT_RETRY, RETRYABLE_STATUSES, backoffDelay, parseRetryAfter, sleep, type RetryPolicy } from './retry.js';

export interface HttpTimeouts {
  connectMs: number;
  /** Whole request, headers and body, per attempt. */
  requestMs: number;
}

export const DEFAULT_TIMEOUTS: HttpTimeouts = { connectMs: 5_000, requestMs: 30_000 };

export interface CloudErrorBody {
  code?: string;
  message?: string;
}

export interface HttpClientOptions {
  provider: ProviderId;
  baseUrl: string;
  /** Auth and other fixed headers; called per request so secrets live in one closure. */
  headers: () => Record<string, string>;
  /** Reads the cloud's error envelope (e.g. Genesis `{code,message}`). */
  parseError?: (body: unknown) => CloudErrorBody;
  /** Names the env var(s) to check on 401/403. */
  credentialsHint?: string;
  timeouts?: Partial<HttpTimeouts>;
  retry?: Partial<RetryPolicy>;
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

export interface HttpResponse<T> {
  status: number;
  data: T;
  headers: Headers;
}

const MAX_ERROR_TEXT = 300;

export class HttpClient {
  readonly provider: ProviderId;
  private readonly opts: HttpClientOptions;
  private readonly timeouts: HttpTimeouts;
  private readonly retry: RetryPolicy;
  private readonly dispatcher: Dispatcher;

  constructor(opts: HttpClientOptions) {
    this.opts = opts;
    this.provider = opts.provider;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.dispatcher =
      opts.dispatcher ??
      new Agent({
        connect: { timeout: this.timeouts.connectMs },
        headersTimeout: this.timeouts.requestMs,
        bodyTimeout: this.timeouts.requestMs,
        keepAliveTimeout: 10_000,
      });
  }

  async close(): Promise<void> {
    if (!this.opts.dispatcher) await this.dispatcher.close();
  }

  url(path: string, query?: RequestOptions<undefined>['query']): string {
    const u = new URL(this.opts.baseUrl.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  async request<S extends z.ZodType | undefined = undefined>(
    req: RequestOptions<S>,
  ): Promise<HttpResponse<S extends z.ZodType ? z.infer<S> : undefined>> {
    const idempotent = req.idempotent ?? req.method === 'GET';
    const maxAttempts = idempotent ? this.retry.maxAttempts : 1;
    const url = this.url(req.path, req.query);
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      let res: Response;
      try {
        res = await this.send(url, req);
      } catch (err) {
        if (req.signal?.aborted) throw new ComputeError('CANCELLED', 'The request was cancelled', { provider: this.provider, cause: err });
        const timedOut = isTimeout(err);
        this.opts.log?.debug({ provider: this.provider, method: req.method, path: req.path, attempt, err: describe(err) }, 'http error');
        if (attempt < maxAttempts) {
          await sleep(backoffDelay(attempt, this.retry), req.signal);
          continue;
        }
        throw new ComputeError(
          timedOut ? 'TIMEOUT' : 'PROVIDER_UNAVAILABLE',
          timedOut ? `${req.method} ${req.path} timed out` : `could not reach the cloud (${describe(err)})`,
          {
            provider: this.provider,
            hint: idempotent
              ? 'Try again in a minute.'
              : 'The request may have reached the cloud and was not re-sent; check list_instances before trying again.',
            cause: err,
          },
        );
      }
      this.opts.log?.debug(
        { provider: this.provider, method: req.method, path: req.path, status: res.status, ms: Date.now() - started, attempt },
        'http',
      );
      if (res.ok) return { status: res.status, data: await this.parseBody(res, req), headers: res.headers };

      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      if (idempotent && attempt < maxAttempts && RETRYABLE_STATUSES.has(res.status)) {
        const wait = retryAfterMs ?? backoffDelay(attempt, this.retry);
        if (wait <= this.retry.maxRetryAfterMs) {
          await res.body?.cancel().catch(() => undefined);
          await sleep(wait, req.signal);
          continue;
        }
      }
      throw await this.toError(res, req, idempotent, retryAfterMs);
    }
  }

  private send(url: string, req: RequestOptions<z.ZodType | undefined>): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeouts.requestMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json', ...this.opts.headers() };
    let body: string | undefined;
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.body);
    }
    const doFetch = this.opts.fetch ?? globalThis.fetch;
    // `dispatcher` is undici's extension to RequestInit; Node's global fetch honours it.
    const init = { method: req.method, headers, body, signal, dispatcher: this.dispatcher };
    return doFetch(url, init as unknown as RequestInit);
  }

  private async parseBody(res: Response, req: RequestOptions<z.ZodType | undefined>): Promise<never> {
    if (!req.schema) {
      await res.body?.cancel().catch(() => undefined);
      return undefined as never;
    }
    const text = await res.text();
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

  private badResponse(req: RequestOptions<z.ZodType | undefined>, why: string, raw: string): ComputeError {
    return new ComputeError('PROVIDER_BAD_RESPONSE', `unexpected answer to ${req.method} ${req.path}: ${why}`, {
      provider: this.provider,
      hint: req.method === 'GET' ? 'Try again; if it persists the cloud API may have changed.' : 'Check the resource with a read tool before trying again; the request was not re-sent.',
      internal: raw.slice(0, 2000),
    });
  }

  private async toError(res: Response, req: RequestOptions<z.ZodType | undefined>, idempotent: boolean, retryAfterMs?: number): Promise<ComputeError> {
    const text = await res.text().catch(() => '');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const cloud = body !== undefined && this.opts.parseError ? this.opts.parseError(body) : {};
    const cloudText = cloud.message ? `: ${clip(cloud.message)}` : '';
    const codeText = cloud.code ? ` (${clip(cloud.code)})` : '';
    const base = `${req.method} ${req.path} failed with HTTP ${res.status}${codeText}${cloudText}`;
    const [code, hint] = classify(res.status, idempotent, this.opts.credentialsHint, retryAfterMs);
    return new ComputeError(code, base, { provider: this.provider, hint, status: res.status, retryAfterMs, internal: text.slice(0, 2000) });
  }
}

function classify(status: number, idempotent: boolean, credentials?: string, retryAfterMs?: number): [ErrorCode, string] {
  const notResent = idempotent ? '' : ' The request was not re-sent, so nothing was duplicated.';
  if (status === 401 || status === 403)
    return ['PROVIDER_AUTH', `The cloud refused the credentials; check ${credentials ?? 'the API key'}.`];
  if (status === 404) return ['NOT_FOUND', 'Check the id with a list tool.'];
  if (status === 409) return ['CONFLICT', 'The resource is in a state that does not allow this; check it with get_instance.'];
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
