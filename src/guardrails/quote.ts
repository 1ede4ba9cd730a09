/**
 * The quote every create starts with: cloud, type, region, GPUs, $/hour (or unknown), lifetime and the total cap.
 * Money is computed in integer micro-dollars so sums never drift.
 */
import { z } from 'zod';
import { shownFields } from '../domain/create.js';
import {
  GpuSchema,
  PriceSourceSchema,
  ProviderIdSchema,
  type CreatePlan,
  type CreateRequest,
} from '../domain/model.js';

export const QuoteSchema = z.object({
  provider: ProviderIdSchema,
  instance_type: z.string(),
  region: z.string(),
  image: z.string(),
  gpu: GpuSchema.nullable(),
  usd_per_hour: z.number().nullable(),
  price_source: PriceSourceSchema.nullable(),
  lifetime_hours: z.number().nullable(),
  max_total_usd: z.number().nullable(),
  /** When the lease would run out if created now, and what happens then; null: no lease (the policy allows none). */
  expires_at: z.string().nullable(),
  on_expiry: z.enum(['stop', 'delete', 'notify', 'cloud_ends']).nullable(),
  notes: z.array(z.string()).optional(),
});
export type Quote = z.infer<typeof QuoteSchema>;

const MICRO = 1_000_000;
export const toMicros = (usd: number): number => Math.round(usd * MICRO);
export const fromMicros = (micros: number): number => Math.round(micros / 10_000) / 100; // to cents

export type LeaseThen = NonNullable<Quote['on_expiry']>;

export function makeQuote(
  plan: CreatePlan,
  lifetimeHours: number | null,
  then: LeaseThen = 'stop',
  now: number = Date.now(),
): Quote {
  const price = plan.price.usd_per_hour;
  return {
    provider: plan.provider,
    instance_type: plan.instance_type.id,
    region: plan.region,
    image: plan.image,
    gpu: plan.instance_type.gpu,
    usd_per_hour: price,
    price_source: plan.price.source,
    lifetime_hours: lifetimeHours,
    max_total_usd:
      price !== null && lifetimeHours !== null ? fromMicros(Math.round(toMicros(price) * lifetimeHours)) : null,
    expires_at: lifetimeHours === null ? null : new Date(now + lifetimeHours * 3_600_000).toISOString(),
    on_expiry: lifetimeHours === null ? null : then,
    ...(plan.notes?.length ? { notes: plan.notes } : {}),
  };
}

const SOURCE_LABEL: Record<string, string> = {
  api: 'live price',
  config: 'price from your config',
  limit_price: 'your bid limit',
  emulator: 'emulator demo price',
};

/** What the summary says happens when the lease runs out. */
export const LEASE_END: Record<LeaseThen, string> = {
  stop: 'then it is paused (GPU billing stops, the disk is kept)',
  delete: 'then it is deleted (its disk is lost)',
  notify: 'then you are told, and it bills until paused or deleted',
  cloud_ends: 'then the cloud ends it (its disk is lost unless snapshotted)',
};

/** Text that may stand in a summary as it is: an identifier, never a sentence. */
const PLAIN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}$/;

/**
 * A value from an agent or a cloud, made safe to show a human: identifiers as they are, anything else (spaces,
 * quotes, newlines, claims about prices) quoted as a JSON string and cut at 100 characters, so it reads as data and
 * can never pass for a line of the summary. `quoted` always quotes (for names).
 */
export function shown(value: string, quoted = false): string {
  const v = value.length > 100 ? `${value.slice(0, 100)}...` : value;
  if (PLAIN.test(v) && !quoted) return v;
  // Anything outside printable ASCII is escaped: line and paragraph separators, bidi overrides, look-alikes.
  return JSON.stringify(v).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The short exact text a human approves. The facts come first, in one line, from validated fields: cloud, type, GPUs,
 * region, price, lifetime; the agent-chosen name comes last, quoted.
 */
export function quoteSummary(q: Quote, req: Pick<CreateRequest, 'name'> & Partial<CreateRequest>): string {
  const gpu = q.gpu ? `${q.gpu.count}× ${shown(q.gpu.model)}` : 'no GPU';
  const price =
    q.usd_per_hour === null
      ? 'price unknown'
      : `$${q.usd_per_hour.toFixed(2)}/hour (${SOURCE_LABEL[q.price_source ?? ''] ?? 'price'})`;
  const life =
    q.lifetime_hours === null || q.on_expiry === null
      ? 'no lease: it bills until paused or deleted'
      : `a lease of ${q.lifetime_hours} h${q.max_total_usd === null ? '' : ` (about $${q.max_total_usd.toFixed(2)})`}, ${LEASE_END[q.on_expiry]}`;
  const notes = q.notes?.length ? ` ${q.notes.join(' ')}` : '';
  const extras = shownFields(req as CreateRequest);
  const more = extras.length ? ` With ${extras.join(', ')}.` : '';
  return `Create on ${q.provider}: ${shown(q.instance_type)} (${gpu}) in ${shown(q.region)}, ${price}, ${life}. Image ${shown(q.image)}. Name: ${shown(req.name, true)}.${more}${notes}`;
}
