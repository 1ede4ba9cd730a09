/**
 * Leases: every VM created through the server is created for a time, and what happens when that time is up is
 * decided before the cloud is called. A lease is written under the spend lock together with the idempotency record
 * and the ledger claim, before the create is sent, so no crash can leave a VM of ours without one; the create's answer
 * adds the VM's id. The sweep (sweep.ts) acts on leases that ran out. Shared by every process on the state directory
 * through the store's `leases` stream (the newest line of a lease wins).
 */
import type { Policy } from '../config.js';
import type { ProviderId } from '../domain/model.js';
import { StreamView, type StateStore } from '../state/store.js';

/** stop: pause (GPU billing stops, the disk is kept) · delete: delete (set explicitly) · notify: say so, do nothing. */
export type OnExpiry = 'stop' | 'delete' | 'notify';

export interface Lease {
  /** The create's key: its idempotency key, `token:<nonce>`, or a random `create:` id. */
  key: string;
  provider: ProviderId;
  /** Known once the cloud answered. */
  instance_id?: string;
  name: string;
  instance_type: string;
  region: string;
  usd_per_hour: number | null;
  /** When the create was sent (ms). */
  created_at: number;
  /** When the lease runs out (ms): created_at plus the approved hours, plus every approved extension. */
  expires_at: number;
  on_expiry: OnExpiry;
  /** `cloud`: the cloud itself ends the VM at expires_at (the sweep still checks, and acts if it did not). */
  enforced_by: 'server' | 'cloud';
  /**
   * open: counting down (or waiting for the create's answer when instance_id is absent) · done: the action happened,
   * or the VM is gone · overdue: past its time and still running (notify, or a cloud that cannot stop it) · lost: a
   * create whose answer never came and whose VM was never found.
   */
  state: 'open' | 'done' | 'overdue' | 'lost';
  /** What the sweep did or found last, in words. */
  note?: string;
}

/** The hours of a new lease: the call's, else the policy maximum, else the policy's default; null = no lease. */
export function leaseHours(asked: number | undefined, policy: Policy): number | null {
  if (asked !== undefined) return asked;
  if (policy.limits.maxLifetimeHours !== undefined) return policy.limits.maxLifetimeHours;
  return policy.leases.allowUnleased ? null : policy.leases.defaultHours;
}

/** A lease as tools show it. */
export type LeaseView = {
  expires_at: string;
  /** What happens then: stop | delete | notify, or `cloud_ends` where the cloud ends the VM itself. */
  then: OnExpiry | 'cloud_ends';
  state: Lease['state'];
};

/** How old the leases shown next to VMs may be, for leases another process wrote (this process's own show at once). */
export const LOOKUP_FRESH_MS = 1_000;

export const leaseView = (l: Lease): LeaseView => ({
  expires_at: new Date(l.expires_at).toISOString(),
  then: l.enforced_by === 'cloud' ? 'cloud_ends' : l.on_expiry,
  state: l.state,
});

export class LeaseStore {
  private readonly view: StreamView<Lease>;

  constructor(
    state?: StateStore,
    readonly now: () => number = Date.now,
  ) {
    this.view = new StreamView(state, 'leases', (x) => x.key);
  }

  /** Written before the cloud is called. */
  open(l: Omit<Lease, 'state'>): Promise<Lease> {
    return this.write({ ...l, state: 'open' });
  }

  /** The create's answer: the VM the lease is for. */
  async settle(key: string, instanceId: string): Promise<void> {
    const l = await this.get(key);
    if (l) await this.write({ ...l, instance_id: instanceId, state: l.state === 'lost' ? 'open' : l.state });
  }

  /** An approved extension: the lease runs `hours` longer and counts down again. */
  async extend(key: string, hours: number): Promise<Lease | undefined> {
    const l = await this.get(key);
    if (!l) return undefined;
    const from = Math.max(l.expires_at, this.now());
    const { note: _, ...rest } = l;
    return this.write({ ...rest, expires_at: from + hours * 3_600_000, state: 'open' });
  }

  /** The VM was resumed through the server: the lease starts again, `hours` from now. */
  async renew(key: string, hours: number): Promise<void> {
    const l = await this.get(key);
    if (!l) return;
    const { note: _, ...rest } = l;
    await this.write({ ...rest, expires_at: this.now() + hours * 3_600_000, state: 'open' });
  }

  /** A refused create made no VM: its lease goes. */
  async drop(key: string): Promise<void> {
    const l = await this.get(key);
    if (l) await this.write({ ...l, state: 'done', note: 'the cloud refused the create; no VM was made' });
  }

  async mark(key: string, state: Lease['state'], note: string): Promise<void> {
    const l = await this.get(key);
    if (l) await this.write({ ...l, state, note });
  }

  /** The newest lease of a VM (a VM has one; a resumed one may have had earlier ones). */
  async forInstance(provider: ProviderId, id: string): Promise<Lease | undefined> {
    await this.view.refresh();
    return this.known(provider, id);
  }

  /**
   * Leases for showing next to VMs: read once, then looked up for each VM. Another process's new lease shows within
   * LOOKUP_FRESH_MS; decisions never use this (the spend section and the sweep read the store itself). A store that is
   * down gives what this process read last: it must not stop a read.
   */
  async lookup(): Promise<(provider: ProviderId, id: string) => Lease | undefined> {
    await this.view.recent(LOOKUP_FRESH_MS).catch(() => undefined);
    return (provider, id) => this.known(provider, id);
  }

  private known(provider: ProviderId, id: string): Lease | undefined {
    let found: Lease | undefined;
    for (const l of this.view.items.values())
      if (l.provider === provider && l.instance_id === id && (!found || l.created_at >= found.created_at)) found = l;
    return found;
  }

  async get(key: string): Promise<Lease | undefined> {
    await this.view.refresh();
    return this.view.items.get(key);
  }

  async all(): Promise<Lease[]> {
    await this.view.refresh();
    return [...this.view.items.values()];
  }

  private async write(l: Lease): Promise<Lease> {
    await this.view.append(l);
    return l;
  }
}
