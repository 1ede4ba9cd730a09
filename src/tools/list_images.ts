import { z } from 'zod';
import { need } from '../providers/toolkit.js';
import { providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutImage } from './shapes.js';

export const listImages = defineTool({
  name: 'list_images',
  title: 'List images',
  description: "List OS images and snapshots for create_vm's image or from_snapshot.",
  input: () => ({
    provider: providerArg(),
    region: z.string().max(100).optional().describe('Only this region'),
  }),
  output: () => ({ items: z.array(OutImage()) }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: async (args, ctx) => {
    const p = ctx.providers.get(args.provider);
    return {
      items: await need(p, 'list_images', 'list images', p.listImages)({ region: args.region, signal: ctx.signal }),
    };
  },
  render: (out) => out.items.map((i) => `${i.kind} ${i.id}: ${i.name}`).join('\n') || 'No images.',
});
