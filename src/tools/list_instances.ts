import { z } from 'zod';
import { ComputeError } from '../domain/errors.js';
import { InstanceStatusSchema, type Instance } from '../domain/model.js';
import { CLOUD_IDS } from '../providers/clouds.js';
import {
  cursorArg,
  decodeCursor,
  encodeCursor,
  leaseText,
  limitArg,
  money,
  optionalProviderArg,
  targets,
  withLeases,
} from './common.js';
import { defineTool, once } from './define.js';
import { OutError, OutInstance } from './shapes.js';

// A cursor holds, for every cloud still to be read, its own cursor (null: its first page), and the page size per cloud,
// which stays fixed for the whole listing so clouds with numbered pages keep their offsets.
const CursorSchema = once(() =>
  z.object({
    s: z.partialRecord(z.enum(CLOUD_IDS), z.string().nullable()),
    l: z.number().int().min(1).max(100),
  }),
);
type Cursor = z.infer<ReturnType<typeof CursorSchema>>;
const MAX_EMPTY_HOPS = 20;

export const listInstances = defineTool({
  name: 'list_instances',
  title: 'List instances',
  description: 'List VMs across clouds; a page may hold fewer than limit items.',
  input: () => ({
    provider: optionalProviderArg(),
    status: InstanceStatusSchema.optional().describe('Only instances in this status'),
    limit: limitArg(20),
    cursor: cursorArg(),
  }),
  output: () => ({ items: z.array(OutInstance()), next_cursor: z.string().optional(), errors: z.array(OutError()) }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: async (args, ctx) => {
    const clouds = targets(ctx, args.provider);
    let cursor: Cursor | undefined = args.cursor
      ? decodeCursor(args.cursor, CursorSchema())
      : {
          s: Object.fromEntries(clouds.map((c) => [c.id, null])),
          l: Math.max(1, Math.floor(args.limit / Math.max(1, clouds.length))),
        };
    if (Object.keys(cursor.s).some((id) => !clouds.some((c) => c.id === id)))
      throw new ComputeError('INVALID_INPUT', 'the cursor belongs to another query', {
        hint: 'Repeat the first call with the same provider filter.',
      });
    const errors: z.infer<ReturnType<typeof OutError>>[] = [];
    // Every cloud's next page is read in parallel, `l` items each, so a page never holds more than `limit`. A page the
    // status filter empties is skipped within the call (a bounded number of times): an agent never gets an empty page
    // that still says "more". A cloud that fails is reported in `errors` and dropped from the listing.
    for (let hops = 0; cursor && hops < MAX_EMPTY_HOPS; hops++) {
      const here: Cursor = cursor;
      const reading = clouds.filter((c) => c.id in here.s);
      const pages = await Promise.allSettled(
        reading.map((c) => c.listInstances({ cursor: here.s[c.id] ?? undefined, limit: here.l, signal: ctx.signal })),
      );
      const items: Instance[] = [];
      const next: Cursor['s'] = {};
      pages.forEach((r, k) => {
        const cloud = reading[k]!;
        if (r.status === 'fulfilled') {
          for (const x of r.value.items) if (!args.status || x.status === args.status) items.push(x);
          if (r.value.next_cursor) next[cloud.id] = r.value.next_cursor;
          return;
        }
        if (!(r.reason instanceof ComputeError) || args.provider) throw r.reason;
        errors.push({ provider: cloud.id, code: r.reason.code, message: r.reason.toText() });
      });
      cursor = Object.keys(next).length ? { s: next, l: here.l } : undefined;
      if (items.length > 0 || !cursor)
        return {
          items: await withLeases(ctx, items),
          ...(cursor ? { next_cursor: encodeCursor(cursor) } : {}),
          errors,
        };
    }
    return { items: [], ...(cursor ? { next_cursor: encodeCursor(cursor) } : {}), errors };
  },
  render: (out) =>
    [
      ...out.items.map(
        (i) =>
          `${i.provider} ${i.id} "${i.name}": ${i.status}, ${i.instance_type}${i.region ? ` in ${i.region}` : ''}${i.public_ip ? `, ${i.public_ip}` : ''}, ${money(i.price_usd_per_hour)}${leaseText(i)}`,
      ),
      ...(out.items.length === 0 ? ['No instances on this page.'] : []),
      ...(out.next_cursor ? [`More: cursor=${out.next_cursor}`] : []),
      ...out.errors.map((e) => `Error from ${e.provider}: ${e.message}`),
    ].join('\n'),
});
