/**
 * One HTTP session's transport: the SDK's Streamable HTTP transport, plus a direct path for the common request that
 * needs no stream. The SDK answers every POST with an SSE stream, built on a web Request made from the Node request
 * (and a web Response turned back), with the message checked by zod on the way in and out: most of the server's own
 * cost per call. A plain request (one JSON-RPC request, no progress token, not a tool that may ask the human) is
 * given to the McpServer directly and its answer written as `application/json`, which the spec allows for any
 * request. Should the server send anything about that request before its answer (a notification, an elicitation),
 * or should the answer take longer than STREAM_AFTER_MS, the response turns into the same SSE stream the SDK would
 * have sent (with its keep-alive comments), so nothing a client can see is lost. Everything else (initialize, GET
 * streams, DELETE, notifications, batches, progress, tools that change something, anything unusual or malformed)
 * goes to the SDK as before, which also answers the errors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  StreamableHTTPServerTransport,
  type StreamableHTTPServerTransportOptions,
} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  RELATED_TASK_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { ALL_TOOLS } from '../tools/index.js';

/** An answer not ready by then is sent as a stream: its headers go out, then a comment every KEEP_ALIVE_MS. */
export const STREAM_AFTER_MS = 1_000;
const KEEP_ALIVE_MS = 15_000;

/** Tools that can change something: they may ask the human (elicitation) mid-call, so they always stream. */
const MAY_ASK = new Set(ALL_TOOLS.filter((t) => !t.annotations.readOnlyHint).map((t) => t.name));
const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const JSON_TYPE = /^application\/json\s*(;\s*charset=("?)utf-8\2\s*)?$/i;

/** A request answered on the direct path, until its answer is written or its client goes away. */
interface Direct {
  res: ServerResponse;
  /** Set once the response has become an SSE stream. */
  streaming: boolean;
  timer: NodeJS.Timeout;
}

export class SessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  private readonly sdk: StreamableHTTPServerTransport;
  private readonly direct = new Map<RequestId, Direct>();
  /** Where a direct request goes: the McpServer's request entry once `deliverTo` found it, else onmessage. */
  private deliver?: (request: JSONRPCRequest, extra: MessageExtraInfo) => void;

  constructor(options: StreamableHTTPServerTransportOptions) {
    this.sdk = new StreamableHTTPServerTransport(options);
    this.sdk.onmessage = (message, extra) => this.onmessage?.(message, extra);
    this.sdk.onerror = (error) => this.onerror?.(error);
    this.sdk.onclose = () => {
      for (const [id, d] of this.direct) this.finish(id, d, undefined);
      this.onclose?.();
    };
  }

  /**
   * Hands direct requests to the server's request entry (`Protocol._onrequest`, internal to SDK 1.32) instead of the
   * onmessage that `connect` installs, which first tells responses, requests and notifications apart with three zod
   * parses (two of them failing, for a request): about 10 µs and 1 KiB of garbage that outlives young-generation
   * collections, per call, for a message this transport has already checked. Another SDK without that method keeps
   * onmessage.
   */
  deliverTo(server: McpServer): void {
    const entry = (server.server as unknown as { _onrequest?: SessionTransport['deliver'] })._onrequest;
    if (typeof entry === 'function') this.deliver = entry.bind(server.server);
  }

  get sessionId(): string | undefined {
    return this.sdk.sessionId;
  }

  start(): Promise<void> {
    return this.sdk.start();
  }

  close(): Promise<void> {
    return this.sdk.close();
  }

  /** A request the SDK handles: initialize, GET, DELETE, and every POST `directly` declined. */
  handleRequest(req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<void> {
    return this.sdk.handleRequest(req, res, body);
  }

  /**
   * Answers a POST on the direct path when it qualifies (true); false leaves it to handleRequest. Only what the SDK
   * would accept as it is qualifies, so the SDK's checks and error answers stay the only ones.
   */
  directly(req: IncomingMessage, res: ServerResponse, body: unknown, url: URL): boolean {
    if (!this.sessionId || !isPlainRequest(body) || this.direct.has(body.id) || !plainHeaders(req)) return false;
    const d: Direct = { res, streaming: false, timer: setTimeout(() => this.stream(d), STREAM_AFTER_MS) };
    d.timer.unref();
    this.direct.set(body.id, d);
    // The client went away: the answer, when it comes, goes nowhere (as with a cancelled SDK stream).
    res.once('close', () => {
      if (this.direct.get(body.id) === d) this.finish(body.id, d, undefined);
    });
    const extra: MessageExtraInfo = { requestInfo: { headers: req.headers, url } };
    if (this.deliver) this.deliver(body, extra);
    else this.onmessage?.(body, extra);
    return true;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    // An answer carries its request's id; a notification or request about a request names it in the options.
    const about = 'method' in message ? options?.relatedRequestId : message.id;
    const d = about === undefined ? undefined : this.direct.get(about);
    if (!d) return this.sdk.send(message, options);
    if ('method' in message) {
      this.stream(d);
      d.res.write(event(message));
    } else {
      this.finish(about!, d, message);
    }
  }

  /** Turns a direct response into an SSE stream (once): the SDK's headers, then keep-alive comments. */
  private stream(d: Direct): void {
    if (d.streaming || d.res.headersSent) return;
    d.streaming = true;
    d.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'mcp-session-id': this.sessionId,
    });
    d.res.flushHeaders();
    clearTimeout(d.timer);
    d.timer = setInterval(() => d.res.write(': keepalive\n\n'), KEEP_ALIVE_MS);
    d.timer.unref();
  }

  /** Ends a direct response with its answer; without one (the session closed) as the SDK ends a closed session. */
  private finish(id: RequestId, d: Direct, answer: JSONRPCMessage | undefined): void {
    this.direct.delete(id);
    clearTimeout(d.timer); // a timeout or an interval alike
    if (d.res.writableEnded || d.res.destroyed) return;
    if (d.streaming) {
      d.res.end(answer ? event(answer) : undefined);
    } else if (answer) {
      json(d.res, 200, answer, this.sessionId);
    } else {
      json(d.res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id });
    }
  }
}

