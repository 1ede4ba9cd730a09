import { z } from 'zod';
import { ComputeError } from '../domain/errors.js';
import { InstanceStatusSchema, PROVIDER_IDS } from '../domain/model.js';
import { cursorArg, decodeCursor, encodeCursor, limitArg, money, optionalProviderArg, targets } from './common.js';
import { defineTool } from './define.js';
import { OutError, OutInstance } from './shapes.js';

// A cursor names the cloud being read (index into the clouds covered) and that cloud's own cursor.
const CursorSchema = z.object({ p: z.enum(PROVIDER_IDS), c: z.string().optional() });
const MAX_EMPTY_HOPS = 20;

export const listInstances = defineTool({
  name: 'list_instances',
  title: 'List instances',
  description: 'List VMs across clouds; a page may hold fewer than limit items.',
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
    const errors: z.infer<typeof OutError>[] = [];
    // One page per call; a page that the status filter empties is skipped within the call (a bounded number of
    // times), so an agent never gets an empty page that still says "more". A cloud that fails is reported, skipped.
    let cursor: { p: (typeof PROVIDER_IDS)[number]; c?: string } | undefined = at;
    for (let hops = 0; cursor && hops < MAX_EMPTY_HOPS; hops++) {
      const here = cursor;
      const i = clouds.findIndex((c) => c.id === here.p);
      const cloud = clouds[i]!;
      const nextCloud = clouds[i + 1];
      try {
        const page = await cloud.listInstances({ cursor: here.c, limit: args.limit, signal: ctx.signal });
        const items = page.items.filter((x) => !args.status || x.status === args.status);
        cursor = page.next_cursor ? { p: cloud.id, c: page.next_cursor } : nextCloud ? { p: nextCloud.id } : undefined;
        if (items.length > 0 || !cursor) return { items, ...(cursor ? { next_cursor: encodeCursor(cursor) } : {}), errors };
      } catch (e) {
        if (!(e instanceof ComputeError) || args.provider) throw e;
        errors.push({ provider: cloud.id, code: e.code, message: e.toText() });
        cursor = nextCloud ? { p: nextCloud.id } : undefined;
      }
    }
    return { items: [], ...(cursor ? { next_cursor: encodeCursor(cursor) } : {}), errors };
  },
  render: (out) =>
    [
      ...out.items.map((i) => `${i.provider} ${i.id} "${i.name}": ${i.status}, ${i.instance_type}${i.region ? ` in ${i.region}` : ''}${i.public_ip ? `, ${i.public_ip}` : ''}, ${money(i.price_usd_per_hour)}`),
      ...(out.items.length === 0 ? ['No instances on this page.'] : []),
      ...(out.next_cursor ? [`More: cursor=${out.next_cursor}`] : []),
      ...out.errors.map((e) => `Error from ${e.provider}: ${e.message}`),
    ].join('\n'),
});
