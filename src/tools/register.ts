/**
 * The one place tools meet the server: the filters (read-only, destructive, enabled/disabled) derived from
 * annotations, the listing, and the tools/call handler every call goes through (arguments and ids checked with
 * sentences that say what to do, context, audit with a call id, logging, error mapping).
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Protocol, type RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ListToolsRequestSchema,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ComputeError } from '../domain/errors.js';
import type { ProviderId } from '../domain/model.js';
import { type AuditEntry, type AuditLog, redactArgs } from '../guardrails/audit.js';
import { CARD, ELICIT_TIMEOUT_MS, type HumanChannel } from '../guardrails/confirm.js';
import type { GateDeps } from '../guardrails/gate.js';
import type { IdempotencyStore } from '../guardrails/idempotency.js';
import { CARD_META, CARD_URI, rendersApps, type CardApproval } from '../approval/card.js';
import type { ApprovalDesk } from '../approval/desk.js';
import { ALL_TOOLS } from './index.js';
import type { LeaseStore } from '../guardrails/leases.js';
import type { Ledger } from '../guardrails/ledger.js';
import type { Mutex } from '../guardrails/mutex.js';
import type { ConfirmationTokens } from '../guardrails/token.js';
import type { ProviderSet } from '../providers/index.js';
import { checkIdArgs, shown } from './common.js';
import type { AnyTool, ToolContext } from './define.js';

export interface ToolDeps {
  providers: ProviderSet;
  config: Config;
  tokens: ConfirmationTokens;
  idempotency: IdempotencyStore;
  audit: AuditLog;
  spendLock: Mutex;
  atomic?: GateDeps['atomic'];
  ledger: Ledger;
  leases: LeaseStore;
  desk?: ApprovalDesk;
  lostCreateLookup?: GateDeps['lostCreateLookup'];
  log: Logger;
  pollIntervalMs?: number;
  elicitTimeoutMs?: number;
}

/** Which tools exist under this config: derived from annotations and names only. */
export function visibleTools(tools: AnyTool[], config: Config): AnyTool[] {
  const p = config.policy;
  return tools.filter(
    (t) =>
      !(p.readOnly && !t.annotations.readOnlyHint) &&
      !(p.disableDestructive && t.annotations.destructiveHint) &&
      (!config.enabledTools || config.enabledTools.includes(t.name)) &&
      !config.disabledTools.includes(t.name),
  );
}

/**
 * Keys tools/list leaves out: they cost tokens and guide no call (inputs are still validated in full by zod). A regex
 * `pattern` is among them: id forms differ per cloud and are checked in code, with a sentence naming the form.
 */
const UNLISTED = new Set([
  '$schema',
  'minLength',
  'maxLength',
  'maxItems',
  'additionalProperties',
  'propertyNames',
  'pattern',
]);

/**
 * JSON Schema of a zod shape as tools/list shows it: the schema zod makes, without `$schema`, ±2^53 integer bounds,
 * string and array size caps, patterns, and `additionalProperties`. The result is only ever looser than what is
 * enforced.
 */
export function listingSchema(shape: z.ZodRawShape, io: 'input' | 'output'): Tool['inputSchema'] {
  const json = z.toJSONSchema(z.object(shape), { io, target: 'draft-7' });
  const out = JSON.parse(JSON.stringify(json), (k, v) =>
    UNLISTED.has(k) || ((k === 'minimum' || k === 'maximum') && Math.abs(v) === Number.MAX_SAFE_INTEGER)
      ? undefined
      : v,
  ) as Tool['inputSchema'];
  // Nested output objects list their fields but not which are required: the top level says what always comes back.
  if (io === 'output') for (const p of Object.values(out.properties ?? {})) dropNestedRequired(p);
  return out;
}

function dropNestedRequired(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  delete (node as { required?: unknown }).required;
  for (const v of Object.values(node)) dropNestedRequired(v);
}

