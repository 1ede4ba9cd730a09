/** A real SDK Client connected over InMemoryTransport to a real server, whose Genesis adapter talks to the emulator. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  ElicitRequestSchema,
  type CallToolResult,
  type ElicitRequest,
  type ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';
import { parseConfig, type Config } from '../../src/config.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApprovalDesk, type DeskOptions } from '../../src/approval/desk.js';
import { AuditLog } from '../../src/guardrails/audit.js';
import { LeaseStore } from '../../src/guardrails/leases.js';
import { openGuards, type SharedGuards } from '../../src/guardrails/shared.js';
import { sweep, type SweepAction } from '../../src/guardrails/sweep.js';
import { ConfirmationTokens } from '../../src/guardrails/token.js';
import { StateDir } from '../../src/state/dir.js';
import type { StateStore } from '../../src/state/store.js';
import {
  DEMO_PRICES,
  GenesisEmulator,
  type GenesisEmulatorOptions,
} from '../../src/providers/genesiscloud/emulator.js';
import { ProviderSet } from '../../src/providers/index.js';
import type { MithrilEmulator } from '../../src/providers/mithril/emulator.js';
import type { RunningEmulator } from '../../src/providers/cloud.js';
import { BUILT_CLOUDS } from '../../src/providers/clouds.js';
import { createServer } from '../../src/server.js';
import { memoryLogger } from './logsink.js';

export interface HarnessOptions {
  config?: unknown;
  /** Declare form elicitation and answer with this handler. */
  elicit?: (req: ElicitRequest) => Promise<ElicitResult> | ElicitResult;
  tokens?: ConfirmationTokens;
  /** The state directory (default: a new temporary one). Pass the same one to model a restart. */
  state?: StateDir;
  /** The store the guards use (default: `state`), e.g. PostgreSQL. */
  store?: StateStore;
  /** Reuse a running emulator (e.g. across a server restart); it is not stopped by close(). */
  sharedEmulator?: GenesisEmulator;
  emulator?: GenesisEmulatorOptions;
  elicitTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Live mode: the adapter is built from GENESISCLOUD_API_TOKEN and GENESISCLOUD_BASE_URL (pointed at the emulator). */
  live?: { token: string };
  /** Also run the Mithril emulator and enable Mithril (default: Genesis Cloud only). */
  mithril?: boolean;
  /** Any other built cloud, by id, started through its module in the table of clouds (its emulator as the server's). */
  clouds?: string[];
  /** The emulator's demo price table as the adapter sees it (default: DEMO_PRICES; `{}` = no prices at all). */
  demoPrices?: Record<string, number>;
  /** Retry timing for the HTTP client (kept short in tests). */
  retry?: { baseDelayMs?: number; maxAttempts?: number; maxRetryAfterMs?: number };
  timeouts?: { connectMs?: number; requestMs?: number };
  /** Looks for the VM of a create whose answer was lost (default: 3 looks, 50 ms apart). */
  lostCreateLookup?: { attempts: number; delayMs: number };
  /** The leases' clock (ms): tests move it instead of waiting for a lease to run out. */
  clock?: () => number;
  /** Approval pages for this server (URL-mode elicitation, confirm.fallback "url"). */
  desk?: Omit<DeskOptions, 'log'>;
  /** More client capabilities (e.g. `extensions`). */
  capabilities?: Record<string, unknown>;
  /** Declare URL-mode elicitation and answer it with this handler (the client's "open this link?" prompt). */
  elicitUrl?: (req: ElicitRequest) => Promise<ElicitResult> | ElicitResult;
}

