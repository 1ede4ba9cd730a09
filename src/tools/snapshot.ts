import { z } from 'zod';
import { need } from '../providers/toolkit.js';
import { instanceIdArg, providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutSnapshot } from './shapes.js';

export const snapshot = defineTool({
  name: 'snapshot',
  title: 'Snapshot instance',
  description: "Snapshot one VM's disk. Restore later with create_vm from_snapshot.",
  input: { provider: providerArg, id: instanceIdArg, name: z.string().min(1).max(64).describe('Snapshot name') },
  output: { snapshot: OutSnapshot },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: async (args, ctx) => {
    const p = ctx.providers.get(args.provider);
    return {
      snapshot: await need(p, 'snapshot', 'snapshot instances', p.snapshot)(args.id, args.name, { signal: ctx.signal }),
    };
  },
  render: ({ snapshot: s }) => `Snapshot ${s.id} "${s.name}" of ${s.instance_id ?? '?'}: ${s.status}`,
});