/** One write: status, headers with the length, body. */
function json(res: ServerResponse, status: number, message: unknown, sessionId?: string): void {
  const body = JSON.stringify(message);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (sessionId) headers['mcp-session-id'] = sessionId;
  res.writeHead(status, headers).end(body);
}

const event = (message: JSONRPCMessage) => `event: message\ndata: ${JSON.stringify(message)}\n\n`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One JSON-RPC request, exactly as the SDK's schema takes it, that cannot ask for anything mid-call: no progress
 * token, no task, not initialize, and not a tool that may ask the human.
 */
function isPlainRequest(body: unknown): body is JSONRPCRequest {
  if (!isObject(body) || body.jsonrpc !== '2.0' || typeof body.method !== 'string' || body.method === 'initialize')
    return false;
  if (!(typeof body.id === 'string' || Number.isInteger(body.id))) return false;
  for (const k in body) if (!REQUEST_KEYS.has(k)) return false;
  const params = body.params;
  if (params === undefined) return true;
  if (!isObject(params) || params.task !== undefined) return false;
  const meta = params._meta;
  if (meta !== undefined && (!isObject(meta) || meta.progressToken !== undefined || meta[RELATED_TASK_META_KEY]))
    return false;
  return !(body.method === 'tools/call' && typeof params.name === 'string' && MAY_ASK.has(params.name));
}

/** Headers the SDK would accept without a word: both media types accepted, JSON sent, a known protocol version. */
function plainHeaders(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  const version = req.headers['mcp-protocol-version'];
  return (
    !!accept?.includes('application/json') &&
    accept.includes('text/event-stream') &&
    JSON_TYPE.test(req.headers['content-type'] ?? '') &&
    (version === undefined || (typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version)))
  );
}
