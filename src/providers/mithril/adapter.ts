/**
 * Mithril adapter. A create is a spot bid (`POST /v2/spot/bids`, one instance) at a limit price; delete cancels the
 * bid; pause/resume patch the bid (spot) or the instances in one batch (reserved). Source: shared/seeds/
 * mithril-instances.txt and providers.md §4; the request shapes of bid cancel and update follow the public clients
 * (SkyPilot sky/provision/mithril/utils.py cancel_bid/update_bid; the flow SDK's MithrilApiClient delete_bid/patch_bid).
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import { ComputeError } from '../../domain/errors.js';
import type {
  Capabilities,
  CreatePlan,
  CreateRequest,
  Gpu,
  Instance,
  InstanceStatus,
  InstanceType,
  Page,
  PowerResult,
} from '../../domain/model.js';
import {
  pathSegment,
  type CallOptions,
  type IdFormats,
  type ListOptions,
  type Provider,
} from '../../domain/provider.js';
import type { HttpClient } from '../../http/client.js';
import { collectPages } from '../../domain/paging.js';
import { TtlCache, chooseOffer, deleteIgnoringGone, resolveSshKeys, sshKeyName } from '../toolkit.js';
import {
  batchEntryStatus,
  bidToInstance,
  centsToDollars,
  centsToUsd,
  parseDollars,
  reached,
  toGpu,
  toInstance,
  toStatus,
  usdToCents,
} from './map.js';
import * as W from './wire.js';

export const MITHRIL_CAPABILITIES: Capabilities = {
  pause: true,
  resume: true,
  snapshot: {
    unsupported:
      'Mithril has no snapshots; a paused spot bid keeps its boot disk, so pause_instances instead of deleting.',
  },
  console: {
    differently: "Mithril has no web console; get_console returns the SSH command for the instance's ssh_destination.",
  },
  list_images: {
    unsupported:
      'Mithril boots one fixed Ubuntu 22.04 image with NVIDIA drivers; there is no image to choose (use startup_script).',
  },
  regions: true,
};

/** VM ids are FIDs with a type prefix (providers.md §4.1; seed 003 examples bid_abc123456, inst_abc123456). */
export const MITHRIL_IDS: IdFormats = {
  instance: {
    pattern: /^(bid|inst)_[A-Za-z0-9][A-Za-z0-9_-]*$/,
    describe:
      'Mithril VM ids are FIDs: bid_… for spot VMs, inst_… for reserved instances; get them from list_instances.',
  },
};

/** Shown with every Mithril quote (providers.md §4.5). */
export const SPOT_NOTES = [
  'Spot bid: this is the most it can cost per hour; the second-price auction may charge less.',
  "A spot VM can be preempted with 5 minutes' notice when outbid.",
];

export interface MithrilOptions {
  http: HttpClient;
  project: string;
  /** How long the type catalog and spot availability are reused. */
  cacheTtlMs?: number;
  now?: () => number;
  /** Where entries the adapter cannot read are reported (default: the HttpClient's logger, if it has one). */
  log?: Logger;
}

const isBid = (id: string) => id.startsWith('bid_');

/** A spot availability entry with its last price read (null: none, or not a price). */
type Offer = W.WireAvailability & { cents: number | null };
/** A type FID's name, and its GPUs per VM: `undefined` for a type the catalog does not know (unknown, not none). */
type Names = { name: (fid: string) => string; gpu: (fid: string) => Gpu | null | undefined };

/**
 * `list_instances` reads three listings of the cloud, each paged by its own cursor: `/v2/instances` (`i`: every
 * allocated or reserved VM), and the bids that have no instance, `/v2/spot/bids?status=Open` (`o`) and
 * `?status=Paused` (`p`: paused before allocation). The three are read at once (with the type catalog), each asked for
 * the whole `limit`, and their pages are taken in that order while they fit: a page that would make the answer longer
 * than `limit` is not used, and its listing (with those after it) starts again from the same cursor next time. The
 * first listing still open always fits, so every call moves on. The cursor handed out names each listing still to be
 * read with that listing's own cursor untouched, as a query string (`i=<cursor>&o=&p=`; empty: its first page). No
 * offsets, nothing skipped to find a position: a page that did not fit is read again whole, never resumed midway.
 */