/** Built once per tool value and process, when first asked for: not at start-up, and not again per session. */
function memo<T>(make: (tool: AnyTool) => T): (tool: AnyTool) => T {
  const made = new WeakMap<AnyTool, T>();
  return (tool) => {
    let v = made.get(tool);
    if (v === undefined) made.set(tool, (v = make(tool)));
    return v;
  };
}

const listing = memo((t): Tool => ({
  name: t.name,
  title: t.title,
  description: t.description,
  inputSchema: listingSchema(t.input, 'input'),
  outputSchema: listingSchema(t.output, 'output'),
  annotations: t.annotations,
}));

/** For a client that renders apps: app-only tools marked so, and tools that may ask a human linked to the card. */
function withUi(t: Tool): Tool {
  const tool = ALL_BY_NAME.get(t.name);
  if (tool?.appOnly) return { ...t, _meta: { ui: { visibility: ['app'] } } };
  return 'confirmation_token' in (t.inputSchema.properties ?? {})
    ? { ...t, _meta: { ui: { resourceUri: CARD_URI } } }
    : t;
}
const ALL_BY_NAME = new Map(ALL_TOOLS.map((t) => [t.name, t]));

/** The tools/list entries, derived from the tool values alone. */
export function listTools(tools: AnyTool[]): Tool[] {
  return tools.map(listing);
}

