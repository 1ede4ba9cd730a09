/**
 * The direct path of the HTTP transport (src/transport/session.ts): a plain request is answered as one
 * application/json response; a request that may send something before its answer (a progress token, a tool that may
 * ask the human) streams as before, and a direct one turns into a stream when it does send something or takes longer
 * than a second; sessions that end leave the table. The built CLI where the tools matter, the transport in-process
 * (with the real SDK Client) where a test needs a tool that does something particular mid-call.
 */
import { request } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { STREAM_AFTER_MS } from '../../src/transport/session.js';
import { startHttp } from '../../src/transport/http.js';
import { MCP_HEADERS, assertBuilt, cleanupAfterEach, openRaw, raw, rpcError, startHttpCli, until } from './serve.js';

const { cleanup, killLater } = cleanupAfterEach();
beforeAll(assertBuilt);

const PROTOCOL = '2025-11-25';
const rpc = (id: number, method: string, params?: unknown) => ({ jsonrpc: '2.0', id, method, params });

/** An initialized session of the raw client: its id, and a POST on it. */
async function session(url: string) {
  const { sid } = await openRaw(url);
  expect(sid).toBeTruthy();
  const headers = { 'mcp-session-id': sid!, 'mcp-protocol-version': PROTOCOL };
  expect((await raw(url, 'POST', headers, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
  return { sid: sid!, post: (body: unknown) => raw(url, 'POST', headers, body) };
}

/** The JSON-RPC messages of an SSE body, in order. */
const events = (body: string) =>
  body
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as { id?: number; method?: string; result?: { isError?: boolean } });

describe('a plain request over HTTP', () => {
  it('is answered as one application/json response with its length', async () => {
    const { url } = await startHttpCli(['--emulate', '--http', '127.0.0.1:0'], {}, killLater);
    const s = await session(url);
    for (const [id, method, params] of [
      [2, 'tools/call', { name: 'list_providers', arguments: {} }],
      [3, 'ping', undefined],
      [4, 'tools/list', {}],
    ] as const) {
      const r = await s.post(rpc(id, method, params));
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('application/json');
      expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
      expect(r.headers['mcp-session-id']).toBe(s.sid);
      const answer = JSON.parse(r.body) as { id: number; result: Record<string, unknown> };
      expect(answer).toMatchObject({ jsonrpc: '2.0', id });
      expect(answer.result).toBeTruthy();
    }
    const listed = JSON.parse((await s.post(rpc(5, 'tools/call', { name: 'list_providers' }))).body);
    expect(listed.result.structuredContent.items.length).toBeGreaterThan(0);
  });

  it('with a progress token, or naming a tool that may ask the human, is streamed (SSE) as before', async () => {
    const { url } = await startHttpCli(['--emulate', '--http', '127.0.0.1:0'], {}, killLater);
    const s = await session(url);
    const withToken = await s.post(
      rpc(2, 'tools/call', { name: 'list_providers', arguments: {}, _meta: { progressToken: 'p1' } }),
    );
    const dryRun = await s.post(
      rpc(3, 'tools/call', {
        name: 'create_vm',
        arguments: { provider: 'genesiscloud', instance_type: 'vcpu-2_memory-4g_disk-80g', dry_run: true },
      }),
    );
    for (const [r, id] of [
      [withToken, 2],
      [dryRun, 3],
    ] as const) {
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/event-stream');
      expect(events(r.body).at(-1)).toMatchObject({ id, result: {} });
    }
  });

  it('that the SDK would refuse is still refused by the SDK, in its words', async () => {
    const { url } = await startHttpCli(['--emulate', '--http', '127.0.0.1:0'], {}, killLater);
    const s = await session(url);
    const headers = { 'mcp-session-id': s.sid };
    const badVersion = await raw(url, 'POST', { ...headers, 'mcp-protocol-version': '1999-01-01' }, rpc(2, 'ping'));
    expect(badVersion.status).toBe(400);
    expect(rpcError(badVersion.body).error.message).toMatch(/Unsupported protocol version/);
    const jsonOnly = await raw(url, 'POST', { ...headers, accept: 'application/json' }, rpc(3, 'ping'));
    expect(jsonOnly.status).toBe(406);
    const notJsonRpc = await s.post({ jsonrpc: '1.0', id: 4, method: 'ping' });
    expect(notJsonRpc.status).toBe(400);
  });
});

describe('sessions that end', () => {
  it('leave the table: the open count goes back to 0 and their ids answer 404', async () => {
    const cli = await startHttpCli(['--emulate', '--http', '127.0.0.1:0'], { LOG_LEVEL: 'info' }, killLater);
    const opened = await Promise.all([1, 2, 3].map(() => session(cli.url)));
    for (const s of opened) expect((await s.post(rpc(2, 'ping'))).status).toBe(200);
    const counts = () => [...cli.stderr().matchAll(/"open":(\d+)[^\n]*"msg":"http session (opened|closed)"/g)];
    expect(
      counts()
        .filter((m) => m[2] === 'opened')
        .map((m) => Number(m[1])),
    ).toEqual([1, 2, 3]);
    for (const s of opened)
      expect((await raw(cli.url, 'DELETE', { 'mcp-session-id': s.sid, 'mcp-protocol-version': PROTOCOL })).status).toBe(
        200,
      );
    await until(() => counts().filter((m) => m[2] === 'closed').length === 3, 'three "http session closed" lines');
    expect(counts().at(-1)?.[1]).toBe('0');
    for (const s of opened) expect((await s.post(rpc(3, 'ping'))).status).toBe(404);
  });
});

describe('a direct request that does not answer at once', () => {
  /** The HTTP transport in-process, on a server whose tools are the test's: a read tool name is on the direct path. */
  async function serve(register: (server: McpServer) => void) {
    const running = await startHttp({
      host: '127.0.0.1',
      port: 0,
      log: createLogger({ level: 'silent' }),
      makeServer: () => {
        const server = new McpServer({ name: 'probe', version: '0' }, { capabilities: { logging: {} } });
        register(server);
        return server;
      },
    });
    cleanup(() => running.close());
    return running.url;
  }

  /** A server whose tool `wait` keeps each call's signal and answers once it is aborted. */
  const waitingServer = (signals: AbortSignal[]) =>
    serve((server) =>
      server.registerTool('wait', { description: 'waits to be stopped' }, async (extra) => {
        signals.push(extra.signal);
        await new Promise((r) => extra.signal.addEventListener('abort', r, { once: true }));
        return { content: [] };
      }),
    );

  /** A POST whose headers are seen as soon as they arrive, before its body ends. */
  function post(url: string, headers: Record<string, string>, body: unknown) {
    const u = new URL(url);
    return new Promise<{ status: number; type?: string; body: Promise<string> }>((resolve, reject) => {
      const r = request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...MCP_HEADERS, ...headers } },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += String(d)));
          const body = new Promise<string>((done) => res.on('end', () => done(text)));
          resolve({ status: res.statusCode!, type: res.headers['content-type'], body });
        },
      );
      r.on('error', reject);
      r.end(JSON.stringify(body));
    });
  }

  it('becomes a stream when the server sends something about it first, and the client sees it', async () => {
    const url = await serve((server) =>
      server.registerTool('probe', { description: 'notifies, then answers' }, async (extra) => {
        await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: 'working' } });
        return { content: [{ type: 'text', text: 'done' }] };
      }),
    );
    const s = await session(url);
    const r = await s.post(rpc(2, 'tools/call', { name: 'probe', arguments: {} }));
    expect(r.headers['content-type']).toBe('text/event-stream');
    expect(events(r.body).map((m) => m.method ?? m.id)).toEqual(['notifications/message', 2]);

    // The SDK client takes the same stream: the notification, then the result.
    const client = new Client({ name: 'fastpath', version: '0' });
    const seen: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void seen.push(n.params.data));
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    cleanup(() => client.close());
    const result = await client.callTool({ name: 'probe', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'done' }]);
    expect(seen).toEqual(['working']);
  });

  it(`sends its headers as a stream after ${STREAM_AFTER_MS} ms, then the answer when it comes`, async () => {
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    let started = false;
    const url = await serve((server) =>
      server.registerTool('slow', { description: 'answers when the test says so' }, async () => {
        started = true;
        await finished;
        return { content: [{ type: 'text', text: 'late' }] };
      }),
    );
    const s = await session(url);
    const pending = post(
      url,
      { 'mcp-session-id': s.sid, 'mcp-protocol-version': PROTOCOL },
      rpc(2, 'tools/call', { name: 'slow' }),
    );
    await until(() => started, 'the tool to start');
    // The headers arrive while the tool is still waiting: the response has become a stream.
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/event-stream');
    finish();
    expect(events(await r.body)).toMatchObject([{ id: 2, result: { content: [{ type: 'text', text: 'late' }] } }]);
  });

  it('whose session is deleted before it answers gets 404, as any request on a closed session', async () => {
    let started = false;
    const url = await serve((server) =>
      server.registerTool('hang', { description: 'never answers' }, async () => {
        started = true;
        return new Promise<never>(() => undefined);
      }),
    );
    const s = await session(url);
    const headers = { 'mcp-session-id': s.sid, 'mcp-protocol-version': PROTOCOL };
    const pending = raw(url, 'POST', headers, rpc(2, 'tools/call', { name: 'hang' }));
    await until(() => started, 'the tool to start');
    expect((await raw(url, 'DELETE', headers)).status).toBe(200);
    const r = await pending;
    // Within a second it had not become a stream yet: a JSON 404; later, a stream that ends without an answer.
    if (r.headers['content-type'] === 'application/json') {
      expect(r.status).toBe(404);
      expect(rpcError(r.body)).toMatchObject({ id: 2, error: { code: -32001 } });
    } else {
      expect(events(r.body)).toEqual([]);
    }
  });
  it('is cancelled by notifications/cancelled: its handler is told why, and the response ends with no answer', async () => {
    const signals: AbortSignal[] = [];
    const url = await serve((server) =>
      server.registerTool('wait', { description: 'waits to be cancelled, or answers at once' }, async (extra) => {
        signals.push(extra.signal);
        if (signals.length === 1) await new Promise((r) => extra.signal.addEventListener('abort', r, { once: true }));
        return { content: [{ type: 'text', text: 'done' }] };
      }),
    );
    const s = await session(url);
    const headers = { 'mcp-session-id': s.sid, 'mcp-protocol-version': PROTOCOL };
    const pending = raw(url, 'POST', headers, rpc(2, 'tools/call', { name: 'wait' }));
    await until(() => signals.length === 1, 'the tool to start');
    const cancel = {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 2, reason: 'not needed' },
    };
    expect((await s.post(cancel)).status).toBe(202);
    const r = await pending;
    expect(r.headers['content-type']).toBe('text/event-stream');
    expect(events(r.body)).toEqual([]);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBe('not needed');
    // The session goes on, and the next request's signal is a fresh one: an aborted signal is never handed out again.
    const next = await s.post(rpc(3, 'tools/call', { name: 'wait' }));
    expect(JSON.parse(next.body)).toMatchObject({ id: 3, result: { content: [{ text: 'done' }] } });
    expect(signals[1]).not.toBe(signals[0]);
    expect(signals[1]!.aborted).toBe(false);
    // A cancellation naming a request that is not running (or another session's) changes nothing.
    expect((await s.post({ ...cancel, params: { requestId: 3 } })).status).toBe(202);
    expect(signals[1]!.aborted).toBe(false);
  });

  it("answers a handler's error as the SDK would: its code, message and data, or -32603", async () => {
    const url = await serve((server) => {
      server.server.registerCapabilities({ resources: {} });
      server.server.setRequestHandler(ListResourcesRequestSchema, () => {
        throw new McpError(-32042, 'not here', { why: 'a test' });
      });
      server.server.setRequestHandler(ListResourceTemplatesRequestSchema, () => {
        throw new Error('broke');
      });
    });
    const s = await session(url);
    const known = await s.post(rpc(2, 'resources/list', {}));
    expect(known.headers['content-type']).toBe('application/json');
    expect(JSON.parse(known.body)).toEqual({
      jsonrpc: '2.0',
      id: 2,
      error: { code: -32042, message: 'MCP error -32042: not here', data: { why: 'a test' } },
    });
    expect(JSON.parse((await s.post(rpc(3, 'resources/templates/list', {}))).body)).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: { code: -32603, message: 'broke' },
    });
  });

  it("hands a request's AbortSignal to the next only when it ended unaborted, with no listener left, in its session", async () => {
    const signals: AbortSignal[] = [];
    const url = await serve((server) => {
      server.registerTool('tidy', { description: 'listens, then stops listening' }, async (extra) => {
        signals.push(extra.signal);
        const listener = () => undefined;
        extra.signal.addEventListener('abort', listener);
        extra.signal.removeEventListener('abort', listener);
        return { content: [] };
      });
      server.registerTool('leaves_a_listener', { description: 'listens after it answered' }, async (extra) => {
        signals.push(extra.signal);
        extra.signal.addEventListener('abort', () => undefined);
        return { content: [] };
      });
    });
    const [a, b] = [await session(url), await session(url)];
    await a.post(rpc(2, 'tools/call', { name: 'tidy' }));
    await a.post(rpc(3, 'tools/call', { name: 'tidy' }));
    expect(signals[1]).toBe(signals[0]);
    await a.post(rpc(4, 'tools/call', { name: 'leaves_a_listener' }));
    await a.post(rpc(5, 'tools/call', { name: 'tidy' }));
    expect(signals[3]).not.toBe(signals[2]);
    // Another session never gets one of this session's.
    await b.post(rpc(2, 'tools/call', { name: 'tidy' }));
    expect(signals.slice(0, 4)).not.toContain(signals[4]);
  });

  it('is still stopped by a cancellation or by closing its session after its client went away', async () => {
    const signals: AbortSignal[] = [];
    const url = await waitingServer(signals);
    const s = await session(url);
    const headers = { 'mcp-session-id': s.sid, 'mcp-protocol-version': PROTOCOL };
    /** A POST whose connection is dropped once its handler has started. */
    const dropped = async (id: number) => {
      const u = new URL(url);
      const r = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { ...MCP_HEADERS, ...headers },
      });
      r.on('error', () => undefined);
      r.end(JSON.stringify(rpc(id, 'tools/call', { name: 'wait' })));
      await until(() => signals.length === id - 1, 'the tool to start');
      r.destroy();
    };
    await dropped(2);
    expect(signals[0]!.aborted).toBe(false);
    await s.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 2, reason: 'gone' } });
    await until(() => signals[0]!.aborted || undefined, 'the cancellation to reach the handler');
    expect(signals[0]!.reason).toBe('gone');

    await dropped(3);
    expect((await raw(url, 'DELETE', headers)).status).toBe(200);
    await until(() => signals[1]!.aborted || undefined, 'the close to reach the handler');
  });

  it('answers each of two requests with the same id on its own response, as the SDK does', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const url = await serve((server) => {
      server.registerTool('slow', { description: 'answers when released' }, async () => {
        await released;
        return { content: [{ type: 'text', text: 'slow' }] };
      });
      server.registerTool('fast', { description: 'answers at once' }, async () => ({
        content: [{ type: 'text', text: 'fast' }],
      }));
    });
    const s = await session(url);
    const first = s.post(rpc(2, 'tools/call', { name: 'slow' }));
    await new Promise((r) => setTimeout(r, 50));
    // The same id while the first is running: the SDK's transport takes it (a stream), and its answer goes there.
    const second = await s.post(rpc(2, 'tools/call', { name: 'fast' }));
    expect(events(second.body)).toMatchObject([{ id: 2, result: { content: [{ text: 'fast' }] } }]);
    release();
    expect(JSON.parse((await first).body)).toMatchObject({ id: 2, result: { content: [{ text: 'slow' }] } });
  });

  it('answers what cannot be written as JSON, or an odd throw, with -32603 instead of leaving it open', async () => {
    const url = await serve((server) => {
      server.server.registerCapabilities({ resources: {} });
      server.server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: [], size: 1n }) as never);
      server.server.setRequestHandler(ListResourceTemplatesRequestSchema, () => {
        throw Object.create(null, {
          code: {
            get() {
              throw new Error('a getter that throws');
            },
          },
          message: { value: { not: 'a string' } },
        });
      });
    });
    const s = await session(url);
    const unwritable = await s.post(rpc(2, 'resources/list', {}));
    expect(rpcError(unwritable.body)).toMatchObject({ id: 2, error: { code: -32603 } });
    const odd = await s.post(rpc(3, 'resources/templates/list', {}));
    expect(JSON.parse(odd.body)).toEqual({ jsonrpc: '2.0', id: 3, error: { code: -32603, message: 'Internal error' } });
  });
  it('is cancelled when the cancellation names id 0 or "" (which the SDK alone would ignore)', async () => {
    const signals = new Map<unknown, AbortSignal>();
    const url = await serve((server) =>
      server.registerTool('wait', { description: 'waits to be cancelled' }, async (extra) => {
        signals.set(extra.requestId, extra.signal);
        await new Promise((r) => extra.signal.addEventListener('abort', r, { once: true }));
        return { content: [] };
      }),
    );
    const s = await session(url);
    for (const id of [0, ''] as const) {
      const pending = s.post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'wait' } });
      await until(() => signals.get(id), `request ${JSON.stringify(id)} to start`);
      await s.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id } });
      expect(events((await pending).body)).toEqual([]);
      expect(signals.get(id)!.aborted).toBe(true);
    }
  });

  it('leaves an id still running to the SDK, and closing the session stops both requests of that id', async () => {
    const signals: AbortSignal[] = [];
    const url = await waitingServer(signals);
    const s = await session(url);
    const headers = { 'mcp-session-id': s.sid, 'mcp-protocol-version': PROTOCOL };
    const first = raw(url, 'POST', headers, rpc(2, 'tools/call', { name: 'wait' }));
    await until(() => signals.length === 1 || undefined, 'the first to start');
    const second = post(url, headers, rpc(2, 'tools/call', { name: 'wait' }));
    await until(() => signals.length === 2 || undefined, 'the second to start');
    expect((await second).type).toBe('text/event-stream'); // the SDK's transport took it
    expect((await raw(url, 'DELETE', headers)).status).toBe(200);
    await until(() => (signals.every((x) => x.aborted) ? true : undefined), 'both to be stopped');
    await first;
  });
});
