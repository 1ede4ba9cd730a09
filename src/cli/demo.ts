/**
 * `compute-mcp demo`: the main job on the embedded emulators, through a real MCP client: find H100s everywhere, then
 * each cloud's own walk (its module's `demo`): quote, confirm, create, wait, console, pause, resume or snapshot,
 * delete. The client cannot elicit, so the demo walks the confirmation-token path that works with every client; the
 * "human" approval is printed where a person would answer.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';
import { BUILT_CLOUDS } from '../providers/clouds.js';
import { startRuntime } from '../runtime.js';
import { connectInProcess } from './inprocess.js';

type Out = Record<string, unknown> & { status?: string };

export async function runDemo(
  log: Logger,
  write: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
  const pace = process.env.COMPUTE_MCP_EMULATOR_PACE === 'instant' ? 'instant' : 'demo';
  const rt = await startRuntime({ emulate: true, env: {}, log, pace });
  const server = rt.makeServer({ pollIntervalMs: pace === 'instant' ? 20 : 500 });
  const client = await connectInProcess(server);
  const say = (s = '') => write(`${s}\n`);
  let step = 0;
  const call = async (title: string, name: string, args: Record<string, unknown>): Promise<Out> => {
    say(
      `\n${++step}. ${title}\n   → ${name} ${JSON.stringify(args, (_k, v) => (typeof v === 'string' && v.length > 40 ? `${v.slice(0, 24)}…` : v))}`,
    );
    const r = await client.callTool({ name, arguments: args }, CallToolResultSchema, {
      onprogress: (p) => say(`   … ${p.message ?? `${p.progress}/${p.total}`}`),
    });
    const text = (r.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
    say(
      text
        .split('\n')
        .map((l) => `   ${l}`)
        .join('\n'),
    );
    if (r.isError) return { error: text };
    return r.structuredContent as Out;
  };

  try {
    say('compute-mcp demo — every cloud call below goes to a local emulator; nothing is billed.');
    await call('Which clouds are there?', 'list_providers', {});
    await call('Find H100 types on every cloud, cheapest first', 'list_instance_types', { gpu: 'h100', limit: 5 });
    // Each cloud walks its own part: find, quote, a human's yes, create, reach, pause, and clean up.
    for (const cloud of BUILT_CLOUDS) await cloud.demo?.({ call, say, human: (words) => say(`\n   [human] ${words}`) });
    await call('Nothing left running', 'list_instances', { status: 'running' });
    say(
      '\nDone: every VM was found, quoted, approved by a human, created, reached and cleaned up; nothing was billed.',
    );
    return 0;
  } catch (e) {
    say(`\nThe demo stopped: ${(e as Error).message}`);
    return 1;
  } finally {
    await (client as Client).close();
    await server.close();
    await rt.close();
  }
}
