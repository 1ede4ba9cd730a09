/**
 * The one place tools meet the server: the filters (read-only, destructive, enabled/disabled) derived from
 * annotations, and the wrapper every handler runs in (context, logging, error mapping).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ComputeError } from '../domain/errors.js';
import { ELICIT_TIMEOUT_MS, type HumanChannel } from '../guardrails/confirm.js';
import type { IdempotencyStore } from '../guardrails/idempotency.js';
import type { ConfirmationTokens } from '../guardrails/token.js';
import type { ProviderSet } from '../providers/index.js';
import type { AnyTool, ToolContext } from './define.js';

export interface ToolDeps {
  providers: ProviderSet;
  config: Config;
  tokens: ConfirmationTokens;
  idempotency: IdempotencyStore;
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

export function registerTools(server: McpServer, tools: AnyTool[], deps: ToolDeps): void {
  for (const tool of visibleTools(tools, deps.config)) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: { title: tool.title, ...tool.annotations },
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
          providers: deps.providers, config: deps.config, tokens: deps.tokens, idempotency: deps.idempotency, human, log,
          signal: extra.signal,
          pollIntervalMs: deps.pollIntervalMs ?? 2_000,
          progress: async (progress, total, message) => {
            if (progressToken === undefined) return;
            await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total, message } }).catch(() => undefined);
          },
        };
        const started = Date.now();
        try {
          const out = await tool.handler(args, ctx);
          log.info({ ms: Date.now() - started }, 'tool ok');
          return { content: [{ type: 'text', text: tool.render(out) }], structuredContent: out };
        } catch (e) {
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
}
