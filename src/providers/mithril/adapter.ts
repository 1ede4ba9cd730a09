/**
 * Mithril adapter. A create is a spot bid (`POST /v2/spot/bids`, one instance) at a limit price; delete cancels the
 * bid; pause/resume patch the bid (spot) or the instances in one batch (reserved). Source: shared/seeds/
 * mithril-instances.txt and providers.md §4.
 */
import { createHash } from 'node:crypto';
import { ComputeError } from '../../domain/errors.js';
import type { Capabilities, CreatePlan, CreateRequest, Gpu, Image, Instance, InstanceType, Page, PowerResult, Snapshot } from '../../domain/model.js';
import { pathSegment, type CallOptions, type IdFormats, type ListOptions, type Provider } from '../../domain/provider.js';
import type { HttpClient } from '../../http/client.js';
import { collectPages } from '../paging.js';
import { bidToInstance, centsToDollars, centsToUsd, dollarsToCents, toGpu, toInstance, usdToCents } from './map.js';
import * as W from './wire.js';

export const MITHRIL_CAPABILITIES: Capabilities = {
  pause: true,
  resume: true,
  snapshot: 'Mithril has no snapshots; a paused spot bid keeps its boot disk, so pause_instances instead of deleting.',
  console: 'Mithril has no web console; get_console returns the SSH command for the instance\'s ssh_destination.',
  list_images: 'Mithril boots one fixed Ubuntu 22.04 image with NVIDIA drivers; there is no image to choose (use startup_script).',
  regions: true,
};

/** VM ids are FIDs with a type prefix (providers.md §4.1; seed 003 examples bid_abc123456, inst_abc123456). */
export const MITHRIL_IDS: IdFormats = {
  instance: {
    pattern: /^(bid|inst)_[A-Za-z0-9][A-Za-z0-9_-]*$/,
    describe: 'Mithril VM ids are FIDs: bid_… for spot VMs, inst_… for reserved instances; get them from list_instances.',
  },
};

/** Shown with every Mithril quote (providers.md §4.5). */
export const SPOT_NOTES = [
  'Spot bid: this is the most it can cost per hour; the second-price auction may charge less.',
  'A spot VM can be preempted with 5 minutes\' notice when outbid.',
];

export interface MithrilOptions {
  http: HttpClient;
  project: string;
  /** How long the type catalog and spot availability are reused. */
  cacheTtlMs?: number;
  now?: () => number;
}

const isBid = (id: string) => id.startsWith('bid_');

export class MithrilProvider implements Provider {
  readonly id = 'mithril' as const;
  readonly displayName = 'Mithril';
  readonly capabilities = MITHRIL_CAPABILITIES;
  readonly ids = MITHRIL_IDS;
  private readonly http: HttpClient;
  private readonly project: string;
  private readonly ttl: number;
  private readonly now: () => number;
  private catalog?: { at: number; types: W.WireInstanceType[]; avail: W.WireAvailability[] };

