/**
 * The stdio transport: one JSON-RPC message per line on stdin, one per line on stdout. In place of the SDK's
 * StdioServerTransport, which checks each line with the SDK's message schema (a union of four zod objects) and then,
 * in the server, tells responses, requests and notifications apart with up to four more zod parses: building those
 * schemas was a tenth of a start, and the parses are paid by every message. Here a line is checked by hand against
 * the same shapes (JSON-RPC 2.0 as the SDK's schemas define it, strict keys and all) and handed to the server's
 * entry for its kind. A line that is not such a message is answered with a JSON-RPC error (without an id, as MCP
 * has it), where the SDK's transport dropped it without a word; a blank line is skipped. Lines come through LineLimit (transport/body.ts), which bounds their size.
 */
import type { Readable, Writable } from 'node:stream';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type {
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  JSONRPCResponse,
  MessageExtraInfo,
} from '@modelcontextprotocol/sdk/types.js';

/** What a line holds, as the SDK's JSONRPCMessageSchema would sort it. */
export type Kind = 'request' | 'notification' | 'response' | 'invalid';

/** The server's own entries for each kind (internal to SDK 1.32's Protocol); absent, `onmessage` sorts instead. */
interface Entries {
  request(message: JSONRPCRequest, extra?: MessageExtraInfo): void;
  notification(message: JSONRPCNotification): void;
  response(message: JSONRPCResponse): void;
}

export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  private entries?: Entries;
  private started = false;
  private readonly onLine = (line: Buffer) => this.receive(line.toString('utf8'));
  private readonly onError = (error: Error) => this.onerror?.(error);

  /** `lines`: one message per chunk (LineLimit's output). */
  constructor(
    private readonly lines: Readable,
    private readonly out: Writable,
    private readonly onInvalid: (why: string) => void = () => undefined,
  ) {}

  /**
   * Hands each message to the server's entry for its kind, skipping the sorting the SDK's `connect` installs as
   * onmessage. Call after `server.connect(transport)`. Another SDK without those entries keeps onmessage.
   */
  deliverTo(server: McpServer): void {
    const p = server.server as unknown as Record<'_onrequest' | '_onnotification' | '_onresponse', unknown>;
    if ([p._onrequest, p._onnotification, p._onresponse].every((f) => typeof f === 'function')) {
      const bound = <T>(f: unknown) => (f as (...a: unknown[]) => T).bind(server.server) as T;
      this.entries = {
        request: bound(p._onrequest),
        notification: bound(p._onnotification),
        response: bound(p._onresponse),
      };
    }
  }

  start(): Promise<void> {
    if (this.started) throw new Error('StdioTransport already started');
    this.started = true;
    this.lines.on('data', this.onLine);
    this.lines.on('error', this.onError);
    return Promise.resolve();
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.out.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.out.once('drain', resolve);
    });
  }

  close(): Promise<void> {
    this.lines.off('data', this.onLine);
    this.lines.off('error', this.onError);
    this.onclose?.();
    return Promise.resolve();
  }

  private receive(line: string): void {
    if (!line.trim()) return; // a blank line is no message, and was never answered
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return this.refuse(-32700, 'Parse error: a line that is not JSON');
    }
    const kind = kindOf(message);
    if (kind === 'invalid')
      return this.refuse(-32600, 'Invalid Request: not a JSON-RPC 2.0 request, notification or response');
    const m = message as JSONRPCMessage;
    // What the server's entries throw (a response to nothing, nested too deep for its error message to be written)
    // is an error of that message, as the SDK's transport had it, not of the process.
    try {
      if (!this.entries) this.onmessage?.(m);
      else if (kind === 'request') this.entries.request(m as JSONRPCRequest);
      else if (kind === 'notification') this.entries.notification(m as JSONRPCNotification);
      else this.entries.response(m as JSONRPCResponse);
    } catch (e) {
      this.onerror?.(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** An error answer to a line that is no message: without an id, which MCP clients take (they refuse a null one). */
  private refuse(code: number, message: string): void {
    this.onInvalid(message);
    void this.send({ jsonrpc: '2.0', error: { code, message } } as unknown as JSONRPCMessage);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** zod's `int()` is a safe integer. */
const isId = (v: unknown) => typeof v === 'string' || Number.isSafeInteger(v);
const only = (o: Record<string, unknown>, keys: readonly string[]) => Object.keys(o).every((k) => keys.includes(k));

/** `_meta` of params or a result: an object; a progress token is a string or an integer, a related task names one. */
function metaOk(holder: Record<string, unknown>): boolean {
  const meta = holder._meta;
  if (meta === undefined) return true;
  if (!isObject(meta)) return false;
  if (meta.progressToken !== undefined && !isId(meta.progressToken)) return false;
  const task = meta['io.modelcontextprotocol/related-task'];
  return task === undefined || (isObject(task) && typeof task.taskId === 'string');
}

/**
 * Sorts a parsed line as the SDK's JSONRPCMessageSchema does (SDK 1.32 types.js): a request, a notification, a
 * result or an error response, each a strict object (no other keys), with `jsonrpc: "2.0"`, ids that are strings or
 * integers, params and results that are objects with a well-formed `_meta`, an error with an integer code and a
 * string message.
 */
export function kindOf(m: unknown): Kind {
  if (!isObject(m) || m.jsonrpc !== '2.0') return 'invalid';
  if (typeof m.method === 'string') {
    const params = m.params;
    if (params !== undefined && !(isObject(params) && metaOk(params))) return 'invalid';
    if ('id' in m) return isId(m.id) && only(m, ['jsonrpc', 'id', 'method', 'params']) ? 'request' : 'invalid';
    return only(m, ['jsonrpc', 'method', 'params']) ? 'notification' : 'invalid';
  }
  if ('result' in m)
    return isId(m.id) && isObject(m.result) && metaOk(m.result) && only(m, ['jsonrpc', 'id', 'result'])
      ? 'response'
      : 'invalid';
  const error = m.error;
  const idOk = m.id === undefined || isId(m.id);
  const errorOk = isObject(error) && Number.isSafeInteger(error.code) && typeof error.message === 'string';
  return idOk && errorOk && only(m, ['jsonrpc', 'id', 'error']) ? 'response' : 'invalid';
}
