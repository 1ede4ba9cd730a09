/**
 * HttpClient against a scripted fetch: the size caps (what is pulled from a body, and that the rest is abandoned),
 * the request timeout on a body that never ends, and the scrubbing of secrets from everything a cloud sends back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ComputeError } from '../../src/domain/errors.js';
import { HttpClient, redactSecrets, secretsOf, sizeText, type HttpClientOptions } from '../../src/http/client.js';
import { memoryLogger } from '../helpers/logsink.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const KEY = 'gc_unit_0a1b2c3d4e5f6789';
const PIECE = 16 * KiB;
const List = z.object({ items: z.array(z.string()) });

interface Pulled {
  bytes: number;
  cancelled: boolean;
}

/** A body of `total` bytes made only as it is read, counting what was pulled and whether it was cancelled. */
function lazyBody(total: number, prefix = ''): { body: ReadableStream<Uint8Array>; pulled: Pulled } {
  const pulled: Pulled = { bytes: 0, cancelled: false };
  const head = new TextEncoder().encode(prefix);
  const filler = new Uint8Array(PIECE).fill(0x78);
  const body = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (pulled.bytes >= total) return c.close();
        const first = pulled.bytes === 0 && head.length > 0;
        const next = first ? head : filler.subarray(0, Math.min(PIECE, total - pulled.bytes));
        pulled.bytes += next.byteLength;
        c.enqueue(next.slice());
      },
      cancel() {
        pulled.cancelled = true;
      },
    },
    // Nothing is produced ahead of a read, so `pulled` is exactly what the client asked for.
    { highWaterMark: 0 },
  );
  return { body, pulled };
}

/** A body that sends nothing, ever: only a timeout or a cancel can end a read of it. */
function silentBody(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({ pull: () => new Promise<void>(() => undefined) }, { highWaterMark: 0 });
}

/** A fetch that answers each call with the next response, keeping each call's signal. */
function scripted(...answers: (() => Response)[]) {
  const signals: AbortSignal[] = [];
  const fetch = (async (_url: string, init: RequestInit) => {
    signals.push(init.signal!);
    const next = answers[Math.min(signals.length, answers.length) - 1]!;
    return next();
  }) as unknown as typeof globalThis.fetch;
  return { fetch, signals, calls: () => signals.length };
}

const clients: HttpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function client(fetch: typeof globalThis.fetch, opts: Partial<HttpClientOptions> = {}): HttpClient {
  const c = new HttpClient({
    provider: 'genesiscloud',
    baseUrl: 'https://cloud.test',
    headers: () => ({ authorization: `Bearer ${KEY}` }),
    parseError: (b) => b as { code?: string; message?: string },
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 2 },
    fetch,
    ...opts,
  });
  clients.push(c);
  return c;
}

/** The ComputeError a request fails with. */
async function failure(p: Promise<unknown>): Promise<ComputeError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ComputeError);
  return e as ComputeError;
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers });

