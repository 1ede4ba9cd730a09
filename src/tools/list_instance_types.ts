import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ComputeError } from '../domain/errors.js';
import type { InstanceType } from '../domain/model.js';
import {
  cursorArg,
  decodeCursor,
  encodeCursor,
  fanOut,
  limitArg,
  money,
  optionalProviderArg,
  targets,
} from './common.js';
import { defineTool, once } from './define.js';
import { OutError, OutInstanceType } from './shapes.js';

/** Lower-case letters and digits only, vendor words dropped: "NVIDIA H100" → "h100", "RTX-3090" → "rtx3090". */
export const normalizeGpu = (s: string) =>
  s
    .toLowerCase()
    .replace(/nvidia|geforce|intel|amd|\u00ae|\u2122/g, '')
    .replace(/[^a-z0-9]/g, '');

/** Case-insensitive model match with aliases: "h100" matches "H100", "3090" matches "RTX 3090". */
export function gpuMatches(model: string, query: string): boolean {
  const m = normalizeGpu(model);
  const q = normalizeGpu(query);
  return q.length > 0 && (m.includes(q) || q.includes(m));
}

/** Price ascending, unknown prices last, then cloud and id for a stable order. */
export function byPrice(a: InstanceType, b: InstanceType): number {
  const pa = a.price.usd_per_hour;
  const pb = b.price.usd_per_hour;
  if (pa !== pb) {
    if (pa === null) return 1;
    if (pb === null) return -1;
    return pa - pb;
  }
  return a.provider.localeCompare(b.provider) || a.id.localeCompare(b.id);
}

const CursorSchema = once(() => z.object({ o: z.number().int().nonnegative(), f: z.string() }));

export const listInstanceTypes = defineTool({
  name: 'list_instance_types',
  title: 'List instance types',
  description: 'Search instance types across clouds, cheapest first. Use before create_vm.',
  input: () => ({
    provider: optionalProviderArg(),
    gpu: z.string().max(50).optional().describe('GPU model, e.g. "h100"'),
    min_gpus: z.number().int().min(0).optional().describe('At least this many GPUs'),
    min_vcpus: z.number().int().min(0).optional().describe('At least this many vCPUs'),
    min_memory_gib: z.number().min(0).optional().describe('At least this much RAM, GiB'),
    max_usd_per_hour: z.number().min(0).optional().describe('Max $/hour; drops unknown prices'),
    region: z.string().max(100).optional().describe('Only this region'),
    limit: limitArg(20),
    cursor: cursorArg(),
  }),
  output: () => ({
    items: z.array(OutInstanceType()),
    next_cursor: z.string().optional(),
    errors: z.array(OutError()),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: async (args, ctx) => {
    const { limit, cursor, ...filters } = args;
    const fingerprint = createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 12);
    const offset = cursor ? decodeCursor(cursor, CursorSchema()) : { o: 0, f: fingerprint };
    if (offset.f !== fingerprint)
      throw new ComputeError('INVALID_INPUT', 'the cursor was issued for other filters', {
        hint: 'Repeat the call with the same filters, or omit cursor.',
      });
    const { results, errors } = await fanOut(targets(ctx, args.provider), (p) =>
      p.listInstanceTypes({ region: args.region, signal: ctx.signal }),
    );
    const all = results
      .flatMap((r) => r.value)
      .filter(
        (t) =>
          (!args.gpu || (t.gpu && gpuMatches(t.gpu.model, args.gpu))) &&
          (args.min_gpus === undefined || (t.gpu?.count ?? 0) >= args.min_gpus) &&
          (args.min_vcpus === undefined || t.vcpus >= args.min_vcpus) &&
          (args.min_memory_gib === undefined || t.memory_gib >= args.min_memory_gib) &&
          (args.max_usd_per_hour === undefined ||
            (t.price.usd_per_hour !== null && t.price.usd_per_hour <= args.max_usd_per_hour)),
      )
      .sort(byPrice);
    const items = all.slice(offset.o, offset.o + limit);
    const next = offset.o + limit < all.length ? encodeCursor({ o: offset.o + limit, f: fingerprint }) : undefined;
    return { items, ...(next ? { next_cursor: next } : {}), errors };
  },
  render: (out) =>
    [
      ...out.items.map(
        (t) =>
          `${t.provider} ${t.id}: ${t.gpu ? `${t.gpu.count}x ${t.gpu.model}` : 'CPU'}, ${t.vcpus} vCPU, ${t.memory_gib} GiB, ${money(t.price.usd_per_hour)}${t.price.source ? ` (${t.price.source})` : ''}, regions ${t.regions.join(',') || 'none available'}`,
      ),
      ...(out.items.length === 0 ? ['No matching instance types.'] : []),
      ...(out.next_cursor ? [`More: cursor=${out.next_cursor}`] : []),
      ...out.errors.map((e) => `Error from ${e.provider}: ${e.message}`),
    ].join('\n'),
});
