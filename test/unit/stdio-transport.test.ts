/**
 * The stdio transport checks lines by hand instead of with the SDK's zod schemas: it must sort every message exactly
 * as the SDK would (request, notification, response, or refused), on a corpus of well-formed and hostile messages,
 * and hand each kind to the server's entry for it.
 */
import { PassThrough } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  JSONRPCMessageSchema,
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
} from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, vi } from 'vitest';
import { LineLimit } from '../../src/transport/body.js';
import { StdioTransport, kindOf, type Kind } from '../../src/transport/stdio.js';

const sdkKind = (m: unknown): Kind => {
  if (!JSONRPCMessageSchema.safeParse(m).success) return 'invalid';
  if (isJSONRPCResultResponse(m) || isJSONRPCErrorResponse(m)) return 'response';
  if (isJSONRPCRequest(m)) return 'request';
  if (isJSONRPCNotification(m)) return 'notification';
  return 'invalid';
};

/** Every combination of a few values per field, plus stray keys: thousands of messages, most of them malformed. */
function corpus(): unknown[] {
  const ids = [undefined, 1, 0, -7, 1.5, 2 ** 53, 'a', '', null, true, {}, []];
  const methods = [undefined, 'tools/list', '', 7, null];
  const objects = [
    undefined,
    {},
    { x: 1 },
    null,
    [],
    'p',
    { _meta: {} },
    { _meta: null },
    { _meta: [] },
    { _meta: { progressToken: 'p' } },
    { _meta: { progressToken: 3 } },
    { _meta: { progressToken: 3.5 } },
    { _meta: { progressToken: null } },
    { _meta: { progressToken: 2 ** 60 } },
    { _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't' } } },
    { _meta: { 'io.modelcontextprotocol/related-task': { taskId: 1 } } },
    { _meta: { 'io.modelcontextprotocol/related-task': null } },
    { _meta: { other: 1 } },
  ];
  const errors = [
    undefined,
    { code: -32600, message: 'm' },
    { code: -32600, message: 'm', data: { a: 1 } },
    { code: 1.5, message: 'm' },
    { code: -1 },
    { message: 'm' },
    { code: 2 ** 60, message: 'm' },
    null,
    'e',
  ];
  const out: unknown[] = [null, 1, 'x', [], [{ jsonrpc: '2.0', method: 'a' }], {}];
  for (const jsonrpc of ['2.0', '1.0', undefined])
    for (const id of ids)
      for (const method of methods) {
        for (const params of objects) out.push(strip({ jsonrpc, id, method, params }));
        for (const result of objects) out.push(strip({ jsonrpc, id, method, result }));
        for (const error of errors) out.push(strip({ jsonrpc, id, method, error }));
      }
  const base = [
    { jsonrpc: '2.0', id: 1, method: 'm' },
    { jsonrpc: '2.0', method: 'm' },
    { jsonrpc: '2.0', id: 1, result: {} },
    { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'm' } },
    { jsonrpc: '2.0', error: { code: 1, message: 'm' } },
  ];
  for (const b of base)
    for (const stray of ['extra', 'params', 'result', 'error', 'id', '__proto__', 'constructor']) {
      out.push(b, JSON.parse(JSON.stringify({ ...b, [stray]: {} }).replace('"extra"', `"${stray}"`)));
    }
  return out;
}
/** As JSON would carry it: no undefined members. */
const strip = (o: object) => JSON.parse(JSON.stringify(o)) as unknown;

describe('the stdio transport', () => {
  it('sorts every message of the corpus exactly as the SDK schemas do', () => {
    const all = corpus();
    expect(all.length).toBeGreaterThan(5_000);
    const counts: Record<Kind, number> = { request: 0, notification: 0, response: 0, invalid: 0 };
    for (const m of all) {
      const kind = kindOf(m);
      counts[kind]++;
      if (kind !== sdkKind(m)) expect({ message: m, kind }).toEqual({ message: m, kind: sdkKind(m) });
    }
    // The corpus reaches every kind, not only refusals.
    for (const k of Object.values(counts)) expect(k).toBeGreaterThan(20);
  });

  it("hands each kind to the server's own entry, and answers a line that is no message with an error", async () => {
    const input = new PassThrough();
    const lines = input.pipe(new LineLimit(1 << 20, () => undefined));
    const output = new PassThrough();
    const written: unknown[] = [];
    output.on('data', (d: Buffer) => {
      for (const l of String(d).split('\n').filter(Boolean)) written.push(JSON.parse(l));
    });
    const refused: string[] = [];
    const transport = new StdioTransport(lines, output, (why) => refused.push(why));
    const server = new McpServer({ name: 't', version: '0' }, { capabilities: { tools: {} } });
    await server.connect(transport);
    transport.deliverTo(server);
    const seen: string[] = [];
    transport.onmessage = () => seen.push('onmessage'); // not used once the entries are known
    const errors: Error[] = [];
    transport.onerror = (e) => errors.push(e);
    const send = (line: string) => input.write(`${line}\n`);
    send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '0' } },
      }),
    );
    send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
    send('{"jsonrpc":"2.0","id":2,"method":"ping"}');
    send('not json');
    send('{"jsonrpc":"2.0","id":3,"method":"ping","extra":1}');
    send('{"jsonrpc":"2.0","id":9,"result":{}}'); // an answer to nothing: dropped by the server, no reply
    send('{"jsonrpc":"2.0","id":4,"method":"no/such"}');
    send('   '); // blank: skipped, no answer
    // An answer to nothing, nested deeper than the server's error message can be written: that message's error, not
    // the process's (the server then still answers the ping after it).
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    send(`{"jsonrpc":"2.0","id":777,"result":{"a":${deep}}}`);
    send(`{"jsonrpc":"2.0","id":778,"error":{"code":1,"message":"m","data":${deep}}}`);
    send('{"jsonrpc":"2.0","id":5,"method":"ping"}');
    await vi.waitFor(() => expect(written.length).toBeGreaterThanOrEqual(6));
    expect(seen).toEqual([]);
    // Refusals go out at once, answers when the server has them: the order is not the lines'.
    expect(written).toHaveLength(6);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(written).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: 1,
          result: expect.objectContaining({ serverInfo: { name: 't', version: '0' } }),
        }),
        { jsonrpc: '2.0', id: 2, result: {} },
        { jsonrpc: '2.0', error: { code: -32700, message: expect.stringMatching(/^Parse error/) } },
        { jsonrpc: '2.0', error: { code: -32600, message: expect.stringMatching(/^Invalid Request/) } },
        { jsonrpc: '2.0', id: 4, error: expect.objectContaining({ code: -32601 }) },
        { jsonrpc: '2.0', id: 5, result: {} },
      ]),
    );
    expect(refused).toHaveLength(2);
    await server.close();
  });
});