export function registerTools(server: McpServer, tools: AnyTool[], deps: ToolDeps): void {
  const visible = visibleTools(tools, deps.config);
  if (!visible.length) return;
  const byName = new Map(visible.map((t) => [t.name, t]));
  const answer = (params: unknown, extra: Extra) => answerCall({ server, deps, tools, byName }, params, extra);
  // The tools capability, as the SDK's registerTool declares it. The tools are not handed to the SDK: both requests
  // that would read them (tools/list, tools/call) are answered below, so a server is made without building any tool's
  // schemas, and each is built once per process at the first listing or call that needs it.
  server.server.registerCapabilities({ tools: { listChanged: true } });
  // The SDK's own listing adds a `$schema` line and integer bounds to every schema; ours is the same schema without
  // them, built from the same tool values (every conversation pays for these bytes).
  // App-only tools exist only for clients that render MCP Apps; those also learn which tools show the approval card.
  server.server.setRequestHandler(ListToolsRequestSchema, () =>
    rendersApps(server.server.getClientCapabilities())
      ? { tools: listTools(visible).map(withUi) }
      : { tools: listTools(visible.filter((t) => !t.appOnly)) },
  );
  // The SDK parses tools/call params before any handler sees them and answers a malformed call (arguments as an array,
  // no name) with -32603 and zod's raw JSON; Server.setRequestHandler re-parses them the same way. Registering on
  // Protocol directly, with params left unparsed, lets every malformed call get a sentence saying what to do instead.
  const onCall = (req: z.infer<typeof AnyToolsCall>, extra: Extra) => answer(req.params, extra);
  Protocol.prototype.setRequestHandler.call(server.server, AnyToolsCall, onCall);
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A tools/call request with nothing assumed about its params: answerCall checks them and says what is wrong. */
const AnyToolsCall = z.object({ method: z.literal('tools/call'), params: z.unknown().optional() });

/** A tool with its input and output validators built once. */
interface Prepared {
  tool: AnyTool;
  input: z.ZodObject;
  output: z.ZodObject;
}

/** Unknown arguments are refused, not dropped: a misspelt filter would otherwise be silently ignored. */
const prepare = memo((tool): Prepared => ({
  tool,
  input: z.strictObject(tool.input),
  output: z.object(tool.output),
}));

interface Registry {
  server: McpServer;
  deps: ToolDeps;
  tools: AnyTool[];
  /** The tools this server shows, by name; each is prepared when first called. */
  byName: Map<string, AnyTool>;
}

/**
 * One tools/call, whatever arrived: the tool and its arguments are checked (shape, then the ids against the cloud's
 * form) before anything runs, and every failure is a `[CODE] sentence` result.
 */
async function answerCall(r: Registry, params: unknown, extra: Extra): Promise<CallToolResult> {
  const callId = randomUUID();
  const { requestId } = extra;
  let call: { tool: Prepared; args: Record<string, unknown> };
  try {
    call = resolveCall(r, params);
    checkIdArgs(call.args, () => r.deps.providers.get(call.args.provider as ProviderId));
  } catch (e) {
    return failure(e, r.deps.log.child({ requestId, callId }));
  }
  return runTool(
    r,
    call.tool,
    call.args,
    extra,
    callId,
    lazyChild(r.deps.log, { requestId, callId, tool: call.tool.tool.name }),
  );
}

/** The tool a call names and its parsed arguments, or INVALID_INPUT saying what to send instead. */
function resolveCall(r: Registry, params: unknown): { tool: Prepared; args: Record<string, unknown> } {
  if (!isRecord(params))
    throw invalid(`params: expected an object, got ${kindOf(params)}. Send {"name": "<tool>", "arguments": {...}}.`);
  const { name, arguments: raw } = params;
  if (typeof name !== 'string')
    throw invalid(`name: expected the tool's name as a string, got ${kindOf(name)}. tools/list names every tool.`);
  const found = r.byName.get(name);
  // An app-only tool is unknown to a client that does not render apps: it was never listed to it.
  if (!found || (found.appOnly && !rendersApps(r.server.server.getClientCapabilities()))) throw unknownTool(r, name);
  if (raw !== undefined && !isRecord(raw))
    throw invalid(`arguments: expected an object of named arguments, got ${kindOf(raw)}. Send ${example(found)}.`);
  const tool = prepare(found);
  const parsed = tool.input.safeParse(raw ?? {});
  if (!parsed.success) throw invalidArguments(found, parsed.error.issues, raw ?? {});
  return { tool, args: parsed.data };
}

function unknownTool(r: Registry, name: string): ComputeError {
  if (r.tools.some((t) => t.name === name && !t.appOnly))
    return invalid(
      `${name} is turned off on this server (by readOnly, disableDestructive, enabledTools or disabledTools). ` +
        'Use the tools that tools/list shows.',
    );
  const listed = [...r.byName.values()].filter((t) => !t.appOnly).map((t) => t.name);
  return invalid(`there is no tool named ${shown(name)}. The tools are: ${listed.join(', ')}.`);
}

/** `{"provider": ..., "id": ...}`: the shape of a tool's arguments, for a call that sent something else. */
function example(t: AnyTool): string {
  const keys = Object.keys(t.input);
  return keys.length ? `{${keys.map((k) => `"${k}": ...`).join(', ')}}` : '{} or nothing';
}

/** Runs a checked call: context, audit before and after (changing tools), the handler, the output check, errors. */
async function runTool(
  r: Registry,
  p: Prepared,
  args: Record<string, unknown>,
  extra: Extra,
  callId: string,
  log: Logger,
): Promise<CallToolResult> {
  const { server, deps } = r;
  const tool = p.tool;
  const progressToken = extra._meta?.progressToken;
  // One call may fan out to every cloud at once, each request listening to this signal: more than Node's default of 10.
  setMaxListeners(64, extra.signal);
  // Every line written during this call, the spend gate's included, carries its call id.
  const audit = deps.audit.forCall(callId);
  const human: HumanChannel = {
    canElicit: !!server.server.getClientCapabilities()?.elicitation?.form,
    elicit: async (message, requestedSchema) => {
      const res = await server.server.elicitInput(
        { mode: 'form', message, requestedSchema: requestedSchema as never },
        { timeout: deps.elicitTimeoutMs ?? ELICIT_TIMEOUT_MS, relatedRequestId: extra.requestId, signal: extra.signal },
      );
      return { action: res.action, ...(res.content ? { content: res.content } : {}) };
    },
    appCard: rendersApps(server.server.getClientCapabilities()),
    waiting: (message: string) => void ctx.progress(++waited, undefined, message),
    signal: extra.signal,
  };
  // URL mode only where the client declared it: the link goes to the human through the client, not the model.
  // (Set here rather than spread into the literal: the build writes spreads out as slower calls; this runs per call.)
  if (server.server.getClientCapabilities()?.elicitation?.url) {
    human.elicitUrl = async (message: string, url: string, elicitationId: string) => {
      const res = await server.server.elicitInput(
        { mode: 'url', message, url, elicitationId },
        { timeout: deps.elicitTimeoutMs ?? ELICIT_TIMEOUT_MS, relatedRequestId: extra.requestId, signal: extra.signal },
      );
      return { action: res.action };
    };
    human.completeUrl = (elicitationId: string) => server.server.createElicitationCompletionNotifier(elicitationId)();
  }
  let waited = 0;
  const gate: GateDeps = {
    policy: deps.config.policy,
    tokens: deps.tokens,
    idempotency: deps.idempotency,
    ledger: deps.ledger,
    leases: deps.leases,
    audit,
    human,
    spendLock: deps.spendLock,
    clouds: () => deps.providers.enabled(),
    log,
    signal: extra.signal,
  };
  if (deps.desk) gate.desk = deps.desk;
  if (deps.atomic) gate.atomic = deps.atomic;
  if (deps.lostCreateLookup) gate.lostCreateLookup = deps.lostCreateLookup;
  const ctx: ToolContext = {
    providers: deps.providers,
    config: deps.config,
    log,
    signal: extra.signal,
    gate,
    pollIntervalMs: deps.pollIntervalMs ?? 2_000,
    clientName: server.server.getClientVersion()?.name,
    progress: async (progress, total, message) => {
      if (progressToken === undefined) return;
      await extra
        .sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total, message } })
        .catch(() => undefined);
    },
  };
  const started = Date.now();
  // Every call of a tool that can change something is audited before and after, whatever it answers.
  const audited = !tool.annotations.readOnlyHint;
  const provider = typeof args.provider === 'string' ? args.provider : undefined;
  // These lines frame the call; the gate's own lines (decision, send, cloud) are the ones a change waits for. A store
  // that is down fails a create in the gate, but must not stop a pause that saves money.
  const frame = (e: AuditEntry) =>
    audited ? audit.write(e).catch((err: unknown) => log.error({ err }, 'audit line not written')) : undefined;
  await frame({ tool: tool.name, provider, phase: 'call', request: redactArgs(args) });
  try {
    const out = await tool.handler(args, ctx);
    // The answer must match the schema tools/list promised; a mismatch is our bug, not the caller's.
    const checked = p.output.safeParse(out);
    if (!checked.success) throw new Error(`${tool.name} answered outside its output schema: ${checked.error.message}`);
    log.info({ ms: Date.now() - started }, 'tool ok');
    await frame({ tool: tool.name, provider, phase: 'result', ...resultOf(out) });
    // The approval card's secret rides in _meta, which the host gives to the card, not to the model.
    const { [CARD]: card, ...structured } = out as Record<string, unknown> & { [CARD]?: CardApproval };
    return {
      content: [{ type: 'text', text: tool.render(out) }],
      structuredContent: structured,
      ...(card ? { _meta: { [CARD_META]: card } } : {}),
    };
  } catch (e) {
    const error = e instanceof ComputeError ? { code: e.code, message: e.message } : INTERNAL_AUDITED;
    await frame({ tool: tool.name, provider, phase: 'result', error });
    return failure(e, log, started);
  }
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = () => undefined;

