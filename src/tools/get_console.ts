import { z } from 'zod';
import { instanceIdArg, providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutConsole } from './shapes.js';

export const getConsole = defineTool({
  name: 'get_console',
  title: 'Get console',
  description: 'How to reach a VM: a console URL, or the SSH command.',
  input: () => ({ provider: providerArg(), id: instanceIdArg() }),
  output: () => ({ console: OutConsole(), note: z.string().optional() }),
  // Not read-only: on clouds with console sessions this opens one.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: async (args, ctx) => ctx.providers.get(args.provider).getConsole(args.id, { signal: ctx.signal }),
  render: (out) =>
    `${out.console.kind}: ${out.console.url ?? out.console.command ?? ''}${out.note ? `\n${out.note}` : ''}`,
});
