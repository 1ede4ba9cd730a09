/** `compute-mcp call TOOL [JSON]`: one tool call for scripts, through the same server and guardrails. */
import { createInterface } from 'node:readline/promises';
import type { ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';
import { startRuntime } from '../runtime.js';
import { connectInProcess } from './inprocess.js';
import { UsageError } from './args.js';
import { ProgressLine } from './progress.js';

/** Asks on the terminal (stderr + stdin), only when stdin is a TTY. */
async function askOnTerminal(message: string): Promise<ElicitResult> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const a = (await rl.question(`${message} [y/N] `)).trim().toLowerCase();
    return a === 'y' || a === 'yes' ? { action: 'accept', content: { approve: true } } : { action: 'decline' };
  } finally {
    rl.close();
  }
}

export async function runCall(
  cmd: { tool: string; json: string; emulate: boolean; config?: string; readOnly: boolean },
  log: Logger,
): Promise<number> {
  let args: unknown;
  try {
    args = JSON.parse(cmd.json);
  } catch (e) {
    throw new UsageError(`JSON arguments do not parse: ${(e as Error).message}`);
  }
  if (!args || typeof args !== 'object' || Array.isArray(args))
    throw new UsageError('JSON arguments must be an object');
  const rt = await startRuntime({
    emulate: cmd.emulate,
    configFile: cmd.config,
    readOnly: cmd.readOnly,
    env: process.env,
    log,
  });
  try {
    const server = rt.makeServer();
    // Progress is asked for only when someone watches stderr: the server then reports it and we draw one line.
    const line = process.stderr.isTTY ? new ProgressLine(cmd.tool, process.stderr) : undefined;
    const ask = async (message: string) => {
      line?.clear();
      return askOnTerminal(message);
    };
    const client = await connectInProcess(server, process.stdin.isTTY ? ask : undefined);
    const { tools } = await client.listTools();
    if (!tools.some((t) => t.name === cmd.tool))
      throw new UsageError(`unknown tool ${cmd.tool}; tools: ${tools.map((t) => t.name).join(', ')}`);
    let r;
    try {
      r = await client.callTool(
        { name: cmd.tool, arguments: args as Record<string, unknown> },
        undefined,
        line ? { onprogress: line.update, resetTimeoutOnProgress: true } : undefined,
      );
    } finally {
      line?.clear();
    }
    await client.close();
    if (r.isError) {
      const err = (r._meta?.['compute-mcp/error'] as object | undefined) ?? { message: textOf(r.content) };
      process.stdout.write(`${JSON.stringify({ error: err }, null, 2)}\n`);
      return 1;
    }
    process.stdout.write(`${JSON.stringify(r.structuredContent, null, 2)}\n`);
    return 0;
  } finally {
    await rt.close();
  }
}

function textOf(content: unknown): string {
  return Array.isArray(content) ? content.map((c: { text?: string }) => c.text ?? '').join('\n') : '';
}