/**
 * `parent.child(bindings)`, made only when something is logged at a level in force. A pino child with redaction
 * costs about 12 KiB and tens of microseconds (every binding goes through the redactor): per call, that was the
 * largest allocation of a read, while most calls log nothing above the level set.
 */
function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  return new Proxy(parent, {
    get(_, key) {
      if (typeof key === 'string' && LEVELS.has(key) && !parent.isLevelEnabled(key)) return noop;
      child ??= parent.child(bindings);
      const value: unknown = Reflect.get(child, key, child);
      return typeof value === 'function' ? value.bind(child) : value;
    },
    set(_, key, value) {
      child ??= parent.child(bindings);
      return Reflect.set(child, key, value, child);
    },
  });
}

/** A ComputeError as its `[CODE] message. hint` result; anything else is a bug: logged with its stack, told vaguely. */
function failure(e: unknown, log: Logger, started = Date.now()): CallToolResult {
  const ms = Date.now() - started;
  if (e instanceof ComputeError) {
    log.warn({ ms, code: e.code, provider: e.provider, status: e.status, internal: e.internal }, e.message);
    return { isError: true, content: [{ type: 'text', text: e.toText() }], _meta: { 'compute-mcp/error': e.toJSON() } };
  }
  log.error({ err: e, ms }, 'tool crashed');
  const text = `[INTERNAL] ${INTERNAL}. The details were logged; try again, and report it if it repeats.`;
  const meta = { 'compute-mcp/error': { code: 'INTERNAL', message: INTERNAL } };
  return { isError: true, content: [{ type: 'text', text }], _meta: meta };
}

