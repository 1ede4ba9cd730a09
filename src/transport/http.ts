/**
 * Streamable HTTP at /mcp with stateful sessions (so elicitation and progress work), on 127.0.0.1 unless told
 * otherwise. Every request passes, in order: the Host check and the Origin check (DNS-rebinding protection), the
 * bearer token when one is required, the body size bound; then the session's transport handles it.
 * A non-loopback bind refuses to start without COMPUTE_MCP_HTTP_TOKEN.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';
import { readBody } from './body.js';

export const MCP_PATH = '/mcp';
export const MAX_BODY_BYTES = 1024 * 1024;
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export interface HttpOptions {
  host: string;
  port: number;
  /** Required off loopback; optional on it. */
  token?: string;
  makeServer: () => McpServer;
  log: Logger;
  maxBodyBytes?: number;
}

export interface RunningHttp {
  url: string;
  sessions(): number;
  close(): Promise<void>;
}

export class HttpConfigError extends Error {}

export const isLoopback = (host: string) => LOOPBACK_NAMES.has(host) || /^127\./.test(host);

/** `[HOST:]PORT` → host and port; the host defaults to 127.0.0.1. */
export function parseListen(spec: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(spec.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new HttpConfigError(`--http takes [HOST:]PORT, e.g. 3000 or 127.0.0.1:3000 (got ${JSON.stringify(spec)})`);
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
}

export async function startHttp(opts: HttpOptions): Promise<RunningHttp> {
  const loopback = isLoopback(opts.host);
  if (!loopback && !opts.token)
    throw new HttpConfigError(`refusing to listen on ${opts.host} without COMPUTE_MCP_HTTP_TOKEN: off loopback every request must carry a bearer token`);
  const expected = opts.token ? digest(opts.token) : undefined;
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();

  const http: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      opts.log.error({ err }, 'http request failed');
      if (!res.headersSent) reply(res, 500, -32603, 'Internal error');
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    const host = hostnameOf(req.headers.host);
    // DNS rebinding: on loopback only loopback names may be in Host; any Origin must be a loopback page too.
    if (loopback && (!host || !LOOPBACK_NAMES.has(host))) return reply(res, 403, -32000, 'Forbidden: invalid Host header');
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, host, loopback)) return reply(res, 403, -32000, 'Forbidden: invalid Origin header');
    if (expected) {
      const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!given || !timingSafeEqual(digest(given), expected)) {
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
      if (sid) {
        const s = sessions.get(sid);
        if (!s) return reply(res, 404, -32001, 'Session not found: initialize again');
        return s.transport.handleRequest(req, res, body);
      }
      if (!isInitializeRequest(body)) return reply(res, 400, -32000, 'Bad Request: no mcp-session-id, and not an initialize request');
      const server = opts.makeServer();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, server });
          opts.log.info({ session: id }, 'http session opened');
        },
        onsessionclosed: (id) => {
          opts.log.info({ session: id }, 'http session closed');
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
        void server.close().catch(() => undefined);
      };
      await server.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!sid) return reply(res, 400, -32000, 'Bad Request: mcp-session-id header required');
      const s = sessions.get(sid);
      if (!s) return reply(res, 404, -32001, 'Session not found');
      return s.transport.handleRequest(req, res);
    }
    res.setHeader('allow', 'GET, POST, DELETE');
    return reply(res, 405, -32000, 'Method not allowed');
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => resolve());
  });
  const addr = http.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${shownHost}:${addr.port}${MCP_PATH}`;
  opts.log.info({ url, auth: !!expected }, 'compute-mcp listening (Streamable HTTP)');

  return {
    url,
    sessions: () => sessions.size,
    close: async () => {
      for (const { transport, server } of [...sessions.values()]) {
        await transport.close().catch(() => undefined);
        await server.close().catch(() => undefined);
      }
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return undefined;
  }
}

function originAllowed(origin: string, host: string | undefined, loopback: boolean): boolean {
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  if (o.protocol !== 'http:' && o.protocol !== 'https:') return false;
  return loopback ? LOOPBACK_NAMES.has(o.hostname) : o.hostname === host;
}

function reply(res: ServerResponse, status: number, code: number, message: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
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
