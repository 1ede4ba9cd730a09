#!/usr/bin/env node
/** The `compute-mcp` command. stdout carries only the MCP protocol in stdio mode; logs go to stderr. */
import './zod.js'; // first: how zod runs, before any schema is made
import * as nodeModule from 'node:module';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { UsageError, parseCommand } from './cli/args.js';
import type { Logger } from './log.js';
import type { Runtime } from './runtime.js';

// Start-up is paid by every client session: each command imports only what it uses, when it runs. From Node 22.1 on,
// Node keeps the code it compiled for the chunks imported below (in its compile cache, a directory under the temporary
// directory), so later starts skip most of that work; Node 20 has no such cache.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const pace = () => (process.env.COMPUTE_MCP_EMULATOR_PACE === 'instant' ? 'instant' : 'demo');
const logger = async (level?: string) => (await import('./log.js')).createLogger(level ? { level } : {});

async function main(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv, process.env);
  switch (cmd.kind) {
    case 'help': {
      const [{ usage }, { CLOUDS }] = await Promise.all([import('./cli/args.js'), import('./providers/clouds.js')]);
      process.stdout.write(usage(CLOUDS));
      return 0;
    }
    case 'version':
      process.stdout.write(`${(await import('./version.js')).VERSION}\n`);
      return 0;
    case 'emulate':
      return (await import('./cli/emulate.js')).runEmulate();
    case 'demo':
      return (await import('./cli/demo.js')).runDemo(await logger(process.env.LOG_LEVEL ?? 'error'));
    case 'call':
      return (await import('./cli/call.js')).runCall(cmd, await logger(process.env.LOG_LEVEL ?? 'warn'));
    case 'reap':
      return (await import('./cli/reap.js')).runReap(cmd, await logger(process.env.LOG_LEVEL ?? 'warn'));
    case 'spend':
      return (await import('./cli/spend.js')).runSpend(cmd, await logger(process.env.LOG_LEVEL ?? 'warn'));
    case 'setup':
      return (await import('./cli/setup.js')).runSetup(cmd);
    case 'doctor':
      return (await import('./cli/doctor.js')).runDoctor(cmd, await logger(process.env.LOG_LEVEL ?? 'error'));
    case 'serve': {
      const runtime = import('./runtime.js'); // its chunks load while the logger is made
      const log = await logger();
      const http = cmd.http !== undefined ? await import('./transport/http.js') : undefined;
      const listen = http && cmd.http !== undefined ? http.parseListen(cmd.http) : undefined;
      const { startRuntime } = await runtime;
      const rt = await startRuntime({
        emulate: cmd.emulate,
        configFile: cmd.config,
        readOnly: cmd.readOnly,
        env: process.env,
        log,
        pace: pace(),
        remote: http && listen ? !http.isLoopback(listen.host) : false,
      });
      return http && listen ? serveHttp(http, rt, listen, log) : serveStdio(rt, log);
    }
  }
}

async function serveStdio(rt: Runtime, log: Logger): Promise<number> {
  const [{ StdioTransport }, { LineLimit, MAX_LINE_BYTES }, { VERSION }] = await Promise.all([
    import('./transport/stdio.js'),
    import('./transport/body.js'),
    import('./version.js'),
  ]);
  const server: McpServer = rt.makeServer();
  const input = process.stdin.pipe(new LineLimit(MAX_LINE_BYTES, (bytes) => refuseLine(bytes, MAX_LINE_BYTES, log)));
  const transport = new StdioTransport(input, process.stdout, (why) => log.warn({ why }, 'stdin line refused'));
  const shutdown = once(async () => {
    await server.close().catch(() => undefined);
    await rt.close().catch((err: unknown) => log.warn({ err }, 'closing the runtime failed'));
    process.exit(0);
  });
  transport.onclose = () => void shutdown();
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  process.stdin.once('end', () => void shutdown());
  // The client closed our stdout (EPIPE): nobody is left to answer, and an unhandled 'error' would crash with a trace.
  process.stdout.on('error', () => void shutdown());
  await server.connect(transport);
  transport.deliverTo(server);
  rt.startSweeper();
  log.info({ version: VERSION, providers: rt.providers.enabled().map((p) => p.id) }, 'compute-mcp ready on stdio');
  return new Promise<number>(() => undefined); // runs until stdin closes or a signal arrives
}

/** A stdin line over the bound was dropped unread: say so on stdout (its id is unknown, so none) and carry on. */
function refuseLine(bytes: number, max: number, log: Logger): void {
  const message = `Message of ${bytes} bytes refused: one JSON-RPC message per line, at most ${max} bytes`;
  log.warn({ bytes, max }, 'stdin line too long: dropped');
  process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', error: { code: -32600, message } })}\n`);
}

async function serveHttp(
  transport: typeof import('./transport/http.js'),
  rt: Runtime,
  listen: { host: string; port: number },
  log: Logger,
): Promise<number> {
  const { parseTokens, sessionLimitsFromEnv, startHttp } = transport;
  let http: Awaited<ReturnType<typeof startHttp>> | undefined;
  let done!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (done = resolve));
  // Signal handlers go in before the address is announced, so a client that stops us right away stops us cleanly.
  const shutdown = once(async () => {
    log.info('shutting down');
    // A failure while closing is logged, not left as an unhandled rejection that would crash with a trace.
    await http?.close().catch((err: unknown) => log.warn({ err }, 'closing the HTTP server failed'));
    await rt.close().catch((err: unknown) => log.warn({ err }, 'closing the runtime failed'));
    done(0);
  });
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  try {
    const tokens = parseTokens(process.env.COMPUTE_MCP_HTTP_TOKEN);
    const { APPROVE_PATH } = await import('./approval/desk.js');
    http = await startHttp({
      ...listen,
      tokens,
      ...sessionLimitsFromEnv(process.env),
      makeServer: () => rt.makeServer(),
      log,
      pages: { prefix: APPROVE_PATH, handle: (req, res) => rt.desk.handle(req, res) },
    });
    // Approval links point here: the address clients reach this server at (COMPUTE_MCP_PUBLIC_URL behind a proxy).
    rt.desk.serveAt(process.env.COMPUTE_MCP_PUBLIC_URL ?? new URL(http.url).origin);
  } catch (e) {
    await rt.close();
    throw e;
  }
  rt.startSweeper();
  (await import('./transport/heap.js')).capYoungGeneration();
  process.stderr.write(`compute-mcp listening on ${http.url}\n`);
  return finished;
}

/**
 * Runs fn at most once. The guard is set before fn starts: fn closes the server, whose transport's onclose calls
 * shutdown again while fn is still on the stack (assigning fn()'s result would come too late and recurse forever).
 */
function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= Promise.resolve().then(fn));
}

/** Errors the user fixes (usage, config, state directory, HTTP settings): one line and exit code 2, no stack. */
async function isUserError(err: unknown): Promise<boolean> {
  if (err instanceof UsageError) return true;
  const [{ ConfigError }, { StateError }, { HttpConfigError }] = await Promise.all([
    import('./config.js'),
    import('./state/dir.js'),
    import('./transport/http.js'),
  ]);
  return err instanceof ConfigError || err instanceof StateError || err instanceof HttpConfigError;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err: unknown) => {
    if (await isUserError(err).catch(() => false)) {
      process.stderr.write(
        `compute-mcp: ${(err as Error).message}\n${err instanceof UsageError ? 'Run compute-mcp --help for usage.\n' : ''}`,
      );
      process.exit(2);
    }
    process.stderr.write(`compute-mcp: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