const INTERNAL = 'internal error in compute-mcp';
const INTERNAL_AUDITED = { code: 'INTERNAL', message: 'internal error' };
const invalid = (sentences: string) => new ComputeError('INVALID_INPUT', sentences);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const MAX_PROBLEMS = 4;

/** zod's issues as `<field>: <what is wrong>. <what to do>.` sentences, one per field, at most four. */
function invalidArguments(tool: AnyTool, issues: readonly z.core.$ZodIssue[], args: unknown): ComputeError {
  // zod may report a field twice (a wrong type, then a size check on the same value): the first says it.
  const byField = new Map<string, string>();
  for (const issue of issues)
    for (const [field, sentence] of problems(tool, issue, args)) if (!byField.has(field)) byField.set(field, sentence);
  const all = [...byField].map(([field, sentence]) => `${field}: ${sentence}`);
  const more = all.length > MAX_PROBLEMS ? ` (and ${all.length - MAX_PROBLEMS} more problems)` : '';
  return invalid(`${all.slice(0, MAX_PROBLEMS).join(' ')}${more}`);
}

/** What is wrong with one field and what to send instead. Values are quoted only when short and harmless. */
function problems(tool: AnyTool, issue: z.core.$ZodIssue, args: unknown): [string, string][] {
  const field = fieldName(issue.path);
  const value = valueAt(args, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const takes = Object.keys(tool.input);
      const todo = takes.length ? `${tool.name} takes ${takes.join(', ')}` : `${tool.name} takes no arguments`;
      const sentence = `not an argument of ${tool.name}. Remove it; ${todo}.`;
      return issue.keys.map((k) => [fieldName([...issue.path, k]), sentence]);
    }
    case 'invalid_type':
      return [[field, value === undefined ? missing(tool, issue.path) : wrongType(issue.expected, value)]];
    case 'invalid_value': {
      const options = `Use one of ${issue.values.map(String).join(', ')}.`;
      return [[field, value === undefined ? `missing. ${options}` : `${kindOf(value)} is not allowed. ${options}`]];
    }
    case 'too_small':
      return [[field, tooSmall(issue.origin, Number(issue.minimum), issue.inclusive !== false, value)]];
    case 'too_big':
      return [[field, tooBig(issue.origin, Number(issue.maximum), issue.inclusive !== false, value)]];
    default:
      return [[field, `${issue.message.replace(/\.?$/, '.')} See ${tool.name}'s input schema in tools/list.`]];
  }
}

