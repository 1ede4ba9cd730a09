/** Assembles what a server needs: config, emulators (in emulator mode) and the enabled clouds. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from './config.js';
import { startEmulators, type EmulatorSet } from './emulator/index.js';
import type { Logger } from './log.js';
import { ProviderSet } from './providers/index.js';
import { defaultStateDir } from './state/dir.js';
import { openStore, type StateStore } from './state/store.js';
import { ApprovalDesk } from './approval/desk.js';
import { AuditLog } from './guardrails/audit.js';
import { openGuards, type SharedGuards } from './guardrails/shared.js';
import { sweep, type SweepAction, type SweepDeps } from './guardrails/sweep.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createServer, type ServerDeps } from './server.js';

export interface RuntimeOptions {
  emulate: boolean;
  configFile?: string;
  readOnly?: boolean;
  /** Serving HTTP off loopback: the confirmation fallback then defaults to "deny" (SPEC §5.3). */
  remote?: boolean;
  env: NodeJS.ProcessEnv;
  log: Logger;
  pace?: 'instant' | 'demo';
}

export interface Runtime {
  config: Config;
  providers: ProviderSet;
  /** The state directory, or PostgreSQL when COMPUTE_MCP_DATABASE_URL is set. */
  state: StateStore;
  /** Shared by every MCP session of the process: tokens, idempotency records, the ledger and the spend lock. */
  guards: SharedGuards;
  emulators?: EmulatorSet;
  /** An MCP server on this runtime (one per stdio connection or HTTP session), sharing its clouds and guards. */
  makeServer(extra?: Partial<Pick<ServerDeps, 'pollIntervalMs'>>): McpServer;
  /** One sweep over the leases that are due (guardrails/sweep.ts). */
  sweep(opts?: Pick<SweepDeps, 'dryRun' | 'signal'>): Promise<SweepAction[]>;
  /** Sweeps now and then every policy.leases.sweepSeconds until close(); a sweep with nothing due calls no cloud. */
  startSweeper(): void;
  /** Approval pages (URL-mode elicitation, confirm.fallback "url"): on loopback, or under /approve/ of the HTTP server. */
  desk: ApprovalDesk;
  close(): Promise<void>;
}

export async function startRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const config = loadConfig(opts.configFile, { remote: opts.remote });
  if (opts.readOnly) config.policy.readOnly = true;
  // Emulated VMs vanish with the process, so their records do too: emulator mode gets a fresh state directory
  // unless COMPUTE_MCP_STATE_DIR names one (or COMPUTE_MCP_DATABASE_URL a database).
  const state = await openStore(
    opts.env,
    () =>
      opts.emulate && !opts.env.COMPUTE_MCP_STATE_DIR
        ? mkdtempSync(join(tmpdir(), 'compute-mcp-emulated-'))
        : defaultStateDir(opts.env),
    (message) => opts.log.error(message),
  );
  // The state store first: a refused one stops the server before anything starts.
  const guards = await openGuards(state).catch(async (e: unknown) => {
    await state.close();
    throw e;
  });
  opts.log.info({ store: state.kind, where: state.where }, 'state store');
  for (const fix of state.fixes) opts.log.warn({ where: state.where }, fix);
  const emulators = opts.emulate ? await startEmulators({ pace: opts.pace }) : undefined;
  const providers = new ProviderSet({ env: opts.env, config, log: opts.log, emulated: emulators?.clouds });
  if (emulators) opts.log.info({ emulators: emulators.baseUrls }, 'emulator mode: clouds are emulated on loopback');
  const env = opts.env;
  const desktop =
    !!env.BROWSER ||
    process.platform === 'darwin' ||
    process.platform === 'win32' ||
    !!(env.DISPLAY || env.WAYLAND_DISPLAY);
  const desk = new ApprovalDesk({
    log: opts.log,
    env,
    // A browser opens only for a server on this machine (stdio, or HTTP on loopback), never for a remote one.
    browser: config.policy.confirm.openBrowser === 'auto' && desktop && !opts.remote,
    ...(config.policy.confirm.webhook ? { webhook: config.policy.confirm.webhook.url } : {}),
  });
  const runSweep = (o: Pick<SweepDeps, 'dryRun' | 'signal'> = {}) =>
    sweep({
      ...guards,
      cloud: (id) => providers.enabled().find((p) => p.id === id),
      audit: new AuditLog(state),
      log: opts.log,
      ...o,
    });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = runSweep().then(
      (actions) => {
        if (actions.length) opts.log.info({ actions }, 'lease sweep');
      },
      (err: unknown) => opts.log.warn({ err }, 'lease sweep failed; the next one tries again'),
    );
  };
  return {
    config,
    providers,
    state,
    guards,
    emulators,
    desk,
    makeServer: (extra = {}) => createServer({ providers, config, state, log: opts.log, guards, desk, ...extra }),
    sweep: runSweep,
    startSweeper: () => {
      if (timer) return;
      setImmediate(tick);
      timer = setInterval(tick, config.policy.leases.sweepSeconds * 1000).unref();
    },
    close: async () => {
      clearInterval(timer);
      await running;
      await desk.close();
      await providers.close();
      await emulators?.stop();
      await state.close();
    },
  };
}
