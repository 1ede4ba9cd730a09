import { z } from 'zod';
import { ComputeError } from '../domain/errors.js';
import { InstanceStatusSchema, PROVIDER_IDS } from '../domain/model.js';
import { ProviderErrorSchema, cursorArg, decodeCursor, encodeCursor, limitArg, money, optionalProviderArg, targets } from './common.js';
import { defineTool } from './define.js';
import { OutError, OutInstance } from './shapes.js';

// A cursor names the cloud being read (index into the clouds covered) and that cloud's own cursor.
const CursorSchema = z.object({ p: z.enum(PROVIDER_IDS), c: z.string().optional() });

export const listInstances = defineTool({
  name: 'list_instances',
  title: 'List instances',
  description: 'List VMs across enabled clouds with status, type, IP and price. A page may hold fewer than limit items.',
  input: {
    provider: optionalProviderArg,
    status: InstanceStatusSchema.optional().describe('Only instances in this status'),
    limit: limitArg(20),
    cursor: cursorArg,
  },
  output: { items: z.array(OutInstance), next_cursor: z.string().optional(), errors: z.array(OutError) },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: async (args, ctx) => {
    const clouds = targets(ctx, args.provider);
    const at = args.cursor ? decodeCursor(args.cursor, CursorSchema) : clouds[0] ? { p: clouds[0].id } : undefined;
    if (!at) return { items: [], errors: [] };
    const index = clouds.findIndex((c) => c.id === at.p);
    if (index < 0) throw new ComputeError('INVALID_INPUT', 'the cursor belongs to another query', { hint: 'Repeat the first call with the same provider filter.' });
    const errors: z.infer<typeof ProviderErrorSchema>[] = [];
    // Read clouds in order, one page per call; a cloud that fails is reported and skipped.
    for (let i = index; i < clouds.length; i++) {
      const cloud = clouds[i]!;
      try {
        const page = await cloud.listInstances({ cursor: i === index ? at.c : undefined, limit: args.limit, signal: ctx.signal });
        const items = page.items.filter((x) => !args.status || x.status === args.status);
        const nextCloud = clouds[i + 1];
        const next = page.next_cursor ? { p: cloud.id, c: page.next_cursor } : nextCloud ? { p: nextCloud.id } : undefined;
        if (items.length === 0 && next && next.p !== cloud.id) continue; // nothing here: move on within this call
        return { items, ...(next ? { next_cursor: encodeCursor(next) } : {}), errors };
      } catch (e) {
        if (!(e instanceof ComputeError)) throw e;
        if (args.provider) throw e;
        errors.push({ provider: cloud.id, code: e.code, message: e.toText() });
      }
    }
    return { items: [], errors };
  },
  render: (out) =>
    [
      ...out.items.map((i) => `${i.provider} ${i.id} "${i.name}": ${i.status}, ${i.instance_type}${i.region ? ` in ${i.region}` : ''}${i.public_ip ? `, ${i.public_ip}` : ''}, ${money(i.price_usd_per_hour)}`),
      ...(out.items.length === 0 ? ['No instances on this page.'] : []),
      ...(out.next_cursor ? [`More: cursor=${out.next_cursor}`] : []),
      ...out.errors.map((e) => `Error from ${e.provider}: ${e.message}`),
    ].join('\n'),
});
