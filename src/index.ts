#!/usr/bin/env node
/** The `compute-mcp` command. stdout carries only the MCP protocol in stdio mode; logs go to stderr. */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { USAGE, UsageError, parseCommand } from './cli/args.js';
import { runCall } from './cli/call.js';
import { runDemo } from './cli/demo.js';
import { runEmulate } from './cli/emulate.js';
import { ConfigError } from './config.js';
import { createLogger } from './log.js';
import { startRuntime } from './runtime.js';
import { createServer } from './server.js';
import { VERSION } from './version.js';

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
      const pace = process.env.COMPUTE_MCP_EMULATOR_PACE === 'instant' ? 'instant' : 'demo';
      const rt = await startRuntime({ emulate: cmd.emulate, configFile: cmd.config, readOnly: cmd.readOnly, env: process.env, log, pace });
      const server = createServer({ providers: rt.providers, config: rt.config, state: rt.state, log });
      const transport = new StdioServerTransport();
      let closing = false;
      const shutdown = async () => {
        if (closing) return;
        closing = true;
        await server.close().catch(() => undefined);
        await rt.close();
        process.exit(0);
      };
      transport.onclose = () => void shutdown();
      process.once('SIGINT', () => void shutdown());
      process.once('SIGTERM', () => void shutdown());
      process.stdin.once('end', () => void shutdown());
      await server.connect(transport);
      log.info({ version: VERSION, emulate: cmd.emulate, providers: rt.providers.enabled().map((p) => p.id) }, 'compute-mcp ready on stdio');
      return new Promise<number>(() => undefined); // runs until stdin closes or a signal arrives
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(`compute-mcp: ${err.message}\nRun compute-mcp --help for usage.\n`);
      process.exit(2);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`compute-mcp: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`compute-mcp: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
