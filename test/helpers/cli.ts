/** The built CLI as separate server processes, each with a real SDK Client over stdio: for tests about processes. */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export const ROOT = join(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/index.js');

export interface CliServer {
  client: Client;
  stderr: string[];
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export function requireBuilt(): void {
  if (!existsSync(CLI)) throw new Error('dist/index.js is missing: run `npm run build` (npm test does it)');
}

/** Writes a config file and returns its path. */
export function configFile(config: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'compute-mcp-config-')), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Starts `node dist/index.js ARGS` with exactly `env` (plus PATH and HOME) and connects a client to it. */
export async function startCli(args: string[], env: Record<string, string>): Promise<CliServer> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, ...args],
    stderr: 'pipe',
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      COMPUTE_MCP_EMULATOR_PACE: 'instant',
      ...env,
    },
  });
  const stderr: string[] = [];
  transport.stderr?.on('data', (d) => stderr.push(String(d)));
  const client = new Client({ name: 'process-test', version: '0' });
  await client.connect(transport);
  return {
    client,
    stderr,
    call: async (name, a = {}) =>
      (await client.callTool({ name, arguments: a }, undefined, { timeout: 60_000 })) as CallToolResult,
    close: () => client.close(),
  };
}
