/** Several bearer tokens; a session belongs to the token that opened it, and is invisible to the others. */
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cleanupAfterEach, openRaw, raw, rpcError, startHttpCli } from './serve.js';

const A = 'team-a-token-0123456789';
const B = 'team-b-token-9876543210';
const PROTOCOL = { 'mcp-protocol-version': '2025-11-25' };
const LIST = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
const HTTP_ARGS = ['--emulate', '--http', '127.0.0.1:0'];

const { cleanup, killLater } = cleanupAfterEach();
beforeAll(assertBuilt);

async function connect(url: string, token: string) {
  const client = new Client({ name: 'tokens-e2e', version: '0' });
  const requestInit = { headers: { authorization: `Bearer ${token}` } };
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit });
  await client.connect(transport);
  cleanup(() => client.close());
  return { client, transport };
}

describe('COMPUTE_MCP_HTTP_TOKEN with several tokens', () => {
  it('accepts each listed token (blank entries ignored) and nothing else', async () => {
    const { url } = await startHttpCli(HTTP_ARGS, { COMPUTE_MCP_HTTP_TOKEN: ` ${A} , ,${B},` }, killLater);
    expect((await openRaw(url)).status).toBe(401);
    expect((await openRaw(url, { authorization: 'Bearer ' })).status).toBe(401);
    expect((await openRaw(url, { authorization: `Bearer ${A},${B}` })).status).toBe(401);
    expect((await openRaw(url, { authorization: `Bearer ${A}x` })).status).toBe(401);
    expect((await openRaw(url, { authorization: `Bearer ${A}` })).status).toBe(200);
    expect((await openRaw(url, { authorization: `Bearer ${B}` })).status).toBe(200);
  });

  it("answers another token on a session 404, as for an unknown session; the opener's token still works", async () => {
    const { url } = await startHttpCli(HTTP_ARGS, { COMPUTE_MCP_HTTP_TOKEN: `${A},${B}` }, killLater);
    const { client, transport } = await connect(url, A);
    const sid = transport.sessionId!;
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);

    const asB = { authorization: `Bearer ${B}`, ...PROTOCOL };
    const unknown = await raw(url, 'POST', { ...asB, 'mcp-session-id': randomUUID() }, LIST);
    expect(unknown.status).toBe(404);
    for (const [method, body] of [
      ['POST', LIST],
      ['GET', undefined],
      ['DELETE', undefined],
    ] as const) {
      const r = await raw(url, method, { ...asB, 'mcp-session-id': sid }, body);
      expect(r.status, `${method} with B`).toBe(404);
      expect(r.body, `${method} with B`).toBe(unknown.body);
    }
    expect(rpcError(unknown.body).error.message).toBe('Session not found: initialize again');

    // A's session survived B's DELETE and answers A.
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    const asA = await raw(url, 'POST', { authorization: `Bearer ${A}`, ...PROTOCOL, 'mcp-session-id': sid }, LIST);
    expect(asA.status).toBe(200);
    // A ends it; then it is gone for A too.
    await transport.terminateSession();
    const ended = await raw(url, 'POST', { authorization: `Bearer ${A}`, ...PROTOCOL, 'mcp-session-id': sid }, LIST);
    expect(ended.status).toBe(404);
  });
});
