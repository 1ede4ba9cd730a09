import { z } from 'zod';
import { need } from '../providers/toolkit.js';
import { instanceIdArg, providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutSnapshot } from './shapes.js';

export const listSnapshots = defineTool({
  name: 'list_snapshots',
  title: 'List snapshots',
  description: 'List the snapshots of one VM, or of the whole cloud.',
  input: () => ({
    provider: providerArg(),
    id: instanceIdArg().optional().describe('Instance id; omit for all snapshots'),
  }),
  output: () => ({ items: z.array(OutSnapshot()) }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: async (args, ctx) => {
    const p = ctx.providers.get(args.provider);
    return {
      items: await need(p, 'snapshot', 'list snapshots', p.listSnapshots)({ instanceId: args.id, signal: ctx.signal }),
    };
  },
  render: (out) =>
    out.items
      .map((s) => `${s.id} "${s.name}": ${s.status}${s.instance_id ? ` (of ${s.instance_id})` : ''}`)
      .join('\n') || 'No snapshots.',
});