const LISTINGS = ['i', 'o', 'p'] as const;
type Listing = (typeof LISTINGS)[number];

/** One listing's page as read, turned into VMs once the type names are known. */
interface ListingPage {
  size: number;
  vms: (n: Names) => Instance[];
  next?: string;
}

export class MithrilProvider implements Provider {
  readonly id = 'mithril' as const;
  readonly displayName = 'Mithril';
  readonly capabilities = MITHRIL_CAPABILITIES;
  readonly ids = MITHRIL_IDS;
  private readonly http: HttpClient;
  private readonly project: string;
  private readonly log?: Logger;
  private readonly catalog: TtlCache<{ types: W.WireInstanceType[]; avail: Offer[] }>;

  constructor(opts: MithrilOptions) {
    this.http = opts.http;
    this.project = opts.project;
    this.catalog = new TtlCache(opts.cacheTtlMs ?? 30_000, opts.now ?? Date.now);
    this.log = opts.log ?? loggerOf(opts.http);
  }

  /** Each entry read with `schema`; one that does not fit is skipped and logged, never failing the list. */
  private readEach<S extends z.ZodType>(schema: S, items: unknown[], what: string): z.infer<S>[] {
    const out: z.infer<S>[] = [];
    items.forEach((raw, index) => {
      const r = schema.safeParse(raw);
      if (r.success) out.push(r.data);
      else
        this.log?.warn(
          {
            provider: this.id,
            what,
            index,
            fid: fidOf(raw),
            issues: r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`),
          },
          `skipped a Mithril ${what} the adapter cannot read`,
        );
    });
    return out;
  }

  /** A "$x.xx" price in cents; anything else is dropped (null) and logged. */
  private cents(price: string | null | undefined, where: Record<string, unknown>): number | null {
    if (price === null || price === undefined) return null;
    const c = parseDollars(price);
    if (c === null)
      this.log?.warn(
        { provider: this.id, ...where, price: price.slice(0, 40) },
        'skipped a Mithril price the adapter cannot read',
      );
    return c;
  }

  /** Instance types (one FID per name and region) and spot availability, cached briefly. */
  private loadCatalog(opts?: CallOptions) {
    return this.catalog.get(() => this.fetchCatalog(), opts?.signal);
  }

  private async fetchCatalog(opts?: CallOptions) {
    const [types, avail] = await Promise.all([
      this.http.request({ method: 'GET', path: '/v2/instance-types', schema: W.RawList, signal: opts?.signal }),
      this.http.request({ method: 'GET', path: '/v2/spot/availability', schema: W.RawList, signal: opts?.signal }),
    ]);
    const offers = this.readEach(W.WireAvailability, avail.data, 'spot availability entry').map((a) => ({
      ...a,
      cents: this.cents(a.last_instance_price, {
        what: 'last_instance_price',
        instance_type: a.instance_type,
        region: a.region,
      }),
    }));
    return { types: this.readEach(W.WireInstanceType, types.data, 'instance type'), avail: offers };
  }

  private async names(opts?: CallOptions): Promise<Names> {
    const c = await this.loadCatalog(opts);
    const byFid = new Map(c.types.map((t) => [t.fid, t]));
    return {
      name: (fid) => byFid.get(fid)?.name ?? fid,
      gpu: (fid) => {
        const t = byFid.get(fid);
        return t ? toGpu(t) : undefined;
      },
    };
  }

  async listInstanceTypes(opts?: CallOptions & { region?: string }): Promise<InstanceType[]> {
    const c = await this.loadCatalog(opts);
    const out: InstanceType[] = [];
    for (const [name, { t, regions }] of typesByName(c.types, c.avail)) {
      const wanted = opts?.region ? [...regions].filter(([r]) => r === opts.region) : [...regions];
      if (opts?.region && wanted.length === 0) continue;
      const prices = wanted.map(([, p]) => p).filter((p): p is number => p !== null);
      const cents = prices.length ? Math.min(...prices) : null;
      out.push({
        provider: this.id,
        id: name,
        name,
        gpu: toGpu(t),
        vcpus: t.num_cpus,
        memory_gib: t.ram_gb,
        ...(t.local_storage_gb ? { disk_gib: t.local_storage_gb } : {}),
        // The last spot price where it is offered: what a bid at the default limit pays at most now.
        price:
          cents === null
            ? { usd_per_hour: null, source: null }
            : { usd_per_hour: centsToUsd(cents), source: 'api', spot: true },
        regions: wanted.map(([r]) => r),
        available: wanted.length > 0,
      });
    }
    return out;
  }

  /**
   * VMs a page at a time, never more than `limit`: the pages of the listings of LISTINGS still open, read at once (two
   * round trips cold: the catalog and the listings, then the bids of the spot VMs listed), taken in order while they fit.
   */
  async listInstances(opts?: ListOptions): Promise<Page<Instance>> {
    const limit = Math.min(Math.max(opts?.limit ?? 50, 1), 100);
    const at = readCursor(opts?.cursor);
    const reading = LISTINGS.filter((l) => at.has(l));
    const [n, ...pages] = await Promise.all([
      this.names(opts),
      ...reading.map((l) =>
        l === 'i'
          ? this.instancesPage(at.get(l), limit, opts)
          : this.bidsPage(l === 'o' ? 'Open' : 'Paused', at.get(l), limit, opts),
      ),
    ]);
    const items: Instance[] = [];
    const next = new URLSearchParams();
    let full = false;
    reading.forEach((listing, k) => {
      const page = pages[k]!;
      full ||= k > 0 && items.length + page.size > limit;
      if (full)
        next.set(listing, at.get(listing) ?? ''); // read again from the same cursor next time
      else {
        items.push(...page.vms(n));
        if (page.next !== undefined) next.set(listing, page.next);
      }
    });
    const cursor = next.toString();
    return { items, ...(cursor ? { next_cursor: cursor } : {}) };
  }

  /**
   * One page of /v2/instances, each spot instance under its bid's FID with the bid's limit price: the bids are read
   * after the page (they are known from it), all at once.
   */
  private async instancesPage(cursor: string | undefined, limit: number, opts?: CallOptions): Promise<ListingPage> {
    const r = await this.http.request({
      method: 'GET',
      path: '/v2/instances',
      signal: opts?.signal,
      schema: W.RawPage,
      query: { project: this.project, limit, ...(cursor ? { next_cursor: cursor } : {}) },
    });
    const wires = this.readEach(W.WireInstance, r.data.data, 'instance');
    const bidIds = [...new Set(wires.map((i) => i.bid).filter((b): b is string => !!b))];
    const bids = new Map(
      (await Promise.all(bidIds.map((id) => this.getBid(id, opts).catch((e: unknown) => this.unreadBid(id, e)))))
        .filter((b): b is W.WireBid => !!b)
        .map((b) => [b.fid, b]),
    );
    return {
      size: wires.length,
      vms: (n) => wires.map((w) => toInstance(w, n.name, n.gpu, w.bid ? bids.get(w.bid) : undefined)),
      ...(r.data.next_cursor ? { next: r.data.next_cursor } : {}),
    };
  }

  /** A bid that could not be read while listing: its VM is listed without a price. */
  private unreadBid(id: string, e: unknown): undefined {
    if (!(e instanceof ComputeError)) throw e;
    this.log?.warn(
      { provider: this.id, bid: id, err: e.toText() },
      'could not read a Mithril bid; its VM is listed without a price',
    );
    return undefined;
  }

  /**
   * One page of /v2/spot/bids in one status (the documented `status` filter; values as the flow SDK's list_bids
   * normalises them), keeping the bids that have no instance: those with one are in the instances listing.
   */
  private async bidsPage(
    status: 'Open' | 'Paused',
    cursor: string | undefined,
    limit: number,
    opts?: CallOptions,
  ): Promise<ListingPage> {
    const r = await this.http.request({
      method: 'GET',
      path: '/v2/spot/bids',
      schema: W.RawPage,
      signal: opts?.signal,
      query: { project: this.project, status, limit, ...(cursor ? { next_cursor: cursor } : {}) },
    });
    const waiting = this.readEach(W.WireBid, r.data.data, 'bid').filter(
      (b) => b.instances.length === 0 && b.status !== 'Terminated',
    );
    return {
      size: waiting.length,
      vms: (n) => waiting.map((b) => this.bidVm(b, n)),
      ...(r.data.next_cursor ? { next: r.data.next_cursor } : {}),
    };
  }

  /**
   * A spot VM: the bid and (once allocated) its instance, saying so when its limit price cannot be read. A bid for
   * several instances says how many it stands for (a listing shows each allocated instance as its own row instead).
   */
  private bidVm(b: W.WireBid, n: Names, w?: W.WireInstance): Instance {
    this.cents(b.limit_price, { what: 'limit_price', bid: b.fid });
    const vm = w ? toInstance(w, n.name, n.gpu, b) : bidToInstance(b, n.name, n.gpu);
    return b.instance_quantity > 1 ? { ...vm, quantity: b.instance_quantity } : vm;
  }

  /**
   * A spot VM: its bid, then its instance record (status, address, region) from one filtered list. A reserved VM: its
   * status, then its record from the list filtered by its reservation. Two requests either way (plus the catalog,
   * cached).
   */
  async getInstance(id: string, opts?: CallOptions): Promise<Instance> {
    const n = await this.names(opts);
    return isBid(id) ? this.getSpot(id, n, opts) : this.getReserved(id, n, opts);
  }

  private async getSpot(id: string, n: Names, opts?: CallOptions): Promise<Instance> {
    const bid = await this.getBid(id, opts);
    const instFid = bid.instances[bid.instances.length - 1];
    if (!instFid) return this.bidVm(bid, n);
    const w = await this.findInstance(instFid, { bid_fid_in: id }, opts);
    return this.bidVm(bid, n, w);
  }

  private async getReserved(id: string, n: Names, opts?: CallOptions): Promise<Instance> {
    const s = (
      await this.http.request({
        method: 'GET',
        path: `/v2/instances/${enc(id)}/status`,
        schema: W.InstanceStatus,
        signal: opts?.signal,
      })
    ).data;
    const filter: Record<string, string> = s.bid
      ? { bid_fid_in: s.bid }
      : s.reservation
        ? { reservation_fid_in: s.reservation }
        : {};
    const w = await this.findInstance(id, filter, opts);
    return toInstance({ ...(w ?? { fid: s.fid, name: s.name, instance_type: '?' }), status: s.status }, n.name, n.gpu);
  }

  /** The full instance record (for ssh_destination, region, type), from /v2/instances narrowed by `filter`. */
  private async findInstance(
    fid: string,
    filter: Record<string, string>,
    opts?: CallOptions,
  ): Promise<W.WireInstance | undefined> {
    const all = await collectPages(this.id, undefined as string | undefined, async (cursor) => {
      const r = await this.http.request({
        method: 'GET',
        path: '/v2/instances',
        signal: opts?.signal,
        schema: W.RawPage,
        query: { project: this.project, limit: 100, ...filter, ...(cursor ? { next_cursor: cursor } : {}) },
      });
      return { items: this.readEach(W.WireInstance, r.data.data, 'instance'), next: r.data.next_cursor ?? undefined };
    });
    return all.find((i) => i.fid === fid);
  }

  private async getBid(fid: string, opts?: CallOptions): Promise<W.WireBid> {
    return (
      await this.http.request({
        method: 'GET',
        path: `/v2/spot/bids/${enc(fid)}`,
        schema: W.WireBid,
        signal: opts?.signal,
      })
    ).data;
  }

  async planCreate(req: CreateRequest, opts?: CallOptions): Promise<CreatePlan> {
    this.checkCreate(req);
    const offer = this.pickOffer(await this.loadCatalog(opts), req);
    const { limitCents, notes } = await this.quoteLimit(offer, req, opts);
    const { sshKeys, registerKey, steps } = await this.resolveKeys(req, opts);
    const body: W.WireCreateBid = {
      project: this.project,
      region: offer.region,
      instance_type: offer.instance_type,
      limit_price: centsToDollars(limitCents),
      instance_quantity: 1,
      name: req.name,
      launch_specification: {
        ssh_keys: sshKeys,
        volumes: [],
        ...(req.startup_script ? { startup_script: req.startup_script } : {}),
      },
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

  /** Options that do not apply to Mithril, refused before any request. */
  private checkCreate(req: CreateRequest): void {
    const no = (what: string, why: string) =>
      new ComputeError('INVALID_INPUT', `${what} does not apply on Mithril`, { provider: this.id, hint: why });
    if (req.image) throw no('image', (MITHRIL_CAPABILITIES.list_images as { unsupported: string }).unsupported);
    if (req.from_snapshot)
      throw no('from_snapshot', (MITHRIL_CAPABILITIES.snapshot as { unsupported: string }).unsupported);
    if (req.disk_gib !== undefined)
      throw no('disk_gib', 'Each type comes with its own local storage (list_instance_types disk_gib).');
    if (req.startup_script && req.startup_script.length > 10_000)
      throw new ComputeError('INVALID_INPUT', 'startup_script is longer than 10,000 characters', {
        provider: this.id,
        hint: 'Shorten it, or fetch a larger script from inside it.',
      }); // flow SDK limit
  }

  /** The FID of the type in the asked region, or in the cheapest region with capacity. */
  private pickOffer(c: { types: W.WireInstanceType[]; avail: Offer[] }, req: CreateRequest): Offer {
    const fids = new Set(c.types.filter((t) => t.name === req.instance_type).map((t) => t.fid));
    if (fids.size === 0)
      throw new ComputeError('INVALID_INPUT', `unknown instance type ${JSON.stringify(req.instance_type)}`, {
        provider: this.id,
        hint: 'Pick a name from list_instance_types with provider "mithril", e.g. h100-80gb.sxm.8x.',
      });
    const offers = c.avail
      .filter((a) => fids.has(a.instance_type) && (a.capacity ?? 1) > 0)
      .sort((a, b) => (a.cents ?? Infinity) - (b.cents ?? Infinity)); // the cheapest spot price first
    return chooseOffer({ provider: this.id, type: req.instance_type, wanted: req.region, offers });
  }

  /** The limit to bid (the agent's, or the current spot price) against the minimum, and what the human is told. */
  private async quoteLimit(
    offer: Offer,
    req: CreateRequest,
    opts?: CallOptions,
  ): Promise<{ limitCents: number; notes: string[] }> {
    const current = await this.http.request({
      method: 'GET',
      path: '/v2/pricing/current',
      query: { instance_type: offer.instance_type, region: offer.region },
      schema: W.CurrentPrice,
      signal: opts?.signal,
    });
    const spot = current.data.spot_price_cents;
    const minimum = current.data.minimum_price_cents ?? 0;
    const limitCents = req.limit_price_usd !== undefined ? usdToCents(req.limit_price_usd) : spot;
    if (limitCents < minimum)
      throw new ComputeError(
        'INVALID_INPUT',
        `a limit of ${centsToDollars(limitCents)}/hour is below the minimum bid of ${centsToDollars(minimum)}/hour`,
        { provider: this.id, hint: `Bid at least ${centsToDollars(minimum)}.` },
      );
    const notes = [...SPOT_NOTES];
    notes.unshift(
      req.limit_price_usd === undefined
        ? `The limit defaults to the current spot price (${centsToDollars(spot)}/hour).`
        : `The current spot price is ${centsToDollars(spot)}/hour.`,
    );
    if (limitCents < spot)
      notes.push('The limit is below the current spot price: the bid may wait until the price falls.');
    return { limitCents, notes };
  }

  /** The SSH keys of the bid: the agent's (registered first when new), or every key of the project. */
  private async resolveKeys(
    req: CreateRequest,
    opts?: CallOptions,
  ): Promise<{ sshKeys: string[]; registerKey?: string; steps: string[] }> {
    const plan = await resolveSshKeys({
      cloud: this.displayName,
      provider: this.id,
      publicKey: req.ssh_public_key,
      registerCall: 'POST /v2/ssh-keys',
      scope: 'project',
      list: async () => {
        const keys = await this.http.request({
          method: 'GET',
          path: '/v2/ssh-keys',
          query: { project: this.project },
          schema: W.SshKeyList,
          signal: opts?.signal,
        });
        return keys.data.map((k) => ({ id: k.fid, value: k.public_key }));
      },
    });
    return { sshKeys: plan.ids, ...(plan.registerKey ? { registerKey: plan.registerKey } : {}), steps: plan.steps };
  }

  async create(plan: CreatePlan, opts?: CallOptions): Promise<Instance> {
    const body = { ...(plan.internal.body as W.WireCreateBid) };
    const registerKey = plan.internal.registerKey as string | undefined;
    if (registerKey) {
      const k = await this.http.request({
        method: 'POST',
        path: '/v2/ssh-keys',
        body: { project: this.project, name: sshKeyName(registerKey), public_key: registerKey },
        schema: W.WireSshKey,
        idempotent: false,
        signal: opts?.signal,
      });
      body.launch_specification = { ...body.launch_specification, ssh_keys: [k.data.fid] };
    }
    // Never re-sent: a second bid would be a second VM.
    const r = await this.http.request({
      method: 'POST',
      path: '/v2/spot/bids',
      body,
      schema: W.WireBid,
      idempotent: false,
      signal: opts?.signal,
    });
    return this.bidVm(r.data, await this.names(opts));
  }

  /**
   * Cancels the bid, which terminates its instance: `DELETE /v2/spot/bids/{fid}`, no body (SkyPilot cancel_bid, flow SDK
   * delete_bid; 204). Idempotent; 404 means already gone (SkyPilot treats it so).
   */
  async delete(id: string, opts?: CallOptions): Promise<{ already_gone: boolean }> {
    if (!isBid(id))
      throw new ComputeError(
        'UNSUPPORTED',
        `${id} is a reserved instance; it ends with its reservation and cannot be deleted`,
        { provider: this.id, hint: 'Use pause_instances to stop paying for compute.' },
      );
    return deleteIgnoringGone(() =>
      this.http.request({ method: 'DELETE', path: `/v2/spot/bids/${enc(id)}`, idempotent: true, signal: opts?.signal }),
    );
  }

  pause(ids: string[], opts?: CallOptions): Promise<PowerResult[]> {
    return this.power(ids, true, opts);
  }

  resume(ids: string[], opts?: CallOptions): Promise<PowerResult[]> {
    return this.power(ids, false, opts);
  }

  /**
   * Every target is read first; what is already there (map.reached) or gone is answered from that. Spot VMs are then
   * paused by their bid, reserved ones in one PATCH /v2/instances batch. Whatever the cloud did not answer clearly is
   * read again, so a pause or resume that took is never reported `failed`.
   */
  private async power(ids: string[], pause: boolean, opts?: CallOptions): Promise<PowerResult[]> {
    const { results, spot, reserved } = await this.readTargets(ids, pause, opts);
    const unclear = new Map<string, string>();
    await Promise.all([
      this.patchBids(spot, pause, results, unclear, opts),
      this.patchReserved(reserved, pause, results, unclear, opts),
    ]);
    await this.settle(unclear, pause, results, opts);
    return ids.map((id) => results.get(id)!);
  }

  private async readTargets(ids: string[], pause: boolean, opts?: CallOptions) {
    const results = new Map<string, PowerResult>();
    const spot: string[] = [];
    const reserved: string[] = [];
    await Promise.all(
      ids.map(async (id) => {
        try {
          const inst = await this.getInstance(id, opts);
          if (reached(pause, inst.status))
            results.set(id, { id, result: pause ? 'already_paused' : 'already_running', status: inst.status });
          else if (inst.status === 'terminated' || inst.status === 'terminating')
            results.set(id, { id, result: 'failed', status: inst.status, message: `it is ${inst.provider_status}` });
          else (isBid(id) ? spot : reserved).push(id);
        } catch (e) {
          if (!(e instanceof ComputeError)) throw e;
          results.set(id, { id, result: 'failed', message: e.toText() });
        }
      }),
    );
    return { results, spot, reserved };
  }

  /**
   * `PATCH /v2/spot/bids/{fid}` with `{"paused": true|false}` only (SkyPilot update_bid; flow SDK patch_bid; the
   * published UpdateBidRequest has optional limit_price, paused, volumes). The answer (a BidModel) is not needed, so
   * its shape is not checked; an answer that cannot be read at all sends the bid to `settle`, which reads it again.
   */
  private async patchBids(
    spot: string[],
    pause: boolean,
    results: Map<string, PowerResult>,
    unclear: Map<string, string>,
    opts?: CallOptions,
  ) {
    await Promise.all(
      spot.map(async (id) => {
        try {
          await this.http.request({
            method: 'PATCH',
            path: `/v2/spot/bids/${enc(id)}`,
            body: { paused: pause },
            schema: W.AnyBody,
            idempotent: true,
            signal: opts?.signal,
          });
          results.set(id, { id, result: pause ? 'paused' : 'resumed', status: pause ? 'stopping' : 'starting' });
        } catch (e) {
          if (!(e instanceof ComputeError)) throw e;
          unclear.set(id, e.toText());
        }
      }),
    );
  }

  /** One batch for the reserved instances; each entry of the answer is read whatever its shape (map.batchEntryStatus). */
  private async patchReserved(
    reserved: string[],
    pause: boolean,
    results: Map<string, PowerResult>,
    unclear: Map<string, string>,
    opts?: CallOptions,
  ) {
    if (!reserved.length) return;
    try {
      const r = await this.http.request({
        method: 'PATCH',
        path: '/v2/instances',
        body: { instances: reserved, status: pause ? 'STATUS_PAUSED' : 'STATUS_RUNNING' },
        schema: W.BatchStatus,
        idempotent: true,
        signal: opts?.signal,
      });
      for (const id of reserved) {
        const raw = batchEntryStatus(r.data[id]);
        if (raw === undefined) unclear.set(id, 'Mithril did not say what became of it');
        else results.set(id, outcome(id, pause, toStatus(raw), raw));
      }
    } catch (e) {
      if (!(e instanceof ComputeError)) throw e;
      for (const id of reserved) unclear.set(id, e.toText());
    }
  }

  /** Reads again what the request left unclear (an error, or no status in the answer) and judges it by the same rule. */
  private async settle(
    unclear: Map<string, string>,
    pause: boolean,
    results: Map<string, PowerResult>,
    opts?: CallOptions,
  ) {
    await Promise.all(
      [...unclear].map(async ([id, why]) => {
        try {
          const inst = await this.getInstance(id, opts);
          const r = outcome(id, pause, inst.status, inst.provider_status);
          results.set(id, r.result === 'failed' ? { ...r, message: `${why}; it is ${inst.provider_status}` } : r);
        } catch (e) {
          if (!(e instanceof ComputeError)) throw e;
          results.set(id, {
            id,
            result: 'failed',
            message: `${why}; reading it again failed too (${e.toText()}), so check it with get_instance`,
          });
        }
      }),
    );
  }

  async getConsole(id: string, opts?: CallOptions) {
    const inst = await this.getInstance(id, opts);
    if (!inst.ssh)
      throw new ComputeError('NOT_READY', `${id} has no SSH address yet (${inst.provider_status})`, {
        provider: this.id,
        hint: 'Call wait_for_instance until it is running, then get_console again.',
      });
    return {
      console: { provider: this.id, instance_id: id, kind: 'ssh' as const, command: inst.ssh },
      note: (MITHRIL_CAPABILITIES.console as { differently: string }).differently,
    };
  }

  /** The instance's status changes, oldest first (seed 003: GET /v2/instances/status/history). */
  async statusHistory(id: string, opts?: CallOptions): Promise<{ status: string; at: string }[]> {
    const items = await collectPages(this.id, undefined as string | undefined, async (cursor) => {
      const r = await this.http.request({
        method: 'GET',
        path: '/v2/instances/status/history',
        schema: W.StatusHistory,
        signal: opts?.signal,
        query: {
          project: this.project,
          ...(isBid(id) ? { bid_fid: id } : { instance_fid: id }),
          limit: 100,
          ...(cursor ? { next_cursor: cursor } : {}),
        },
      });
      return { items: r.data.data, next: r.data.next_cursor ?? undefined };
    });
    return items.map((h) => ({ status: h.status, at: h.timestamp })).sort((a, b) => a.at.localeCompare(b.at));
  }
}

/** After a request: it took (by map.reached), or Mithril left the VM as it was. */
function outcome(id: string, pause: boolean, status: InstanceStatus, raw: string): PowerResult {
  if (!reached(pause, status)) return { id, result: 'failed', status, message: `Mithril left it ${raw}` };
  if (pause) return { id, result: 'paused', status: status === 'paused' ? 'paused' : 'stopping' };
  return { id, result: 'resumed', status: status === 'running' ? 'running' : 'starting' };
}

/** Types by name, each with the regions that have capacity and the last spot price there (cents, or null). */
function typesByName(types: W.WireInstanceType[], avail: Offer[]) {
  const byName = new Map<string, { t: W.WireInstanceType; regions: Map<string, number | null> }>();
  for (const t of types) if (!byName.has(t.name)) byName.set(t.name, { t, regions: new Map() });
  const fidName = new Map(types.map((t) => [t.fid, t.name]));
  for (const a of avail) {
    const name = fidName.get(a.instance_type);
    if (!name || (a.capacity ?? 1) <= 0) continue;
    byName.get(name)!.regions.set(a.region, a.cents);
  }
  return byName;
}

/** Which listing a cursor belongs to, and that listing's own cursor (undefined: its first page). */
/** The listings still to be read and each one's cursor (undefined: its first page); no cursor: all three from the start. */
function readCursor(cursor: string | undefined): Map<Listing, string | undefined> {
  if (!cursor) return new Map(LISTINGS.map((l) => [l, undefined]));
  const bad = () =>
    new ComputeError('INVALID_INPUT', 'this cursor did not come from a Mithril listing', {
      provider: 'mithril',
      hint: 'Start again without a cursor and pass back next_cursor as given.',
    });
  const out = new Map<Listing, string | undefined>();
  for (const [k, v] of new URLSearchParams(cursor)) {
    if (!(LISTINGS as readonly string[]).includes(k) || out.has(k as Listing)) throw bad();
    out.set(k as Listing, v || undefined);
  }
  if (out.size === 0) throw bad();
  return out;
}

/** The HttpClient's own logger (it is built with the server's), for adapters built without `log`. */
function loggerOf(http: HttpClient): Logger | undefined {
  return (http as unknown as { opts?: { log?: Logger } }).opts?.log;
}

const fidOf = (raw: unknown): string | undefined =>
  raw && typeof raw === 'object' && typeof (raw as { fid?: unknown }).fid === 'string'
    ? (raw as { fid: string }).fid.slice(0, 60)
    : undefined;
const enc = (id: string) => pathSegment('mithril', id);
