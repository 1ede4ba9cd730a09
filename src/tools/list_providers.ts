import { z } from 'zod';
import { CapabilitySchema, isUnsupported } from '../domain/model.js';
import { defineTool } from './define.js';

export const listProviders = defineTool({
  name: 'list_providers',
  title: 'List clouds',
  description: 'List clouds: enabled or why not, live or emulated, what each can do.',
  input: () => ({}),
  output: () => ({
    items: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        enabled: z.boolean(),
        mode: z.string().nullable(),
        reason: z.string().optional(),
        // each capability: true; {differently: how}; or {unsupported: why, and what to do instead}
        capabilities: z.record(z.string(), CapabilitySchema).nullable(),
      }),
    ),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (_args, ctx) => ({ items: ctx.providers.info() }),
  render: (out) =>
    out.items
      .map((p) => {
        if (!p.enabled) return `${p.id}: disabled. ${p.reason ?? ''}`.trim();
        const caps = Object.entries(p.capabilities ?? {});
        const no = caps.filter(([, v]) => isUnsupported(v)).map(([k]) => k);
        const other = caps.filter(([, v]) => typeof v === 'object' && 'differently' in v).map(([k]) => k);
        return `${p.id}: enabled (${p.mode})${no.length ? `; cannot: ${no.join(', ')}` : ''}${other.length ? `; works differently: ${other.join(', ')}` : ''}`;
      })
      .join('\n'),
});
