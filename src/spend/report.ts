/**
 * What runs and what it costs: per cloud and per VM, the $/hour now, the cost since creation and the cost until the
 * lease ends. None of the clouds has a billing API the server reads, so every cost is an estimate (price × hours since
 * creation, paused time included) and is labelled so. Read by the `compute://spend` resource and `compute-mcp spend`.
 */
import { ComputeError } from '../domain/errors.js';
import type { Instance } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import { collectPages } from '../domain/paging.js';
import { leaseView, type LeaseStore, type LeaseView } from '../guardrails/leases.js';

const HOUR = 3_600_000;
/** Statuses that bill compute (a paused VM bills its disk at most, which no cloud here prices). */
const BILLING = new Set<Instance['status']>(['pending', 'running', 'starting', 'stopping', 'unknown', 'error']);

export const COST_BASIS = 'estimate: $/hour × hours since creation (no cloud here has a billing API the server reads)';

export interface SpendVm {
  provider: string;
  id: string;
  name: string;
  instance_type: string;
  status: Instance['status'];
  region?: string;
  /** Billing compute now. */
  billing: boolean;
  /** The cloud's price, else the one quoted when it was created here; null when neither is known. */
  usd_per_hour: number | null;
  created_at?: string;
  cost_so_far_usd: number | null;
  /** Created through this server (it has a lease, or had one). */
  ours: boolean;
  lease?: LeaseView & { cost_to_end_usd: number | null };
}

export interface SpendCloud {
  provider: string;
  name: string;
  vms: number;
  billing: number;
  usd_per_hour_now: number;
  /** VMs billing now whose price is unknown (not in usd_per_hour_now). */
  unknown_priced: number;
  cost_so_far_usd: number;
  cost_to_lease_end_usd: number;
  /** The cloud could not be read: its VMs are missing from the report. */
  error?: string;
}

export interface SpendReport {
  generated_at: string;
  cost_basis: string;
  totals: Omit<SpendCloud, 'provider' | 'name' | 'error'>;
  clouds: SpendCloud[];
  vms: SpendVm[];
}

const cents = (usd: number) => Math.round(usd * 100) / 100;

export async function spendReport(
  clouds: Provider[],
  leases: LeaseStore,
  opts: { signal?: AbortSignal } = {},
): Promise<SpendReport> {
  const now = leases.now();
  const leaseOf = await leases.lookup();
  const read = await Promise.all(
    clouds.map(async (p) => {
      try {
        const all = await collectPages(p.id, undefined as string | undefined, async (cursor) => {
          const page = await p.listInstances({ cursor, limit: 100, signal: opts.signal });
          return { items: page.items, next: page.next_cursor };
        });
        return { p, instances: all };
      } catch (e) {
        return { p, instances: [] as Instance[], error: e instanceof ComputeError ? e.message : 'could not be read' };
      }
    }),
  );
  const vms: SpendVm[] = [];
  const perCloud: SpendCloud[] = [];
  for (const { p, instances, error } of read) {
    const c: SpendCloud = {
      provider: p.id,
      name: p.displayName,
      vms: 0,
      billing: 0,
      usd_per_hour_now: 0,
      unknown_priced: 0,
      cost_so_far_usd: 0,
      cost_to_lease_end_usd: 0,
      ...(error ? { error } : {}),
    };
    for (const i of instances) {
      if (i.status === 'terminated') continue;
      const lease = leaseOf(p.id, i.id);
      const perVm = i.price_usd_per_hour ?? lease?.usd_per_hour ?? null;
      const price = perVm === null ? null : perVm * (i.quantity ?? 1);
      const billing = BILLING.has(i.status);
      const since = i.created_at ? Date.parse(i.created_at) : lease?.created_at;
      const soFar = price !== null && since !== undefined ? cents((price * Math.max(0, now - since)) / HOUR) : null;
      const open = lease && (lease.state === 'open' || lease.state === 'overdue');
      const toEnd =
        lease && open && billing && price !== null
          ? cents((price * Math.max(0, lease.expires_at - now)) / HOUR)
          : lease && open
            ? price === null && billing
              ? null
              : 0
            : null;
      vms.push({
        provider: p.id,
        id: i.id,
        name: i.name,
        instance_type: i.instance_type,
        status: i.status,
        ...(i.region ? { region: i.region } : {}),
        billing,
        usd_per_hour: price,
        ...(since !== undefined ? { created_at: new Date(since).toISOString() } : {}),
        cost_so_far_usd: soFar,
        ours: !!lease,
        ...(lease ? { lease: { ...leaseView(lease), cost_to_end_usd: toEnd } } : {}),
      });
      c.vms++;
      if (billing) {
        c.billing++;
        if (price === null) c.unknown_priced++;
        else c.usd_per_hour_now += price;
      }
      c.cost_so_far_usd += soFar ?? 0;
      c.cost_to_lease_end_usd += toEnd ?? 0;
    }
    c.usd_per_hour_now = cents(c.usd_per_hour_now);
    c.cost_so_far_usd = cents(c.cost_so_far_usd);
    c.cost_to_lease_end_usd = cents(c.cost_to_lease_end_usd);
    perCloud.push(c);
  }
  const sum = (
    k: 'vms' | 'billing' | 'unknown_priced' | 'usd_per_hour_now' | 'cost_so_far_usd' | 'cost_to_lease_end_usd',
  ) => cents(perCloud.reduce((a, c) => a + c[k], 0));
  return {
    generated_at: new Date(now).toISOString(),
    cost_basis: COST_BASIS,
    totals: {
      vms: sum('vms'),
      billing: sum('billing'),
      usd_per_hour_now: sum('usd_per_hour_now'),
      unknown_priced: sum('unknown_priced'),
      cost_so_far_usd: sum('cost_so_far_usd'),
      cost_to_lease_end_usd: sum('cost_to_lease_end_usd'),
    },
    clouds: perCloud,
    vms,
  };
}
