/**
 * Hard limits (SPEC §5.5) that no tool argument overrides: what already runs on the enabled clouds, and whether one
 * more VM fits. Counting fails closed: a cloud that cannot be listed makes the total limits uncheckable, so they deny.
 */
import type { Policy } from '../config.js';
import { ComputeError } from '../domain/errors.js';
import type { Instance, InstanceStatus } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import { collectPages } from '../providers/paging.js';
import type { Quote } from './quote.js';
import { fromMicros, toMicros } from './quote.js';

export interface Usage {
  /** VMs that exist (not terminating or terminated). */
  instances: number;
  /** GPUs of VMs that hold them (not paused). */
  gpus: number;
  /** $/hour of VMs that bill compute (not paused), known prices only. */
  usd_per_hour: number;
  /** VMs that bill compute but whose price is unknown. */
  unknown_priced: number;
}

const GONE: InstanceStatus[] = ['terminating', 'terminated'];
const NOT_BILLING: InstanceStatus[] = [...GONE, 'paused'];

export function usageOf(instances: Instance[]): Usage {
  let micros = 0;
  const u: Usage = { instances: 0, gpus: 0, usd_per_hour: 0, unknown_priced: 0 };
  for (const i of instances) {
    if (GONE.includes(i.status)) continue;
    u.instances++;
    if (NOT_BILLING.includes(i.status)) continue;
    u.gpus += i.gpu?.count ?? 0;
    if (i.price_usd_per_hour === null || i.price_usd_per_hour === undefined) u.unknown_priced++;
    else micros += toMicros(i.price_usd_per_hour);
  }
  u.usd_per_hour = fromMicros(micros);
  return u;
}

/** True when a limit needs the count of what already runs. */
export const needsUsage = (p: Policy) =>
  p.limits.maxInstances !== undefined || p.limits.maxGpusTotal !== undefined || p.limits.maxUsdPerHourTotal !== undefined;

/** Every instance on every enabled cloud, all pages. Throws when a cloud cannot be listed (fail closed). */
export async function currentUsage(providers: Provider[], signal?: AbortSignal): Promise<Usage> {
  const all = await Promise.all(
    providers.map(async (p) => {
      try {
        return await collectPages(p.id, undefined as string | undefined, async (cursor) => {
          const page = await p.listInstances({ cursor, limit: 100, signal });
          return { items: page.items, next: page.next_cursor };
        });
      } catch (e) {
        throw new ComputeError('POLICY_DENIED', `cannot count the VMs on ${p.id}, so the total limits cannot be checked; nothing was created`, {
          provider: p.id, hint: 'Try again when list_instances works for that cloud.', cause: e,
        });
      }
    }),
  );
  return usageOf(all.flat());
}

export type LimitCheck = { ok: true; notes: string[] } | { ok: false; rule: string; reason: string; instead: string };

/** Whether one more VM as quoted fits within the total limits, given what runs now. */
export function checkTotals(q: Quote, u: Usage, p: Policy): LimitCheck {
  const l = p.limits;
  const notes: string[] = [];
  if (l.maxInstances !== undefined && u.instances + 1 > l.maxInstances)
    return { ok: false, rule: 'policy.limits.maxInstances', reason: `${u.instances} VM(s) exist and the limit is ${l.maxInstances}`, instead: 'Delete a VM you no longer need (list_instances), or ask the operator to raise the limit.' };
  const gpus = q.gpu?.count ?? 0;
  if (l.maxGpusTotal !== undefined && u.gpus + gpus > l.maxGpusTotal)
    return {
      ok: false, rule: 'policy.limits.maxGpusTotal', reason: `${u.gpus} GPU(s) run and ${gpus} more would pass the limit of ${l.maxGpusTotal}`,
      instead: `At most ${Math.max(0, l.maxGpusTotal - u.gpus)} more GPU(s) fit: pick a smaller type (list_instance_types max GPUs), or pause or delete a GPU VM.`,
    };
  if (l.maxUsdPerHourTotal !== undefined) {
    if (q.usd_per_hour !== null && fromMicros(toMicros(u.usd_per_hour) + toMicros(q.usd_per_hour)) > l.maxUsdPerHourTotal)
      return {
        ok: false, rule: 'policy.limits.maxUsdPerHourTotal',
        reason: `$${u.usd_per_hour}/hour runs now and $${q.usd_per_hour}/hour more would pass the limit of $${l.maxUsdPerHourTotal}/hour`,
        instead: `At most $${fromMicros(Math.max(0, toMicros(l.maxUsdPerHourTotal) - toMicros(u.usd_per_hour)))}/hour more fits: use list_instance_types max_usd_per_hour, or pause or delete a VM.`,
      };
    if (q.usd_per_hour === null) notes.push('the price is unknown, so maxUsdPerHourTotal cannot be checked');
    if (u.unknown_priced > 0) notes.push(`${u.unknown_priced} running VM(s) have unknown prices, so maxUsdPerHourTotal cannot be fully checked`);
  }
  return { ok: true, notes };
}
