/** Input fields, output pieces and helpers shared by several tools. */
import { z } from 'zod';
import { ComputeError, isComputeError } from '../domain/errors.js';
import { ProviderIdSchema, type Instance, type ProviderId } from '../domain/model.js';
import { MAX_ID_LENGTH, unsafeIdReason, type IdKind, type Provider } from '../domain/provider.js';
import { leaseView } from '../guardrails/leases.js';
import { once, type ToolContext } from './define.js';

// Each built once, when the first tool's fields are (tools/define.ts). The cloud is a plain string, checked against the
// table of clouds when the call runs (ProviderSet.get): listing every id in every tool's schema would cost each
// conversation tokens for each cloud added.
export const providerArg = once(() => z.string().max(40).describe('Cloud id'));
export const optionalProviderArg = once(() => z.string().max(40).optional().describe('Only this cloud (default: all)'));
export const instanceIdArg = once(() => z.string().min(1).max(MAX_ID_LENGTH).describe('Instance id'));
export const limitArg = (def: number) => z.number().int().min(1).max(100).default(def).describe('Max items');
export const cursorArg = once(() => z.string().max(2000).optional().describe('next_cursor of the last page'));

/**
 * Arguments that carry a cloud's ids, by name, in every tool. register.ts checks them (checkIdArgs) before any handler
 * runs, so no tool can send an id that moves its request (".." turned `GET /instances/..` into `GET /`). A new tool
 * that takes an id names its argument like these.
 */
export const ID_ARGS: Readonly<Record<string, IdKind>> = { id: 'instance', ids: 'instance', from_snapshot: 'snapshot' };

/** Checks each id argument of a call (see ID_ARGS) against the cloud `cloud()` returns; INVALID_INPUT at the first. */
export function checkIdArgs(args: Record<string, unknown>, cloud: () => Provider): void {
  const found = Object.entries(ID_ARGS).flatMap(([field, kind]) => {
    const v = args[field];
    if (typeof v === 'string') return [{ kind, id: v, at: field }];
    return Array.isArray(v) ? v.map((id: string, i) => ({ kind, id, at: `${field}[${i}]` })) : [];
  });
  if (found.length === 0) return;
  const p = cloud();
  for (const f of found) checkId(p, f.kind, f.id, f.at);
}

/**
 * Throws INVALID_INPUT naming the expected form unless `id` is safe in a URL path (every cloud) and has the form this
 * cloud documents for `kind` (where it documents one).
 */
export function checkId(p: Provider, kind: IdKind, id: string, field = 'id'): void {
  const format = p.ids[kind];
  const unsafe = unsafeIdReason(id);
  if (unsafe === undefined && (!format || format.pattern.test(id))) return;
  const message = `${field} ${shown(id)} is not a ${p.displayName} ${kind} id${unsafe ? `: ${unsafe}` : ''}`;
  const hint = format?.describe ?? `${p.displayName} has no ${kind} ids to pass here.`;
  throw new ComputeError('INVALID_INPUT', message, { provider: p.id, hint });
}

/** A caller's value as an answer may quote it: at most 40 characters, JSON-quoted, all but printable ASCII escaped. */
export function shown(v: string): string {
  const cut = v.length > 40 ? `${v.slice(0, 40)}...` : v;
  return JSON.stringify(cut).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const ProviderErrorSchema = once(() =>
  z.object({ provider: ProviderIdSchema, code: z.string(), message: z.string() }),
);
export type ProviderError = z.infer<ReturnType<typeof ProviderErrorSchema>>;

/** Calls `fn` on each cloud in parallel; one cloud's failure becomes an entry in `errors`, not a failed call. */
export async function fanOut<T>(
  providers: Provider[],
  fn: (p: Provider) => Promise<T>,
): Promise<{ results: { provider: ProviderId; value: T }[]; errors: ProviderError[] }> {
  const settled = await Promise.allSettled(providers.map((p) => fn(p)));
  const results: { provider: ProviderId; value: T }[] = [];
  const errors: ProviderError[] = [];
  settled.forEach((s, i) => {
    const provider = providers[i]!.id;
    if (s.status === 'fulfilled') results.push({ provider, value: s.value });
    else if (isComputeError(s.reason)) errors.push({ provider, code: s.reason.code, message: s.reason.toText() });
    else throw s.reason;
  });
  return { results, errors };
}

/** The clouds a list call covers: one if asked, else every enabled one. */
export function targets(ctx: ToolContext, provider?: ProviderId): Provider[] {
  return provider ? [ctx.providers.get(provider)] : ctx.providers.enabled();
}

/** Opaque cursors: base64url JSON, checked on the way back in. */
export function encodeCursor(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  try {
    const r = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (r.success) return r.data;
  } catch {
    // fall through
  }
  throw new ComputeError('INVALID_INPUT', 'the cursor is not valid', {
    hint: 'Pass next_cursor exactly as returned, with the same filters, or omit it.',
  });
}

export const money = (usd: number | null | undefined) =>
  usd === null || usd === undefined ? 'price unknown' : `$${usd.toFixed(2)}/h`;

/** The VMs, each with its lease when it was created through this server (list_instances, get_instance). */
export async function withLeases(ctx: ToolContext, items: Instance[]): Promise<Instance[]> {
  const leaseOf = await ctx.gate.leases.lookup();
  return items.map((i) => {
    const l = leaseOf(i.provider, i.id);
    // Object.assign rather than a spread: the build writes spreads out as slower calls, and this runs for every VM shown.
    return l ? Object.assign({}, i, { lease: leaseView(l) }) : i;
  });
}

/** A lease in words, for the text of a result. */
export const leaseText = (i: Instance): string =>
  i.lease
    ? `, lease ${i.lease.state === 'open' ? 'ends' : i.lease.state === 'overdue' ? 'ran out (still billing)' : 'ended'} ${i.lease.expires_at}${i.lease.state === 'open' ? ` then ${i.lease.then.replace('_', ' ')}` : ''}`
    : '';

/** The text of an approval_pending answer: the page is with the human; the approval id waits on it. */
export const pendingText = (tool: string, out: { summary?: string; message?: string; confirmation_token?: string }) =>
  `APPROVAL PENDING. ${out.summary ?? ''}\n${out.message ?? ''} (${tool} with confirmation_token="${out.confirmation_token}")`;
