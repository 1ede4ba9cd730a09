/** Builds the MCP server: tools (filtered by policy), the compute://policy resource and the provision_gpu prompt. */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { $ZodError } from 'zod/v4/core';
import type { Config } from './config.js';
import { CARD_MIME, CARD_URI, cardHtml } from './approval/card.js';
import type { ApprovalDesk } from './approval/desk.js';
import { AuditLog } from './guardrails/audit.js';
import { FormValidator } from './guardrails/form.js';
import type { GateDeps } from './guardrails/gate.js';
import type { SharedGuards } from './guardrails/shared.js';
import { spendReport } from './spend/report.js';
import type { StateStore } from './state/store.js';
import type { Logger } from './log.js';
import type { ProviderSet } from './providers/index.js';
import { ALL_TOOLS } from './tools/index.js';
import { registerTools } from './tools/register.js';
import { VERSION } from './version.js';

export interface ServerDeps {
  providers: ProviderSet;
  config: Config;
  log: Logger;
  /** Where tokens, idempotency records, leases and the audit log live (state/store.ts). */
  state: StateStore;
  /**
   * Tokens, idempotency records, the ledger, the leases and the spend lock, opened on `state` (guardrails/shared.ts):
   * shared by every server of one process (e.g. one per HTTP session).
   */
  guards: SharedGuards;
  lostCreateLookup?: GateDeps['lostCreateLookup'];
  pollIntervalMs?: number;
  elicitTimeoutMs?: number;
  /** Approval pages of this process (absent: no URL-mode elicitation, no "url" fallback). */
  desk?: ApprovalDesk;
}

const INSTRUCTIONS =
  'compute-mcp finds, creates, watches, pauses, snapshots and deletes VMs on GPU clouds. Start with list_providers or ' +
  'list_instance_types. create_vm and delete_vm may answer confirmation_required: show the summary to the human and ' +
  'repeat the call with confirmation_token only after they say yes.';

export function createServer(deps: ServerDeps): McpServer {
  const server = new McpServer(
    { name: 'compute-mcp', version: VERSION, title: 'compute-mcp' },
    // Our validator for the forms we send: the SDK's default (Ajv) is left out of the bundle (scripts/build.mjs).
    { instructions: INSTRUCTIONS, capabilities: { logging: {} }, jsonSchemaValidator: new FormValidator() },
  );
  const guards = deps.guards;
  registerTools(server, ALL_TOOLS, {
    providers: deps.providers,
    config: deps.config,
    log: deps.log,
    ...guards,
    audit: new AuditLog(deps.state),
    pollIntervalMs: deps.pollIntervalMs,
    elicitTimeoutMs: deps.elicitTimeoutMs,
    lostCreateLookup: deps.lostCreateLookup,
    ...(deps.desk ? { desk: deps.desk } : {}),
  });

  // The approval card (an MCP App) for hosts that render apps but cannot elicit: src/approval/card.ts.
  server.registerResource(
    'approval-card',
    CARD_URI,
    {
      title: 'Approval card',
      description: 'Shows a summary that needs a human yes, with Approve and Decline.',
      mimeType: CARD_MIME,
    },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: CARD_MIME, text: cardHtml() }] }),
  );

  server.registerResource(
    'spend',
    'compute://spend',
    {
      title: 'Spend',
      description:
        'What runs now on every enabled cloud: $/hour, estimated cost since creation and until each lease ends.',
      mimeType: 'application/json',
    },
    async (uri) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify(await spendReport(deps.providers.enabled(), guards.leases), null, 2),
        },
      ],
    }),
  );

  server.registerResource(
    'policy',
    'compute://policy',
    {
      title: 'Active policy',
      description: 'The spend policy and limits in force (no secrets).',
      mimeType: 'application/json',
    },
    async (uri) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify(
            {
              policy: deps.config.policy,
              prices: deps.config.prices,
              enabledTools: deps.config.enabledTools,
              disabledTools: deps.config.disabledTools,
              providers: deps.providers.info().map(({ id, enabled, mode }) => ({ id, enabled, mode })),
            },
            null,
            2,
          ),
        },
      ],
    }),
  );

  server.registerPrompt(
    'provision_gpu',
    {
      title: 'Provision a GPU VM',
      description: 'Find the cheapest matching GPU type, quote it, get a yes, create, wait and report access.',
      argsSchema: {
        gpu: z.string().describe('GPU model, e.g. H100'),
        hours: z.string().optional().describe('How long it is needed'),
        ssh_public_key: z.string().optional().describe('SSH public key to install'),
      },
    },
    ({ gpu, hours, ssh_public_key }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text:
              `Get me a ${gpu} VM${hours ? ` for ${hours} hours` : ''}. Steps: 1) list_instance_types with gpu="${gpu}" and pick the cheapest available type. ` +
              `2) create_vm with dry_run=true${hours ? ` and lifetime_hours=${hours}` : ''} and show me the quote. ` +
              '3) Create it only after I approve: if create_vm answers confirmation_required, show me the summary and wait for my yes before passing confirmation_token. ' +
              `4) wait_for_instance until running, then get_console and tell me how to connect.${ssh_public_key ? ` Use ssh_public_key: ${ssh_public_key}` : ''}`,
          },
        },
      ],
    }),
  );
  paramsErrorsSaySo(server);
  return server;
}

type Handler = (request: unknown, extra: unknown) => Promise<unknown>;

/**
 * Requests the SDK checks itself (logging/setLevel, prompts/get, resources/read, completion/complete) with params its
 * schema refuses were answered -32603 (internal error) with zod's issues as raw JSON: they are answered -32602 (invalid
 * params) naming each field and what is wrong. Wraps the SDK server's handlers (`Protocol._requestHandlers`, internal
 * to SDK 1.32); another SDK without them keeps its own answers.
 */
function paramsErrorsSaySo(server: McpServer): void {
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, Handler> })._requestHandlers;
  if (!(handlers instanceof Map)) return;
  for (const [method, handler] of handlers)
    handlers.set(method, async (request, extra) => {
      try {
        return await handler(request, extra);
      } catch (e) {
        if (!(e instanceof $ZodError)) throw e; // zod's base error: the SDK parses with zod/mini
        const what = e.issues.map((i) => `${i.path.map(String).join('.') || 'params'}: ${i.message}`).join('; ');
        throw Object.assign(new Error(`Invalid params for ${method}: ${what}`), { code: -32602 });
      }
    });
}