describe('size cap', () => {
  it('a success body past the cap is abandoned: no more than the cap is pulled, the request aborted', async () => {
    const { body, pulled } = lazyBody(64 * MiB);
    const f = scripted(() => new Response(body, { status: 200 }));
    const c = client(f.fetch, { maxResponseBytes: MiB });
    const e = await failure(c.request({ method: 'GET', path: '/l', schema: List }));
    expect(e.code).toBe('PROVIDER_BAD_RESPONSE');
    expect(e.message).toBe('unexpected answer to GET /l: the answer was larger than 1 MiB, so it was not read');
    expect(e.hint).toMatch(/smaller `limit`.*misbehaving/);
    expect(pulled.bytes).toBeLessThanOrEqual(MiB + PIECE);
    expect(pulled.cancelled).toBe(true);
    expect(f.signals[0]!.aborted).toBe(true);
    expect(f.calls()).toBe(1);
  });

  it('a Content-Length over the cap is refused before a byte of the body is read', async () => {
    const { body, pulled } = lazyBody(64 * MiB);
    const f = scripted(() => new Response(body, { status: 200, headers: { 'content-length': String(64 * MiB) } }));
    const e = await failure(client(f.fetch).request({ method: 'GET', path: '/l', schema: List }));
    expect(e.message).toMatch(/larger than 8 MiB/);
    expect(pulled.bytes).toBe(0);
    expect(pulled.cancelled).toBe(true);
  });

  it('a body of exactly the cap is read and validated', async () => {
    const text = JSON.stringify({ items: ['a'.repeat(100)] });
    const f = scripted(() => json(text));
    const c = client(f.fetch, { maxResponseBytes: text.length });
    const r = await c.request({ method: 'GET', path: '/l', schema: List });
    expect(r.data.items[0]).toHaveLength(100);
  });

  it('a too large answer to a create says the request was not re-sent', async () => {
    const { body } = lazyBody(2 * MiB);
    const f = scripted(() => new Response(body, { status: 201 }));
    const c = client(f.fetch, { maxResponseBytes: MiB, retry: { maxAttempts: 4 } });
    const e = await failure(c.request({ method: 'POST', path: '/i', body: {}, schema: List, idempotent: false }));
    expect(e.message).toMatch(/larger than 1 MiB/);
    expect(e.hint).toMatch(/not re-sent/);
    expect(f.calls()).toBe(1);
  });

  it('an error body is read up to the error cap only; the status still classifies it', async () => {
    const { body, pulled } = lazyBody(64 * MiB, '{"message":"');
    const f = scripted(() => new Response(body, { status: 500 }));
    const e = await failure(client(f.fetch).request({ method: 'GET', path: '/l', schema: List }));
    expect(e.code).toBe('PROVIDER_UNAVAILABLE');
    expect(e.message).toBe('GET /l failed with HTTP 500');
    expect(pulled.bytes).toBeLessThanOrEqual(64 * KiB + PIECE);
    expect(pulled.cancelled).toBe(true);
    expect(String(e.internal)).toMatch(/\[cut at 64 KiB\]$/);
  });
});

describe('request timeout on the body', () => {
  it('a read whose body never ends times out after requestMs, on every attempt', async () => {
    const f = scripted(() => new Response(silentBody(), { status: 200 }));
    const retry = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 };
    const c = client(f.fetch, { timeouts: { requestMs: 50 }, retry });
    const started = Date.now();
    const e = await failure(c.request({ method: 'GET', path: '/l', schema: List }));
    expect(e.code).toBe('TIMEOUT');
    expect(e.message).toBe('GET /l timed out');
    expect(f.calls()).toBe(2);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a create whose answer never ends times out once and is not re-sent', async () => {
    const f = scripted(() => new Response(silentBody(), { status: 201 }));
    const c = client(f.fetch, { timeouts: { requestMs: 50 }, retry: { maxAttempts: 4 } });
    const e = await failure(c.request({ method: 'POST', path: '/i', body: {}, schema: List, idempotent: false }));
    expect(e.code).toBe('TIMEOUT');
    expect(e.hint).toMatch(/may have reached the cloud and was not re-sent/);
    expect(f.calls()).toBe(1);
  });

  it('a caller that cancels mid-body gets CANCELLED, not a timeout', async () => {
    const f = scripted(() => new Response(silentBody(), { status: 200 }));
    const ac = new AbortController();
    const pending = client(f.fetch).request({ method: 'GET', path: '/l', schema: List, signal: ac.signal });
    setImmediate(() => ac.abort());
    expect((await failure(pending)).code).toBe('CANCELLED');
  });
});

