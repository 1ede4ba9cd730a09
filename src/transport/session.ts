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
import { getEventListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  StreamableHTTPServerTransport,
  type StreamableHTTPServerTransportOptions,
} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ErrorCode,
  McpError,
  RELATED_TASK_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type MessageExtraInfo,
  type Notification,
  type Request,
  type RequestId,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { ALL_TOOLS } from '../tools/index.js';

/** An answer not ready by then is sent as a stream: its headers go out, then a comment every KEEP_ALIVE_MS. */
export const STREAM_AFTER_MS = 1_000;
const KEEP_ALIVE_MS = 15_000;

/** Tools that can change something: they may ask the human (elicitation) mid-call, so they always stream. */
const MAY_ASK = new Set(ALL_TOOLS.filter((t) => !t.annotations.readOnlyHint).map((t) => t.name));
const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const JSON_TYPE = /^application\/json\s*(;\s*charset=("?)utf-8\2\s*)?$/i;

/** Spare AbortControllers a session keeps for its direct requests (see `take`). */
const SPARE_CONTROLLERS = 8;

/** A request answered on the direct path, until its answer is written or its client goes away. */
interface Direct {
  res: ServerResponse;
  /** Set once the response has become an SSE stream. */
  streaming: boolean;
  timer: NodeJS.Timeout;
  /** Run here (`run`): its answer is written by `run`, never taken from `send` (which may carry a duplicate id's). */
  handled: boolean;
}

/** What a direct request's handler is given: the SDK's RequestHandlerExtra for a request without a task. */
interface HandlerExtra {
  signal: AbortSignal;
  sessionId?: string;
  _meta?: unknown;
  sendNotification(notification: Notification): Promise<void>;
  sendRequest<S extends z.ZodType>(request: Request, schema: S, options?: RequestOptions): Promise<z.infer<S>>;
  authInfo?: MessageExtraInfo['authInfo'];
  requestId: RequestId;
  requestInfo?: MessageExtraInfo['requestInfo'];
}

type Handler = (request: JSONRPCRequest, extra: HandlerExtra) => Promise<Result>;

/** The parts of the SDK's Protocol (1.32) a direct request is run with; the two maps are internal to it. */
interface Protocol {
  _requestHandlers: Map<string, Handler>;
  /** The requests running, by id: the SDK's cancellation (checked by its schema) and its close abort these. */
  _requestHandlerAbortControllers: Map<RequestId, AbortController>;
  notification(notification: Notification, options?: { relatedRequestId?: RequestId }): Promise<void>;
  request<S extends z.ZodType>(request: Request, schema: S, options?: RequestOptions): Promise<z.infer<S>>;
  onerror?: (error: Error) => void;
}

export class SessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  private readonly sdk: StreamableHTTPServerTransport;
  private readonly direct = new Map<RequestId, Direct>();
  /** The server's Protocol, once `deliverTo` found the handlers a direct request is run with. */
  private protocol?: Protocol;
  /** Controllers of this session's direct requests that ended without an abort and with no listener left. */
  private readonly spare: AbortController[] = [];
  /** The controllers of the requests running here. */
  private readonly running = new Set<AbortController>();

  constructor(options: StreamableHTTPServerTransportOptions) {
    this.sdk = new StreamableHTTPServerTransport(options);
    this.sdk.onmessage = (message, extra) => {
      // The SDK ignores a cancellation naming id 0 or "" (it tests the id for truth): those are stopped here.
      if ('method' in message && message.method === 'notifications/cancelled' && !('id' in message)) {
        const { requestId, reason } = (message.params ?? {}) as { requestId?: unknown; reason?: unknown };
        if ((requestId === 0 || requestId === '') && (reason === undefined || typeof reason === 'string'))
          this.protocol?._requestHandlerAbortControllers.get(requestId)?.abort(reason);
      }
      this.onmessage?.(message, extra);
    };
    this.sdk.onerror = (error) => this.onerror?.(error);
    this.sdk.onclose = () => {
      for (const [id, d] of this.direct) this.finish(id, d, undefined);
      // Every request run here is stopped, also one the SDK's table lost track of (a duplicate id overwrote it).
      for (const controller of this.running) controller.abort();
      this.onclose?.(); // the SDK's Protocol then aborts every request it still runs
    };
  }

  /**
   * Direct requests are run here with the server's own handlers, as the SDK's Protocol runs a request that has no
   * task and no progress token, instead of through the onmessage that `connect` installs. That one first tells
   * responses, requests and notifications apart with three zod parses, two of them failing (about 10 µs and 1 KiB of
   * garbage a call); then `Protocol._onrequest` checks for a task with one more failing parse for a request without
   * params, and makes a new AbortController for every request. On Node 20 each new AbortSignal gets a hidden class of
   * its own (Node sets its prototype after making it), which V8 keeps in old space: everything of the call it
   * reached was then kept to the next full collection, and the server's RSS grew with every call until then. Here a
   * session reuses the controllers of requests that ended without an abort and with no listener left. A running
   * request is entered in the Protocol's own table, so the SDK's cancellation and close reach it as any other,
   * whether or not its client is still connected. Another SDK without these internals keeps onmessage.
   */
  deliverTo(server: McpServer): void {
    const protocol = server.server as unknown as Partial<Protocol>;
    if (protocol._requestHandlers instanceof Map && protocol._requestHandlerAbortControllers instanceof Map)
      this.protocol = protocol as Protocol;
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
    // An id still running (a retry after a dropped POST, or one the SDK runs) goes the SDK's way, as it would alone.
    if (this.protocol?._requestHandlerAbortControllers.has(body.id)) return false;
    const handler = this.protocol?._requestHandlers.get(body.method);
    const d: Direct = {
      res,
      streaming: false,
      timer: setTimeout(() => this.stream(d), STREAM_AFTER_MS),
      handled: !!handler,
    };
    d.timer.unref();
    this.direct.set(body.id, d);
    // The client went away: the answer, when it comes, goes nowhere (as with a cancelled SDK stream).
    res.once('close', () => {
      if (this.direct.get(body.id) === d) this.finish(body.id, d, undefined);
    });
    const info: MessageExtraInfo = { requestInfo: { headers: req.headers, url } };
    // An unknown method goes the SDK's way, which answers it.
    if (handler) this.run(body, info, d, handler);
    else this.onmessage?.(body, info);
    return true;
  }

  /**
   * Runs a direct request's handler as `Protocol._onrequest` does for a request without a task: its answer, or its
   * error as a JSON-RPC error, is written unless the request was cancelled meanwhile; a cancelled one's response
   * ends at once, as a stream with nothing in it.
   */
  private run(request: JSONRPCRequest, info: MessageExtraInfo, d: Direct, handler: Handler): void {
    const protocol = this.protocol!;
    const controller = this.take();
    const { signal } = controller;
    const id = request.id;
    const running = protocol._requestHandlerAbortControllers;
    running.set(id, controller);
    this.running.add(controller);
    const onAbort = () => {
      if (this.direct.get(id) !== d) return;
      this.stream(d);
      this.finish(id, d, undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const answer = (message: JSONRPCMessage) => {
      if (!signal.aborted && this.direct.get(id) === d) this.finish(id, d, message);
    };
    const extra: HandlerExtra = {
      signal,
      sessionId: this.sessionId,
      _meta: request.params?._meta,
      sendNotification: async (notification) => {
        if (!signal.aborted) await protocol.notification(notification, { relatedRequestId: id });
      },
      sendRequest: async (r, schema, options) => {
        if (signal.aborted) throw new McpError(ErrorCode.ConnectionClosed, 'Request was cancelled');
        return protocol.request(r, schema, Object.assign({}, options, { relatedRequestId: id }));
      },
      authInfo: info.authInfo,
      requestId: id,
      requestInfo: info.requestInfo,
    };
    Promise.resolve()
      .then(() => handler(request, extra))
      .then(
        (result) => answer({ result, jsonrpc: '2.0', id }),
        (error: unknown) => answer(errorAnswer(id, error)),
      )
      .catch((error: unknown) =>
        protocol.onerror?.(new Error(`Failed to send response: ${error instanceof Error ? error.message : 'unknown'}`)),
      )
      .finally(() => {
        signal.removeEventListener('abort', onAbort);
        if (running.get(id) === controller) running.delete(id);
        this.running.delete(controller);
        this.giveBack(controller);
      });
  }

  /** A controller for a direct request: a spare one, or a new one. */
  private take(): AbortController {
    return this.spare.pop() ?? new AbortController();
  }

  /**
   * Keeps a request's controller for the next one, when nothing can tell: it was not aborted, and nothing listens to
   * its signal any more (a listener left behind would hear the next request's cancellation). A session's own
   * controllers only: another session's cancellation can never reach code still holding one.
   */
  private giveBack(controller: AbortController): void {
    const { signal } = controller;
    if (this.spare.length < SPARE_CONTROLLERS && !signal.aborted && getEventListeners(signal, 'abort').length === 0)
      this.spare.push(controller);
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    // An answer carries its request's id; a notification or request about a request names it in the options.
    const about = 'method' in message ? options?.relatedRequestId : message.id;
    const d = about === undefined ? undefined : this.direct.get(about);
    // An answer for a request run here comes from `run`: one with its id here is a duplicate id's, the SDK's own.
    if (!d || (d.handled && !('method' in message))) return this.sdk.send(message, options);
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
    try {
      this.write(d, id, answer);
    } catch {
      // An answer that is not JSON (a BigInt, a cycle) is refused before anything of it is written: the client gets
      // an error instead of a response that never ends.
      this.write(d, id, { jsonrpc: '2.0', id, error: { code: ErrorCode.InternalError, message: UNWRITABLE } });
    }
  }

  private write(d: Direct, id: RequestId, answer: JSONRPCMessage | undefined): void {
    if (d.streaming) {
      d.res.end(answer ? event(answer) : undefined);
    } else if (answer) {
      json(d.res, 200, answer, this.sessionId);
    } else {
      json(d.res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id });
    }
  }
}

const UNWRITABLE = 'Internal error: the answer could not be written as JSON';

/**
 * A handler's failure as the SDK answers it: its code when it is an integer, its message, its data; anything else
 * thrown (null, a string, an object whose properties throw when read) is -32603 "Internal error".
 */
function errorAnswer(id: RequestId, error: unknown): JSONRPCMessage {
  try {
    const e = error as { code?: unknown; message?: unknown; data?: unknown } | null | undefined;
    const code = Number.isSafeInteger(e?.code) ? (e!.code as number) : ErrorCode.InternalError;
    const message = typeof e?.message === 'string' ? e.message : 'Internal error';
    const data = e?.data;
    return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
  } catch {
    return { jsonrpc: '2.0', id, error: { code: ErrorCode.InternalError, message: 'Internal error' } };
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