export interface Harness {
  client: Client;
  emulator: GenesisEmulator;
  /** Present when started with `mithril: true`. */
  mithril?: MithrilEmulator;
  /** The emulators of `clouds`, by id. */
  clouds: Record<string, RunningEmulator>;
  providers: ProviderSet;
  config: Config;
  state: StateDir;
  store: StateStore;
  /** Tokens, idempotency records, ledger, leases and spend lock, as the server uses them. */
  guards: SharedGuards;
  desk?: ApprovalDesk;
  /** One lease sweep (guardrails/sweep.ts) on the server's guards and clouds. */
  sweep(opts?: { dryRun?: boolean }): Promise<SweepAction[]>;
  logLines: string[];
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  // Every cloud starts through its module in the table of clouds, as the server starts them; Genesis Cloud always
  // (unless a running one is shared in), Mithril and the others when asked for.
  const ids = [...new Set(['genesiscloud', ...(opts.mithril ? ['mithril'] : []), ...(opts.clouds ?? [])])];
  const clouds: Record<string, RunningEmulator> = Object.fromEntries(
    await Promise.all(
      ids
        .filter((id) => !(id === 'genesiscloud' && opts.sharedEmulator))
        .map(async (id) => {
          const cloud = BUILT_CLOUDS.find((c) => c.id === id);
          if (!cloud) throw new Error(`no built cloud ${id} in the table of clouds`);
          const options = id === 'genesiscloud' ? (opts.emulator as Record<string, unknown> | undefined) : undefined;
          return [id, await cloud.emulator({ pace: 'instant', ...(options ? { options } : {}) })] as const;
        }),
    ),
  );
  const emulator = opts.sharedEmulator ?? (clouds.genesiscloud!.instance as GenesisEmulator);
  const mithril = clouds.mithril?.instance as MithrilEmulator | undefined;
  const state = opts.state ?? new StateDir(mkdtempSync(join(tmpdir(), 'compute-mcp-test-')));
  const config = parseConfig(opts.config ?? {});
  const { log, lines } = memoryLogger();
  const providers = new ProviderSet({
    env: opts.live
      ? { GENESISCLOUD_API_TOKEN: opts.live.token, GENESISCLOUD_BASE_URL: emulator.baseUrl }
      : (opts.env ?? {}),
    config,
    log,
    emulated: opts.live
      ? undefined
      : {
          ...Object.fromEntries(
            Object.entries(clouds).map(([id, e]) => [id, { baseUrl: e.baseUrl, env: e.env, demoPrices: e.demoPrices }]),
          ),
          genesiscloud: {
            baseUrl: emulator.baseUrl,
            env: { GENESISCLOUD_API_TOKEN: emulator.token },
            demoPrices: opts.demoPrices ?? DEMO_PRICES,
          },
        },
    http: {
      retry: { baseDelayMs: 5, maxDelayMs: 20, ...opts.retry },
      ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
    },
  });
  const store = opts.store ?? state;
  const guards: SharedGuards = {
    ...(await openGuards(store)),
    ...(opts.tokens ? { tokens: opts.tokens } : {}),
    ...(opts.clock ? { leases: new LeaseStore(store, opts.clock) } : {}),
  };
  const desk = opts.desk ? new ApprovalDesk({ log, ...opts.desk }) : undefined;
  const server = createServer({
    providers,
    config,
    log,
    state: store,
    guards,
    ...(desk ? { desk } : {}),
    pollIntervalMs: 10,
    elicitTimeoutMs: opts.elicitTimeoutMs,
    lostCreateLookup: opts.lostCreateLookup ?? { attempts: 3, delayMs: 50 },
  });
  const [ct, st] = InMemoryTransport.createLinkedPair();
  const elicitation = {
    ...(opts.elicit ? { form: {} } : {}),
    ...(opts.elicitUrl ? { url: {} } : {}),
  };
  const client = new Client(
    { name: 'test', version: '0' },
    { capabilities: { ...(Object.keys(elicitation).length ? { elicitation } : {}), ...opts.capabilities } },
  );
  if (opts.elicit || opts.elicitUrl)
    client.setRequestHandler(ElicitRequestSchema, (req) =>
      req.params.mode === 'url' ? opts.elicitUrl!(req) : opts.elicit!(req),
    );
  await Promise.all([server.connect(st), client.connect(ct)]);
  return {
    client,
    emulator,
    mithril,
    clouds,
    providers,
    config,
    state,
    store,
    guards,
    ...(desk ? { desk } : {}),
    sweep: (o = {}) =>
      sweep({
        ...guards,
        cloud: (id) => providers.enabled().find((p) => p.id === id),
        audit: new AuditLog(store),
        log,
        ...o,
      }),
    logLines: lines,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: async () => {
      await client.close();
      await server.close();
      await providers.close();
      await desk?.close();
      await Promise.all(Object.values(clouds).map((e) => e.stop()));
    },
  };
}

export const text = (r: CallToolResult) => r.content.map((c) => ('text' in c ? c.text : '')).join('\n');

export const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey000000000000000000000000000000000 test@example';
export const H100 = 'vcpu-192_memory-1920g_nvidia-h100-sxm5-8';
export const CPU2 = 'vcpu-2_memory-4g_disk-80g';