function missing(tool: AnyTool, path: PropertyKey[]): string {
  const schema = path.length === 1 ? (tool.input[String(path[0])] as z.ZodType | undefined) : undefined;
  const description = schema?.description;
  return `missing. Add it${description ? ` (${description})` : ''}.`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  record: 'an object',
};
/** What a number or a boolean looks like when it was sent as a string by mistake. */
const QUOTED: Record<string, RegExp> = { number: /^-?\d+(\.\d+)?$/, int: /^-?\d+$/, boolean: /^(true|false)$/ };

function wrongType(expected: string, value: unknown): string {
  const want = EXPECTED[expected] ?? expected;
  // "8" for 8 and "true" for true are the usual slips: say so.
  const quoted = typeof value === 'string' && !!QUOTED[expected]?.test(value.trim());
  return `expected ${want}, got ${kindOf(value)}. Send ${want}${quoted ? ', without quotes' : ''}.`;
}

function tooSmall(origin: string, min: number, inclusive: boolean, value: unknown): string {
  if (origin === 'string' && min <= 1) return 'is empty. Send a non-empty string.';
  if (origin === 'string') return `is shorter than ${min} characters. Send ${min} or more.`;
  if (origin === 'array' && min <= 1) return 'is empty. Send at least one item.';
  if (origin === 'array') return `has fewer than ${min} items. Send ${min} or more.`;
  if (inclusive) return `${kindOf(value)} is below the minimum of ${min}. Use ${min} or more.`;
  return `${kindOf(value)} must be more than ${min}. Use a larger number.`;
}

function tooBig(origin: string, max: number, inclusive: boolean, value: unknown): string {
  if (origin === 'string') return `is longer than ${max} characters. Shorten it to ${max} or fewer.`;
  if (origin === 'array') return `has more than ${max} items. Send at most ${max} per call.`;
  if (inclusive) return `${kindOf(value)} is above the maximum of ${max}. Use ${max} or less.`;
  return `${kindOf(value)} must be less than ${max}. Use a smaller number.`;
}

/**
 * A value as a sentence names it: numbers and short word-like strings as themselves, anything else by its kind (a
 * long or odd string is not echoed back: it costs tokens and may be something the caller should not see again).
 */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : 'an infinite number';
  if (typeof v === 'string') return v === '' ? 'an empty string' : /^[\w.+-]{1,40}$/.test(v) ? shown(v) : 'a string';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** `ids[2]`, `gpu.model`; the arguments object itself is "arguments". Odd key names are quoted. */
function fieldName(path: readonly PropertyKey[]): string {
  const part = (k: PropertyKey) => (typeof k === 'string' && /^[A-Za-z_][\w]{0,39}$/.test(k) ? k : shown(String(k)));
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${part(k)}` : part(k))).join('') || 'arguments';
}

function valueAt(v: unknown, path: readonly PropertyKey[]): unknown {
  let at = v;
  for (const k of path) at = isRecord(at) || Array.isArray(at) ? (at as Record<PropertyKey, unknown>)[k] : undefined;
  return at;
}

/** The part of a tool's answer the audit keeps: its status and the ids it touched. */
function resultOf(out: Record<string, unknown>): { status?: string; instance_id?: string; reason?: string } {
  const inst = out.instance as { id?: string } | undefined;
  const snap = out.snapshot as { id?: string; instance_id?: string } | undefined;
  const results = out.results as { id: string; result: string }[] | undefined;
  return {
    ...(typeof out.status === 'string' ? { status: out.status } : {}),
    ...(inst?.id ? { instance_id: inst.id } : snap?.instance_id ? { instance_id: snap.instance_id } : {}),
    ...(snap?.id ? { reason: `snapshot ${snap.id}` } : {}),
    ...(results ? { reason: results.map((r) => `${r.id}: ${r.result}`).join(', ') } : {}),
  };
}
