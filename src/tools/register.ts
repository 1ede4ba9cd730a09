/**
 * The one place tools meet the server: the filters (read-only, destructive, enabled/disabled) derived from
 * annotations, and the wrapper every handler runs in (context, logging, error mapping).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { ListToolsRequestSchema, type CallToolResult, type ServerNotification, type ServerRequest, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ComputeError } from '../domain/errors.js';
import { AuditLog, redactArgs } from '../guardrails/audit.js';
import { ELICIT_TIMEOUT_MS, type HumanChannel } from '../guardrails/confirm.js';
import type { IdempotencyStore } from '../guardrails/idempotency.js';
import type { Mutex } from '../guardrails/mutex.js';
import type { ConfirmationTokens } from '../guardrails/token.js';
import type { ProviderSet } from '../providers/index.js';
import type { AnyTool, ToolContext } from './define.js';

export interface ToolDeps {
  providers: ProviderSet;
  config: Config;
  tokens: ConfirmationTokens;
  idempotency: IdempotencyStore;
  audit: AuditLog;
  spendLock: Mutex;
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

/** Keys tools/list leaves out: they cost tokens and guide no call (inputs are still validated in full by zod). */
const UNLISTED = new Set(['$schema', 'minLength', 'maxLength', 'maxItems', 'additionalProperties', 'propertyNames']);

/**
 * JSON Schema of a zod shape as tools/list shows it: the schema zod makes, without `$schema`, ±2^53 integer bounds,
 * string and array size caps, and `additionalProperties`. The result is only ever looser than what is enforced.
 */
export function listingSchema(shape: z.ZodRawShape, io: 'input' | 'output'): Tool['inputSchema'] {
  const json = z.toJSONSchema(z.object(shape), { io, target: 'draft-7' });
  const out = JSON.parse(JSON.stringify(json), (k, v) =>
    UNLISTED.has(k) || ((k === 'minimum' || k === 'maximum') && Math.abs(v) === Number.MAX_SAFE_INTEGER) ? undefined : v,
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

/** The tools/list entries, derived from the tool values alone. */
export function listTools(tools: AnyTool[]): Tool[] {
  return tools.map((t) => ({
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: listingSchema(t.input, 'input'),
    outputSchema: listingSchema(t.output, 'output'),
    annotations: t.annotations,
  }));
}

export function registerTools(server: McpServer, tools: AnyTool[], deps: ToolDeps): void {
  const visible = visibleTools(tools, deps.config);
  for (const tool of visible) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: tool.annotations,
      },
      async (args: Record<string, unknown>, extra: RequestHandlerExtra<ServerRequest, ServerNotification>): Promise<CallToolResult> => {
        const log = deps.log.child({ tool: tool.name, requestId: extra.requestId });
        const progressToken = extra._meta?.progressToken;
        const human: HumanChannel = {
          canElicit: !!server.server.getClientCapabilities()?.elicitation?.form,
          elicit: async (message, requestedSchema) => {
            const r = await server.server.elicitInput(
              { mode: 'form', message, requestedSchema: requestedSchema as never },
              { timeout: deps.elicitTimeoutMs ?? ELICIT_TIMEOUT_MS, relatedRequestId: extra.requestId, signal: extra.signal },
            );
            return { action: r.action, ...(r.content ? { content: r.content } : {}) };
          },
        };
        const ctx: ToolContext = {
          providers: deps.providers, config: deps.config, log, signal: extra.signal,
          gate: {
            policy: deps.config.policy, tokens: deps.tokens, idempotency: deps.idempotency, audit: deps.audit, human,
            spendLock: deps.spendLock, clouds: () => deps.providers.enabled(), log, signal: extra.signal,
          },
          pollIntervalMs: deps.pollIntervalMs ?? 2_000,
          progress: async (progress, total, message) => {
            if (progressToken === undefined) return;
            await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total, message } }).catch(() => undefined);
          },
        };
        const started = Date.now();
        // Every call of a tool that can change something is audited before and after, whatever it answers.
        const audited = !tool.annotations.readOnlyHint;
        const provider = typeof args.provider === 'string' ? args.provider : undefined;
        if (audited) deps.audit.write({ tool: tool.name, provider, phase: 'call', request: redactArgs(args) });
        try {
          const out = await tool.handler(args, ctx);
          log.info({ ms: Date.now() - started }, 'tool ok');
          if (audited) deps.audit.write({ tool: tool.name, provider, phase: 'result', ...resultOf(out) });
          return { content: [{ type: 'text', text: tool.render(out) }], structuredContent: out };
        } catch (e) {
          if (audited) deps.audit.write({ tool: tool.name, provider, phase: 'result', error: e instanceof ComputeError ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: 'internal error' } });
          if (e instanceof ComputeError) {
            log.warn({ ms: Date.now() - started, code: e.code, provider: e.provider, status: e.status, internal: e.internal }, e.message);
            return { isError: true, content: [{ type: 'text', text: e.toText() }], _meta: { 'compute-mcp/error': e.toJSON() } };
          }
          log.error({ err: e, ms: Date.now() - started }, 'tool crashed');
          const internal = new ComputeError('PROVIDER_ERROR', 'internal error in compute-mcp', { hint: 'The details were logged; try again, and report it if it repeats.' });
          return { isError: true, content: [{ type: 'text', text: `[INTERNAL] ${internal.message}. ${internal.hint}` }], _meta: { 'compute-mcp/error': { code: 'INTERNAL', message: internal.message } } };
        }
      },
    );
  }
  // The SDK's own listing adds a `$schema` line and integer bounds to every schema; ours is the same schema without
  // them, built from the same tool values (every conversation pays for these bytes).
  if (visible.length) {
    const listing = listTools(visible);
    server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listing }));
  }
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