describe('secrets in what a cloud sends back', () => {
  const b64 = Buffer.from(KEY).toString('base64');

  it('an error message echoing the key in any form is scrubbed from the message and the internal text', async () => {
    const message = `bad token ${KEY} / Bearer ${KEY} / ${encodeURIComponent(`Bearer ${KEY}`)} / ${b64}`;
    const f = scripted(() => json({ code: 'bad', message }, 400));
    const e = await failure(client(f.fetch).request({ method: 'GET', path: '/l', schema: List }));
    const scrubbed = 'bad token [redacted] / [redacted] / [redacted] / [redacted]';
    expect(e.message).toBe(`GET /l failed with HTTP 400 (bad): ${scrubbed}`);
    expect(`${e.message} ${String(e.internal)} ${e.hint}`).not.toContain(KEY);
    expect(String(e.internal)).not.toContain(b64);
  });

  it('a key spelled with JSON escapes is scrubbed once the envelope is parsed', async () => {
    const escaped = [...KEY].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    const f = scripted(() => json(`{"code":"bad","message":"token ${escaped}"}`, 401));
    const e = await failure(client(f.fetch).request({ method: 'GET', path: '/l', schema: List }));
    expect(e.message).toBe('GET /l failed with HTTP 401 (bad): token [redacted]');
  });

  it('a 200 that is not JSON, or not the format, keeps its raw text for the log, scrubbed', async () => {
    for (const body of [`<html>${KEY}</html>`, JSON.stringify({ items: KEY })]) {
      const f = scripted(() => json(body));
      const e = await failure(client(f.fetch).request({ method: 'GET', path: '/l', schema: List }));
      expect(e.code).toBe('PROVIDER_BAD_RESPONSE');
      expect(String(e.internal)).toContain('[redacted]');
      expect(`${e.message} ${String(e.internal)}`).not.toContain(KEY);
    }
  });

  it('a transport error naming the key is scrubbed in the error and in the debug log', async () => {
    const { log, lines } = memoryLogger();
    const fetch = (async () => {
      throw new TypeError('fetch failed', { cause: new Error(`connect to https://${KEY}@cloud.test refused`) });
    }) as unknown as typeof globalThis.fetch;
    const e = await failure(client(fetch, { log }).request({ method: 'GET', path: '/l', schema: List }));
    expect(e.code).toBe('PROVIDER_UNAVAILABLE');
    expect(e.message).toBe('could not reach the cloud (connect to https://[redacted]@cloud.test refused)');
    expect(lines.join('\n')).toContain('[redacted]');
    expect(lines.join('\n')).not.toContain(KEY);
  });

  it('a secret named in `secrets` but sent in no header is scrubbed too', async () => {
    const project = 'proj_secret_41f0c9';
    const f = scripted(() => json({ message: `no project ${project}` }, 404));
    const c = client(f.fetch, { secrets: [project] });
    const e = await failure(c.request({ method: 'GET', path: '/l', schema: List }));
    expect(e.message).toBe('GET /l failed with HTTP 404: no project [redacted]');
  });
});

describe('secretsOf and redactSecrets', () => {
  it('takes whole header values and the credential after an auth scheme, ignoring values too short to be keys', () => {
    const headers = { authorization: `Bearer ${KEY}`, 'x-api-key': 'k'.repeat(20), 'x-region': 'eu' };
    const found = secretsOf(headers, ['Token abcdefgh12']);
    expect(found.sort()).toEqual([`Bearer ${KEY}`, KEY, 'Token abcdefgh12', 'abcdefgh12', 'k'.repeat(20)].sort());
  });

  it('replaces the longest form first, so no tail of a longer secret is left behind', () => {
    const out = redactSecrets(`Bearer ${KEY}. ${encodeURIComponent(`Bearer ${KEY}`)}`, [KEY, `Bearer ${KEY}`]);
    expect(out).toBe('[redacted]. [redacted]');
  });

  it('leaves text alone when there are no secrets', () => {
    expect(redactSecrets('nothing here', [])).toBe('nothing here');
  });

  it('names sizes the way they were configured', () => {
    const sizes = [8 * MiB, 64 * KiB, 1536 * KiB, 100].map(sizeText);
    expect(sizes).toEqual(['8 MiB', '64 KiB', '1.5 MiB', '100 bytes']);
  });
});
