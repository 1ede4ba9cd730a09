#!/usr/bin/env node
/** The `compute-mcp` command. stdout carries only the MCP protocol in stdio mode; logs go to stderr. */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { USAGE, UsageError, parseCommand } from './cli/args.js';
import { runCall } from './cli/call.js';
import { runDemo } from './cli/demo.js';
import { runEmulate } from './cli/emulate.js';
import { ConfigError } from './config.js';
import { StateError } from './state/dir.js';
import { createLogger, type Logger } from './log.js';
import { startRuntime, type Runtime } from './runtime.js';
import { createServer } from './server.js';
import { LineLimit, MAX_LINE_BYTES } from './transport/body.js';
import {
  HttpConfigError,
  isLoopback,
  parseListen,
  parseTokens,
  sessionLimitsFromEnv,
  startHttp,
} from './transport/http.js';
import { VERSION } from './version.js';

const pace = () => (process.env.COMPUTE_MCP_EMULATOR_PACE === 'instant' ? 'instant' : 'demo');

async function main(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv, process.env);
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case 'emulate':
      return runEmulate();
    case 'demo':
      return runDemo(createLogger({ level: process.env.LOG_LEVEL ?? 'error' }));
    case 'call':
      return runCall(cmd, createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }));
    case 'serve': {
      const log = createLogger();
      const listen = cmd.http !== undefined ? parseListen(cmd.http) : undefined;
      const rt = await startRuntime({
        emulate: cmd.emulate,
        configFile: cmd.config,
        readOnly: cmd.readOnly,
        env: process.env,
        log,
        pace: pace(),
        remote: listen ? !isLoopback(listen.host) : false,
      });
      const makeServer = () => rt.makeServer();
      return listen ? serveHttp(rt, makeServer, listen, log) : serveStdio(rt, makeServer, log);
    }
  }
}

async function serveStdio(
  rt: Runtime,
  makeServer: () => ReturnType<typeof createServer>,
  log: Logger,
): Promise<number> {
  const server = makeServer();
  const input = process.stdin.pipe(new LineLimit(MAX_LINE_BYTES, (bytes) => refuseLine(bytes, log)));
  const transport = new StdioServerTransport(input, process.stdout);
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
  log.info({ version: VERSION, providers: rt.providers.enabled().map((p) => p.id) }, 'compute-mcp ready on stdio');
  return new Promise<number>(() => undefined); // runs until stdin closes or a signal arrives
}

/** A stdin line over the bound was dropped unread: say so on stdout (its id is unknown, so null) and carry on. */
function refuseLine(bytes: number, log: Logger): void {
  const message = `Message of ${bytes} bytes refused: one JSON-RPC message per line, at most ${MAX_LINE_BYTES} bytes`;
  log.warn({ bytes, max: MAX_LINE_BYTES }, 'stdin line too long: dropped');
  process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message } })}\n`);
}

async function serveHttp(
  rt: Runtime,
  makeServer: () => ReturnType<typeof createServer>,
  listen: { host: string; port: number },
  log: Logger,
): Promise<number> {
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
    http = await startHttp({ ...listen, tokens, ...sessionLimitsFromEnv(process.env), makeServer, log });
  } catch (e) {
    await rt.close();
    throw e;
  }
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (
      err instanceof UsageError ||
      err instanceof ConfigError ||
      err instanceof StateError ||
      err instanceof HttpConfigError
    ) {
      process.stderr.write(
        `compute-mcp: ${err.message}\n${err instanceof UsageError ? 'Run compute-mcp --help for usage.\n' : ''}`,
      );
      process.exit(2);
    }
    process.stderr.write(`compute-mcp: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
