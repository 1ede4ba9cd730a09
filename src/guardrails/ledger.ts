/**
 * The ledger: billing this server started (creates and resumes) that a cloud's listing may not show yet. A cloud's
 * list can lag behind its creates by seconds, and a create whose answer was lost may still have made a VM; counting
 * only the listing would let sequential creates pass `maxInstances`. So every create and resume is claimed here
 * (under the spend lock, before the cloud is called) and counted on top of the listing until the listing shows it,
 * or it is released (refused by the cloud, paused or deleted through this server), or CLAIM_WINDOW_MS has passed.
 * Shared by every process on the state store through its `ledger` stream.
 */
import type { Instance, InstanceStatus, ProviderId } from '../domain/model.js';
import { StreamView, type StateStore } from '../state/store.js';

/** After this long a listing that still does not show a claimed VM is believed: the VM is gone or never was. */
export const CLAIM_WINDOW_MS = 10 * 60 * 1000;

export interface Claim {
  /** The idempotency key, token nonce or a random id of the create; `resume:<id>` for a resume. */
  key: string;
  kind: 'create' | 'resume';
  provider: ProviderId;
  /** Known once the cloud answered (creates), or from the start (resumes). */
  instance_id?: string;
  /** GPUs and $/hour of the whole claim (all VMs behind the id). */
  gpus: number;
  usd_per_hour: number | null;
  at: number;
  released?: boolean;
}

/** What claims add to what the listing shows. */
export interface Unlisted {
  instances: number;
  gpus: number;
  micros: number;
  unknown_priced: number;
}

const BILLING_NOT: InstanceStatus[] = ['paused', 'terminating', 'terminated'];

export class Ledger {
  private readonly view: StreamView<Claim>;

  constructor(
    state?: StateStore,
    private readonly now: () => number = Date.now,
  ) {
    this.view = new StreamView(state, 'ledger', (x) => x.key);
  }

  async claim(c: Omit<Claim, 'at'>): Promise<Claim> {
    const full: Claim = { ...c, at: this.now() };
    await this.write(full);
    return full;
  }

  /** The create's answer: the VM's id (it is then matched against listings by id). */
  async settle(key: string, instanceId: string): Promise<void> {
    const c = await this.get(key);
    if (c) await this.write({ ...c, instance_id: instanceId });
  }

  /** No billing started (refused), or it stopped (paused, deleted) through this server. */
  async release(key: string): Promise<void> {
    const c = await this.get(key);
    if (c && !c.released) await this.write({ ...c, released: true });
  }

  /** Releases every claim on one VM: it was deleted through this server. */
  async releaseInstance(provider: ProviderId, id: string): Promise<void> {
    for (const c of await this.active())
      if (c.provider === provider && c.instance_id === id) await this.write({ ...c, released: true });
  }

  /**
   * The VM was paused through this server: it bills no compute now, but still exists. A create claim keeps counting it
   * as a VM (the listing may not show it yet) with no GPUs or price; a resume claim ends.
   */
  async pausedInstance(provider: ProviderId, id: string): Promise<void> {
    for (const c of await this.active()) {
      if (c.provider !== provider || c.instance_id !== id) continue;
      await this.write(c.kind === 'resume' ? { ...c, released: true } : { ...c, gpus: 0, usd_per_hour: 0 });
    }
  }

  /** Claims still counted: not released and younger than the window. */
  async active(): Promise<Claim[]> {
    await this.view.refresh();
    const since = this.now() - CLAIM_WINDOW_MS;
    return [...this.view.items.values()].filter((c) => !c.released && c.at >= since);
  }

  /**
   * What the claims add to a listing of every enabled cloud: a created VM the listing does not show yet counts in
   * full; a resumed VM the listing still shows as paused counts its GPUs and price (it is already counted as a VM).
   */
  async unlisted(listed: Instance[]): Promise<Unlisted> {
    const byId = new Map(listed.map((i) => [`${i.provider}/${i.id}`, i]));
    const out: Unlisted = { instances: 0, gpus: 0, micros: 0, unknown_priced: 0 };
    for (const c of await this.active()) {
      const seen = c.instance_id ? byId.get(`${c.provider}/${c.instance_id}`) : undefined;
      if (c.kind === 'create' && seen) continue;
      // A resumed VM the listing shows billing is counted there; one it shows paused, or not yet, is counted here.
      if (c.kind === 'resume' && seen && !BILLING_NOT.includes(seen.status)) continue;
      if (c.kind === 'create') out.instances++;
      out.gpus += c.gpus;
      if (c.usd_per_hour === null) out.unknown_priced++;
      else out.micros += Math.round(c.usd_per_hour * 1_000_000);
    }
    return out;
  }

  private async get(key: string): Promise<Claim | undefined> {
    await this.view.refresh();
    return this.view.items.get(key);
  }

  private async write(c: Claim): Promise<void> {
    await this.view.append(c);
  }
}
