/**
 * Hard limits (SPEC §5.5) that no tool argument overrides: what already runs on the enabled clouds (their listings
 * plus the ledger's claims they do not show yet), and whether more fits. Counting fails closed: a cloud that cannot be
 * listed, or a price that is unknown under a $ limit, makes the limit uncheckable, so it denies.
 */
import type { Policy } from '../config.js';
import { ComputeError } from '../domain/errors.js';
import type { Instance, InstanceStatus } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import { collectPages } from '../domain/paging.js';
import type { Ledger } from './ledger.js';
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
  /** Their instance types, to name in a refusal. */
  unknown_types: string[];
  /** VMs that bill compute but whose GPU count is unknown (an instance type the adapter does not know). */
  unknown_gpus: number;
}

const GONE: InstanceStatus[] = ['terminating', 'terminated'];
const NOT_BILLING: InstanceStatus[] = [...GONE, 'paused'];

export function usageOf(instances: Instance[]): Usage {
  let micros = 0;
  const u: Usage = { instances: 0, gpus: 0, usd_per_hour: 0, unknown_priced: 0, unknown_types: [], unknown_gpus: 0 };
  for (const i of instances) {
    if (GONE.includes(i.status)) continue;
    const n = i.quantity ?? 1;
    u.instances += n;
    if (NOT_BILLING.includes(i.status)) continue;
    if (i.gpu === undefined) u.unknown_gpus += n;
    else u.gpus += (i.gpu?.count ?? 0) * n;
    if (i.price_usd_per_hour === null || i.price_usd_per_hour === undefined) {
      u.unknown_priced += n;
      if (!u.unknown_types.includes(`${i.provider}/${i.instance_type}`))
        u.unknown_types.push(`${i.provider}/${i.instance_type}`);
    } else micros += toMicros(i.price_usd_per_hour) * n;
  }
  u.usd_per_hour = fromMicros(micros);
  return u;
}

/** True when a limit needs the count of what already runs. */
export const needsUsage = (p: Policy) =>
  p.limits.maxInstances !== undefined ||
  p.limits.maxGpusTotal !== undefined ||
  p.limits.maxUsdPerHourTotal !== undefined;

/**
 * Every instance on every enabled cloud, all pages, plus what the ledger claims and the listings do not show yet.
 * Throws when a cloud cannot be listed (fail closed).
 */
export async function currentUsage(providers: Provider[], ledger?: Ledger, signal?: AbortSignal): Promise<Usage> {
  const all = (await Promise.all(providers.map((p) => listAll(p, signal)))).flat();
  const u = usageOf(all);
  if (!ledger) return u;
  const extra = await ledger.unlisted(all);
  return {
    ...u,
    instances: u.instances + extra.instances,
    gpus: u.gpus + extra.gpus,
    usd_per_hour: fromMicros(toMicros(u.usd_per_hour) + extra.micros),
    unknown_priced: u.unknown_priced + extra.unknown_priced,
  };
}

async function listAll(p: Provider, signal?: AbortSignal): Promise<Instance[]> {
  try {
    return await collectPages(p.id, undefined as string | undefined, async (cursor) => {
      const page = await p.listInstances({ cursor, limit: 100, signal });
      return { items: page.items, next: page.next_cursor };
    });
  } catch (e) {
    throw new ComputeError(
      'POLICY_DENIED',
      `cannot count the VMs on ${p.id}, so the total limits cannot be checked; nothing was started`,
      {
        provider: p.id,
        hint: 'Try again when list_instances works for that cloud.',
        cause: e,
      },
    );
  }
}

/** What one action adds: a create adds a VM; a resume adds only the GPUs and price of a VM already counted. */
export interface Addition {
  instances: number;
  gpus: number;
  usd_per_hour: number | null;
}

export const additionOf = (q: Quote): Addition => ({
  instances: 1,
  gpus: q.gpu?.count ?? 0,
  usd_per_hour: q.usd_per_hour,
});

export type LimitCheck = { ok: true } | { ok: false; rule: string; reason: string; instead: string };

/** Whether `add` fits within the total limits, given what runs now. Unknown prices under a $ limit do not fit. */
export function checkTotals(add: Addition, u: Usage, p: Policy): LimitCheck {
  const l = p.limits;
  if (l.maxInstances !== undefined && add.instances > 0 && u.instances + add.instances > l.maxInstances)
    return {
      ok: false,
      rule: 'policy.limits.maxInstances',
      reason: `${u.instances} VM(s) exist and the limit is ${l.maxInstances}`,
      instead: 'Delete a VM you no longer need (list_instances), or ask the operator to raise the limit.',
    };
  if (l.maxGpusTotal !== undefined && (u.unknown_gpus > 0 || !Number.isFinite(add.gpus)))
    return {
      ok: false,
      rule: 'policy.limits.maxGpusTotal',
      reason:
        u.unknown_gpus > 0
          ? `${u.unknown_gpus} running VM(s) are of a type whose GPU count is unknown, so the limit of ${l.maxGpusTotal} GPUs cannot be checked`
          : `the GPU count is unknown, so the limit of ${l.maxGpusTotal} GPUs cannot be checked`,
      instead: 'Pause or delete the VMs of unknown types (list_instances), or ask the operator to lift maxGpusTotal.',
    };
  if (l.maxGpusTotal !== undefined && add.gpus > 0 && u.gpus + add.gpus > l.maxGpusTotal)
    return {
      ok: false,
      rule: 'policy.limits.maxGpusTotal',
      reason: `${u.gpus} GPU(s) run and ${add.gpus} more would pass the limit of ${l.maxGpusTotal}`,
      instead: `At most ${Math.max(0, l.maxGpusTotal - u.gpus)} more GPU(s) fit: pick a smaller type (list_instance_types max GPUs), or pause or delete a GPU VM.`,
    };
  if (l.maxUsdPerHourTotal !== undefined) {
    const rule = 'policy.limits.maxUsdPerHourTotal';
    if (add.usd_per_hour === null)
      return {
        ok: false,
        rule,
        reason: `the price is unknown, so the limit of $${l.maxUsdPerHourTotal}/hour in total cannot be checked`,
        instead: 'Set its price in the config file (prices.<cloud>.<type>), or pick a type with a known price.',
      };
    if (u.unknown_priced > 0)
      return {
        ok: false,
        rule,
        reason: `${u.unknown_priced} running VM(s) have unknown prices (${u.unknown_types.join(', ') || 'started by this server'}), so the limit of $${l.maxUsdPerHourTotal}/hour in total cannot be checked`,
        instead: 'Set their prices in the config file (prices.<cloud>.<type>), or pause or delete them.',
      };
    if (fromMicros(toMicros(u.usd_per_hour) + toMicros(add.usd_per_hour)) > l.maxUsdPerHourTotal)
      return {
        ok: false,
        rule,
        reason: `$${u.usd_per_hour}/hour runs now and $${add.usd_per_hour}/hour more would pass the limit of $${l.maxUsdPerHourTotal}/hour`,
        instead: `At most $${fromMicros(Math.max(0, toMicros(l.maxUsdPerHourTotal) - toMicros(u.usd_per_hour)))}/hour more fits: use list_instance_types max_usd_per_hour, or pause or delete a VM.`,
      };
  }
  return { ok: true };
}