  constructor(opts: MithrilOptions) {
    this.http = opts.http;
    this.project = opts.project;
    this.ttl = opts.cacheTtlMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** Instance types (one FID per name and region) and spot availability, cached briefly. */
  private async loadCatalog(opts?: CallOptions) {
    if (this.catalog && this.now() - this.catalog.at < this.ttl) return this.catalog;
    const [types, avail] = await Promise.all([
      this.http.request({ method: 'GET', path: '/v2/instance-types', schema: W.InstanceTypeList, signal: opts?.signal }),
      this.http.request({ method: 'GET', path: '/v2/spot/availability', schema: W.AvailabilityList, signal: opts?.signal }),
    ]);
    this.catalog = { at: this.now(), types: types.data, avail: avail.data };
    return this.catalog;
  }

  private async names(opts?: CallOptions): Promise<{ name: (fid: string) => string; gpu: (fid: string) => Gpu | null }> {
    const c = await this.loadCatalog(opts);
    const byFid = new Map(c.types.map((t) => [t.fid, t]));
    return { name: (fid) => byFid.get(fid)?.name ?? fid, gpu: (fid) => { const t = byFid.get(fid); return t ? toGpu(t) : null; } };
  }

  async listInstanceTypes(opts?: CallOptions & { region?: string }): Promise<InstanceType[]> {
    const c = await this.loadCatalog(opts);
    const byName = new Map<string, { t: W.WireInstanceType; regions: Map<string, number | null> }>();
    for (const t of c.types) if (!byName.has(t.name)) byName.set(t.name, { t, regions: new Map() });
    const fidName = new Map(c.types.map((t) => [t.fid, t.name]));
    for (const a of c.avail) {
      const name = fidName.get(a.instance_type);
      if (!name || (a.capacity ?? 1) <= 0) continue;
      byName.get(name)!.regions.set(a.region, a.last_instance_price ? dollarsToCents(a.last_instance_price) : null);
    }
    const out: InstanceType[] = [];
    for (const [name, { t, regions }] of byName) {
      const wanted = opts?.region ? [...regions].filter(([r]) => r === opts.region) : [...regions];
      if (opts?.region && wanted.length === 0) continue;
      const prices = wanted.map(([, p]) => p).filter((p): p is number => p !== null);
      const cents = prices.length ? Math.min(...prices) : null;
      out.push({
        provider: this.id, id: name, name, gpu: toGpu(t), vcpus: t.num_cpus, memory_gib: t.ram_gb,
        ...(t.local_storage_gb ? { disk_gib: t.local_storage_gb } : {}),
        // The last spot price where it is offered: what a bid at the default limit pays at most now.
        price: cents === null ? { usd_per_hour: null, source: null } : { usd_per_hour: centsToUsd(cents), source: 'api', spot: true },
        regions: wanted.map(([r]) => r), available: wanted.length > 0,
      });
    }
    return out;
  }

  async listImages(): Promise<Image[]> {
    throw new ComputeError('UNSUPPORTED', `Mithril cannot list images: ${MITHRIL_CAPABILITIES.list_images}`, { provider: this.id });
  }

  /** Instances page by page (cursor), then, after the last page, the bids that have no instance (open or paused). */
  async listInstances(opts?: ListOptions): Promise<Page<Instance>> {
    const n = await this.names(opts);
    const limit = Math.min(Math.max(opts?.limit ?? 50, 1), 100);
    if (opts?.cursor?.startsWith('bids')) {
      // After the last page of instances: the bids that have no instance, `limit` at a time ("bids:<offset>").
      const offset = Number(opts.cursor.slice(5) || 0);
      const open = (await this.allBids(opts)).filter((b) => b.instances.length === 0 && b.status !== 'Terminated');
      const next = offset + limit < open.length ? `bids:${offset + limit}` : undefined;
      return { items: open.slice(offset, offset + limit).map((b) => bidToInstance(b, n.name, n.gpu)), ...(next ? { next_cursor: next } : {}) };
    }
    const r = await this.http.request({
      method: 'GET', path: '/v2/instances', signal: opts?.signal,
      query: { project: this.project, limit, ...(opts?.cursor ? { next_cursor: opts.cursor } : {}) },
      schema: W.InstanceList,
    });
    const bidIds = [...new Set(r.data.data.map((i) => i.bid).filter((b): b is string => !!b))];
    const bids = new Map((await Promise.all(bidIds.map((id) => this.getBid(id, opts).catch(() => undefined)))).filter((b): b is W.WireBid => !!b).map((b) => [b.fid, b]));
    const items = r.data.data.map((w) => toInstance(w, n.name, n.gpu, w.bid ? bids.get(w.bid) : undefined));
    return { items, next_cursor: r.data.next_cursor ?? 'bids' };
  }

  async getInstance(id: string, opts?: CallOptions): Promise<Instance> {
    const n = await this.names(opts);
    if (isBid(id)) {
      const bid = await this.getBid(id, opts);
      const instFid = bid.instances[bid.instances.length - 1];
      if (!instFid) return bidToInstance(bid, n.name, n.gpu);
      const w = await this.findInstance(instFid, bid.instance_type, opts);
      return w ? toInstance(w, n.name, n.gpu, bid) : bidToInstance(bid, n.name, n.gpu);
    }
    const s = await this.http.request({ method: 'GET', path: `/v2/instances/${enc(id)}/status`, schema: W.InstanceStatus, signal: opts?.signal });
    const w = await this.findInstance(id, undefined, opts);
    return toInstance(w ?? { fid: s.data.fid, name: s.data.name, status: s.data.status, instance_type: '?' }, n.name, n.gpu);
  }

  /** The full instance record (for ssh_destination, region, type): the status endpoint has none of them. */
  private async findInstance(fid: string, typeFid: string | undefined, opts?: CallOptions): Promise<W.WireInstance | undefined> {
    const s = await this.http.request({ method: 'GET', path: `/v2/instances/${enc(fid)}/status`, schema: W.InstanceStatus, signal: opts?.signal });
    const all = await collectPages(this.id, undefined as string | undefined, async (cursor) => {
      const r = await this.http.request({
        method: 'GET', path: '/v2/instances', signal: opts?.signal, schema: W.InstanceList,
        query: { project: this.project, limit: 100, ...(typeFid ? { instance_type: typeFid } : {}), ...(s.data.bid ? { bid_fid_in: s.data.bid } : {}), ...(cursor ? { next_cursor: cursor } : {}) },
      });
      return { items: r.data.data, next: r.data.next_cursor ?? undefined };
    });
    const w = all.find((i) => i.fid === fid);
    return w ? { ...w, status: s.data.status } : undefined;
  }

  private async getBid(fid: string, opts?: CallOptions): Promise<W.WireBid> {
    return (await this.http.request({ method: 'GET', path: `/v2/spot/bids/${enc(fid)}`, schema: W.WireBid, signal: opts?.signal })).data;
  }

  private allBids(opts?: CallOptions): Promise<W.WireBid[]> {
    return collectPages(this.id, undefined as string | undefined, async (cursor) => {
      const r = await this.http.request({
        method: 'GET', path: '/v2/spot/bids', schema: W.BidList, signal: opts?.signal,
        query: { project: this.project, limit: 100, ...(cursor ? { next_cursor: cursor } : {}) },
      });
      return { items: r.data.data, next: r.data.next_cursor ?? undefined };
    });
  }

  async planCreate(req: CreateRequest, opts?: CallOptions): Promise<CreatePlan> {
    const no = (what: string, why: string) => new ComputeError('INVALID_INPUT', `${what} does not apply on Mithril`, { provider: this.id, hint: why });
    if (req.image) throw no('image', MITHRIL_CAPABILITIES.list_images as string);
    if (req.from_snapshot) throw no('from_snapshot', MITHRIL_CAPABILITIES.snapshot as string);
    if (req.disk_gib !== undefined) throw no('disk_gib', 'Each type comes with its own local storage (list_instance_types disk_gib).');
    if (req.startup_script && req.startup_script.length > 10_000)
      throw new ComputeError('INVALID_INPUT', 'startup_script is longer than 10,000 characters', { provider: this.id, hint: 'Shorten it, or fetch a larger script from inside it.' }); // flow SDK limit
    const c = await this.loadCatalog(opts);
    const fids = new Set(c.types.filter((t) => t.name === req.instance_type).map((t) => t.fid));
    if (fids.size === 0)
      throw new ComputeError('INVALID_INPUT', `unknown instance type ${JSON.stringify(req.instance_type)}`, { provider: this.id, hint: 'Pick a name from list_instance_types with provider "mithril", e.g. h100-80gb.sxm.8x.' });
    // The FID of this type in each region that has capacity.
    const offers = c.avail.filter((a) => fids.has(a.instance_type) && (a.capacity ?? 1) > 0);
    let offer: W.WireAvailability | undefined;
    if (req.region) {
      offer = offers.find((a) => a.region === req.region);
      if (!offer)
        throw new ComputeError('CAPACITY', `${req.instance_type} has no spot capacity in ${req.region}`, {
          provider: this.id, hint: offers.length ? `Regions with capacity: ${offers.map((o) => o.region).join(', ')}.` : 'No region has capacity now; pick another type.',
        });
    } else {
      offer = [...offers].sort((a, b) => (a.last_instance_price ? dollarsToCents(a.last_instance_price) : Infinity) - (b.last_instance_price ? dollarsToCents(b.last_instance_price) : Infinity))[0];
      if (!offer) throw new ComputeError('CAPACITY', `${req.instance_type} has no spot capacity in any region`, { provider: this.id, hint: 'Pick another type from list_instance_types.' });
    }
    const current = await this.http.request({
      method: 'GET', path: '/v2/pricing/current', query: { instance_type: offer.instance_type, region: offer.region }, schema: W.CurrentPrice, signal: opts?.signal,
    });
    const spot = current.data.spot_price_cents;
    const minimum = current.data.minimum_price_cents ?? 0;
    const limitCents = req.limit_price_usd !== undefined ? usdToCents(req.limit_price_usd) : spot;
    if (limitCents < minimum)
      throw new ComputeError('INVALID_INPUT', `a limit of ${centsToDollars(limitCents)}/hour is below the minimum bid of ${centsToDollars(minimum)}/hour`, { provider: this.id, hint: `Bid at least ${centsToDollars(minimum)}.` });

    const notes = [...SPOT_NOTES];
    notes.unshift(req.limit_price_usd === undefined ? `The limit defaults to the current spot price (${centsToDollars(spot)}/hour).` : `The current spot price is ${centsToDollars(spot)}/hour.`);
    if (limitCents < spot) notes.push('The limit is below the current spot price: the bid may wait until the price falls.');

    const steps: string[] = [];
    let sshKeys: string[];
    let registerKey: string | undefined;
    const keys = await this.http.request({ method: 'GET', path: '/v2/ssh-keys', query: { project: this.project }, schema: W.SshKeyList, signal: opts?.signal });
    if (req.ssh_public_key) {
      const k = req.ssh_public_key.trim();
      const found = keys.data.find((x) => x.public_key.trim() === k);
      if (found) sshKeys = [found.fid];
      else {
        registerKey = k;
        sshKeys = ['<fid of the key registered in the step before>'];
        steps.push(`POST /v2/ssh-keys registers the SSH public key as ${keyName(k)}`);
      }
    } else {
      sshKeys = keys.data.map((x) => x.fid);
      if (!sshKeys.length)
        throw new ComputeError('INVALID_INPUT', 'Mithril needs an SSH key and the project has none', { provider: this.id, hint: 'Pass ssh_public_key (the text of your ~/.ssh/id_ed25519.pub).' });
      steps.push(`uses the ${sshKeys.length} SSH key(s) already in the project`);
    }
    const body: W.WireCreateBid = {
      project: this.project, region: offer.region, instance_type: offer.instance_type, limit_price: centsToDollars(limitCents),
      instance_quantity: 1, name: req.name,
      launch_specification: { ssh_keys: sshKeys, volumes: [], ...(req.startup_script ? { startup_script: req.startup_script } : {}) },
    };
    const t = (await this.listInstanceTypes(opts)).find((x) => x.id === req.instance_type)!;
    return {
      provider: this.id,
      instance_type: t,
      region: offer.region,
      image: 'ubuntu-22.04 (fixed)',
      name: req.name,
      // The human confirms the bid's limit: the most it can cost per hour.
      price: { usd_per_hour: centsToUsd(limitCents), source: 'limit_price', spot: true },
      request: { method: 'POST', path: '/v2/spot/bids', body: body as unknown as Record<string, unknown> },
      preparatory_steps: steps,
      notes,
      internal: { body, registerKey },
    };
  }

  async create(plan: CreatePlan, opts?: CallOptions): Promise<Instance> {
    const body = { ...(plan.internal.body as W.WireCreateBid) };
    const registerKey = plan.internal.registerKey as string | undefined;
    if (registerKey) {
      const k = await this.http.request({
        method: 'POST', path: '/v2/ssh-keys', body: { project: this.project, name: keyName(registerKey), public_key: registerKey }, schema: W.WireSshKey, idempotent: false, signal: opts?.signal,
      });
      body.launch_specification = { ...body.launch_specification, ssh_keys: [k.data.fid] };
    }
    // Never re-sent: a second bid would be a second VM.
    const r = await this.http.request({ method: 'POST', path: '/v2/spot/bids', body, schema: W.WireBid, idempotent: false, signal: opts?.signal });
    const n = await this.names(opts);
    return bidToInstance(r.data, n.name, n.gpu);
  }

  async delete(id: string, opts?: CallOptions): Promise<{ already_gone: boolean }> {
    if (!isBid(id))
      throw new ComputeError('UNSUPPORTED', `${id} is a reserved instance; it ends with its reservation and cannot be deleted`, { provider: this.id, hint: 'Use pause_instances to stop paying for compute.' });
    try {
      // Cancelling the bid terminates its instance. DELETE is idempotent: 404 means already gone.
      await this.http.request({ method: 'DELETE', path: `/v2/spot/bids/${enc(id)}`, idempotent: true, signal: opts?.signal });
      return { already_gone: false };
    } catch (e) {
      if (e instanceof ComputeError && e.code === 'NOT_FOUND') return { already_gone: true };
      throw e;
    }
  }

  pause(ids: string[], opts?: CallOptions): Promise<PowerResult[]> {
    return this.power(ids, true, opts);
  }

  resume(ids: string[], opts?: CallOptions): Promise<PowerResult[]> {
    return this.power(ids, false, opts);
  }

  /**
   * Every target is read first. Spot VMs (bids) are paused with PATCH /v2/spot/bids/{fid} {paused}; reserved ones in
   * one PATCH /v2/instances batch, whose answer gives each instance's status after processing.
   */
  private async power(ids: string[], pause: boolean, opts?: CallOptions): Promise<PowerResult[]> {
    const done = pause ? 'paused' : 'resumed';
    const already = pause ? 'already_paused' : 'already_running';
    const there = pause ? ['paused', 'stopping'] : ['running', 'starting', 'pending'];
    const results = new Map<string, PowerResult>();
    const spot: string[] = [];
    const reserved: string[] = [];
    await Promise.all(
      ids.map(async (id) => {
        try {
          const inst = await this.getInstance(id, opts);
          if (there.includes(inst.status)) results.set(id, { id, result: already, status: inst.status });
          else if (inst.status === 'terminated' || inst.status === 'terminating') results.set(id, { id, result: 'failed', status: inst.status, message: `it is ${inst.provider_status}` });
          else (isBid(id) ? spot : reserved).push(id);
        } catch (e) {
          if (!(e instanceof ComputeError)) throw e;
          results.set(id, { id, result: 'failed', message: e.toText() });
        }
      }),
    );
    await Promise.all(
      spot.map(async (id) => {
        try {
          await this.http.request({ method: 'PATCH', path: `/v2/spot/bids/${enc(id)}`, body: { paused: pause }, schema: W.WireBid, idempotent: true, signal: opts?.signal });
          results.set(id, { id, result: done, status: pause ? 'stopping' : 'starting' });
        } catch (e) {
          if (!(e instanceof ComputeError)) throw e;
          results.set(id, { id, result: 'failed', message: e.toText() });
        }
      }),
    );
    if (reserved.length) {
      const target = pause ? 'STATUS_PAUSED' : 'STATUS_RUNNING';
      const moving = pause ? 'STATUS_STOPPING' : 'STATUS_CONFIRMED'; // seed 003: what a successful request answers
      try {
        const r = await this.http.request({ method: 'PATCH', path: '/v2/instances', body: { instances: reserved, status: target }, schema: W.BatchStatus, idempotent: true, signal: opts?.signal });
        for (const id of reserved) {
          const s = r.data[id];
          if (s === moving || s === target) results.set(id, { id, result: done, status: pause ? 'stopping' : 'starting' });
          else results.set(id, { id, result: 'failed', message: s ? `Mithril left it ${s}` : 'Mithril did not answer for it' });
        }
      } catch (e) {
        if (!(e instanceof ComputeError)) throw e;
        for (const id of reserved) results.set(id, { id, result: 'failed', message: e.toText() });
      }
    }
    return ids.map((id) => results.get(id)!);
  }

  async snapshot(): Promise<Snapshot> {
    throw new ComputeError('UNSUPPORTED', `Mithril cannot snapshot instances: ${MITHRIL_CAPABILITIES.snapshot}`, { provider: this.id });
  }

  async listSnapshots(): Promise<Snapshot[]> {
    throw new ComputeError('UNSUPPORTED', `Mithril cannot list snapshots: ${MITHRIL_CAPABILITIES.snapshot}`, { provider: this.id });
  }

  async getConsole(id: string, opts?: CallOptions) {
    const inst = await this.getInstance(id, opts);
    if (!inst.ssh)
      throw new ComputeError('NOT_READY', `${id} has no SSH address yet (${inst.provider_status})`, { provider: this.id, hint: 'Call wait_for_instance until it is running, then get_console again.' });
    return {
      console: { provider: this.id, instance_id: id, kind: 'ssh' as const, command: inst.ssh },
      note: MITHRIL_CAPABILITIES.console as string,
    };
  }

  /** The instance's status changes, oldest first (seed 003: GET /v2/instances/status/history). */
  async statusHistory(id: string, opts?: CallOptions): Promise<{ status: string; at: string }[]> {
    const items = await collectPages(this.id, undefined as string | undefined, async (cursor) => {
      const r = await this.http.request({
        method: 'GET', path: '/v2/instances/status/history', schema: W.StatusHistory, signal: opts?.signal,
        query: { project: this.project, ...(isBid(id) ? { bid_fid: id } : { instance_fid: id }), limit: 100, ...(cursor ? { next_cursor: cursor } : {}) },
      });
      return { items: r.data.data, next: r.data.next_cursor ?? undefined };
    });
    return items.map((h) => ({ status: h.status, at: h.timestamp })).sort((a, b) => a.at.localeCompare(b.at));
  }
}

const enc = (id: string) => pathSegment('mithril', id);
const keyName = (k: string) => `compute-mcp-${createHash('sha256').update(k).digest('hex').slice(0, 12)}`;
