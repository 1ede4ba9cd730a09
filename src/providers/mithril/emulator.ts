/**
 * Mithril emulator: the documented /v2 paths, Bearer auth, FastAPI errors (422 `{detail:[…]}`, `{detail}`
 * otherwise), cursor pagination (`next_cursor`/`limit` ≤ 100), spot bids `Open → Allocated` whose instance goes
 * `STATUS_NEW → STATUS_CONFIRMED → STATUS_INITIALIZING → STATUS_STARTING → STATUS_RUNNING`, pause/resume of bids and
 * (batch) of reserved instances, bid cancel → `STATUS_TERMINATED`, status history, demo prices.
 * Source: shared/seeds/mithril-instances.txt and providers.md §4; the rest is ASSUMPTION, marked where it is decided.
 */
import { randomBytes } from 'node:crypto';
import {
  CloudEmulator,
  HttpEmulator,
  Timeline,
  type EmulatorRequest,
  type EmulatorResponse,
} from '../../emulator/server.js';
import { centsToDollars, dollarsToCents } from './map.js';
import type { WireAvailability, WireBid, WireInstance, WireInstanceType } from './wire.js';

export const DEFAULT_KEY = 'fkey_emulator';
export const DEFAULT_PROJECT = 'proj_emulator';

const fid = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

/** Demo catalog: the name, per-GPU demo spot price in cents, and the regions offering it. Not Mithril's prices. */
const DEMO_TYPES: {
  name: string;
  gpus: number;
  gpu: string;
  mem: number;
  cpus: number;
  ram: number;
  disk: number;
  centsPerGpu: number;
  regions: string[];
}[] = [
  {
    name: 'h100-80gb.sxm.8x',
    gpus: 8,
    gpu: 'H100',
    mem: 80,
    cpus: 192,
    ram: 1800,
    disk: 30_000,
    centsPerGpu: 199,
    regions: ['us-central1-a', 'us-central1-b', 'eu-central1-a'],
  },
  {
    name: 'a100-80gb.sxm.8x',
    gpus: 8,
    gpu: 'A100',
    mem: 80,
    cpus: 240,
    ram: 1800,
    disk: 15_000,
    centsPerGpu: 110,
    regions: ['us-central1-a', 'us-central2-a'],
  },
  {
    name: 'a100-80gb.sxm.4x',
    gpus: 4,
    gpu: 'A100',
    mem: 80,
    cpus: 120,
    ram: 900,
    disk: 7_500,
    centsPerGpu: 115,
    regions: ['us-central2-a'],
  },
  {
    name: 'a100-80gb.sxm.1x',
    gpus: 1,
    gpu: 'A100',
    mem: 80,
    cpus: 30,
    ram: 225,
    disk: 1_800,
    centsPerGpu: 125,
    regions: ['us-central1-b', 'eu-central1-b'],
  },
];

export interface MithrilDelays {
  /** Bid Open → Allocated (the instance appears as STATUS_NEW). */
  allocateMs: number;
  /** Each step NEW → CONFIRMED → INITIALIZING → STARTING → RUNNING. */
  bootStepMs: number;
  stopMs: number;
}
export const INSTANT: MithrilDelays = { allocateMs: 0, bootStepMs: 0, stopMs: 0 };
export const DEMO_DELAYS: MithrilDelays = { allocateMs: 800, bootStepMs: 600, stopMs: 1000 };

interface Inst {
  wire: WireInstance;
  timeline: Timeline<Inst>;
}
interface Bid {
  wire: WireBid;
  timeline: Timeline<Bid>;
}

export class MithrilEmulator extends CloudEmulator {
  readonly http: HttpEmulator;
  readonly key: string;
  readonly project: string;
  delays: MithrilDelays;
  private readonly now: () => number;
  private readonly types: WireInstanceType[] = [];
  private readonly avail: (WireAvailability & { spot_cents: number })[] = [];
  private readonly instances = new Map<string, Inst>();
  private readonly bids = new Map<string, Bid>();
  private readonly sshKeys = new Map<string, { fid: string; name: string; public_key: string; required: boolean }>();
  private readonly history: { instance_fid: string; bid_fid: string | null; status: string; timestamp: string }[] = [];
  /** Entries served as they are among the good ones of a listing (for tests: what an adapter must skip, not choke on). */
  private readonly unreadable: Record<UnreadableListing, unknown[]> = {
    'instance-types': [],
    availability: [],
    instances: [],
    bids: [],
  };
  private hostCounter = 10;

  constructor(
    opts: {
      key?: string;
      project?: string;
      delays?: Partial<MithrilDelays>;
      latencyMs?: number;
      now?: () => number;
    } = {},
  ) {
    super();
    this.key = opts.key ?? DEFAULT_KEY;
    this.project = opts.project ?? DEFAULT_PROJECT;
    this.delays = { ...INSTANT, ...opts.delays };
    this.now = opts.now ?? Date.now;
    for (const t of DEMO_TYPES)
      for (const region of t.regions) {
        const f = fid('it');
        this.types.push({
          fid: f,
          name: t.name,
          num_cpus: t.cpus,
          cpu_type: 'Intel Xeon Platinum 8480+',
          ram_gb: t.ram,
          num_gpus: t.gpus,
          gpu_type: t.gpu,
          gpu_memory_gb: t.mem,
          gpu_socket: 'SXM5',
          local_storage_gb: t.disk,
          network_type: 'InfiniBand',
          ib_count: t.gpus,
          bridge_count: 0,
        });
        const cents = t.centsPerGpu * t.gpus + (region.startsWith('eu') ? 40 : 0);
        this.avail.push({
          fid: fid('avail'),
          instance_type: f,
          region,
          capacity: 4,
          last_instance_price: centsToDollars(cents),
          min_bid_price: centsToDollars(Math.floor(cents / 4)),
          spot_cents: cents,
        });
      }
    this.http = new HttpEmulator({
      name: 'mithril',
      latencyMs: opts.latencyMs,
      authorize: (h) => h.authorization === `Bearer ${this.key}`,
      // ASSUMPTION: FastAPI's `{detail: "..."}` for everything but 422.
      errorBody: (_s, _code, message) => ({ detail: message }),
      routes: [
        {
          method: 'GET',
          path: '/v2/instance-types',
          handler: () => ok([...this.types, ...this.unreadable['instance-types']]),
        },
        {
          method: 'GET',
          path: '/v2/spot/availability',
          handler: () => ok([...this.avail.map(({ spot_cents: _c, ...a }) => a), ...this.unreadable.availability]),
        },
        { method: 'GET', path: '/v2/pricing/current', handler: (r) => this.currentPrice(r) },
        { method: 'GET', path: '/v2/instances', handler: (r) => this.listInstances(r) },
        { method: 'PATCH', path: '/v2/instances', handler: (r) => this.batchStatus(r) },
        { method: 'GET', path: '/v2/instances/status/history', handler: (r) => this.statusHistory(r) },
        { method: 'GET', path: '/v2/instances/:fid/status', handler: (r) => this.instanceStatus(r) },
        { method: 'POST', path: '/v2/spot/bids', handler: (r) => this.createBid(r) },
        { method: 'GET', path: '/v2/spot/bids', handler: (r) => this.listBids(r) },
        { method: 'GET', path: '/v2/spot/bids/:fid', handler: (r) => this.withBid(r, (b) => ok(b.wire)) },
        { method: 'PATCH', path: '/v2/spot/bids/:fid', handler: (r) => this.withBid(r, (b) => this.patchBid(b, r)) },
        { method: 'DELETE', path: '/v2/spot/bids/:fid', handler: (r) => this.withBid(r, (b) => this.cancelBid(b)) },
        {
          method: 'GET',
          path: '/v2/ssh-keys',
          handler: (r) => (r.query.get('project') === this.project ? ok([...this.sshKeys.values()]) : missingProject()),
        },
        { method: 'POST', path: '/v2/ssh-keys', handler: (r) => this.createKey(r) },
      ],
    });
  }

  /** Instances that are not terminated. */
  liveInstances(): WireInstance[] {
    return [...this.instances.values()]
      .map((i) => (i.timeline.advance(i), i.wire))
      .filter((w) => !/TERMINATED|PREEMPTED|REPLACED/.test(w.status));
  }

  /** Bids that are not terminated (a bid waiting for capacity is a VM the user asked for). */
  liveBids(): WireBid[] {
    return [...this.bids.values()].map((b) => (this.advanceBid(b), b.wire)).filter((b) => b.status !== 'Terminated');
  }

  /** Serves `entry` as is at the end of a listing's answers (its first page, for paged listings), for tests. */
  serveUnreadable(listing: UnreadableListing, entry: unknown): void {
    this.unreadable[listing].push(entry);
  }

  /** Sets the spot price of a type in a region (the next bids and quotes see it). */
  setSpotPrice(name: string, region: string, cents: number): void {
    const fids = new Set(this.types.filter((t) => t.name === name).map((t) => t.fid));
    for (const a of this.avail) {
      if (!fids.has(a.instance_type) || a.region !== region) continue;
      a.spot_cents = cents;
      a.last_instance_price = centsToDollars(cents);
    }
  }

  /** A running reserved instance (reservations are not created through this API here). */
  seedReserved(name = 'reserved', typeName = 'a100-80gb.sxm.1x'): string {
    const t = this.types.find((x) => x.name === typeName)!;
    const region = this.avail.find((a) => a.instance_type === t.fid)!.region;
    const inst = this.newInstance({ name, type: t.fid, region, reservation: fid('res') });
    this.setInstanceStatus(inst, 'STATUS_RUNNING');
    return inst.wire.fid;
  }

  /** Forces a raw status (e.g. an undocumented one) on a bid's instance or an instance, for tests. */
  setStatus(id: string, status: string): void {
    const b = this.bids.get(id);
    const instFid = b ? b.wire.instances[0] : id;
    const i = instFid ? this.instances.get(instFid) : undefined;
    if (!i) throw new Error(`no instance for ${id}`);
    i.timeline.clear();
    i.wire.status = status;
  }

  private setInstanceStatus(i: Inst, status: string): void {
    i.wire.status = status;
    this.history.push({
      instance_fid: i.wire.fid,
      bid_fid: i.wire.bid ?? null,
      status,
      timestamp: new Date(this.now()).toISOString(),
    });
  }

  private newInstance(o: { name: string; type: string; region: string; bid?: string; reservation?: string }): Inst {
    const inst: Inst = {
      timeline: new Timeline(this.now),
      wire: {
        fid: fid('inst'),
        name: o.name,
        project: this.project,
        created_at: new Date(this.now()).toISOString(),
        created_by: 'user_emulator',
        instance_type: o.type,
        region: o.region,
        bid: o.bid ?? null,
        reservation: o.reservation ?? null,
        ssh_destination: null,
        private_ip: null,
        status: 'STATUS_NEW',
      },
    };
    this.instances.set(inst.wire.fid, inst);
    this.setInstanceStatus(inst, 'STATUS_NEW');
    return inst;
  }

  private boot(i: Inst, from: string[]): void {
    for (const s of from)
      i.timeline.after(this.delays.bootStepMs, (x) => {
        this.setInstanceStatus(x, s);
        if (s === 'STATUS_RUNNING') {
          const n = this.hostCounter++;
          // Documentation address range (RFC 5737 TEST-NET-3). A bare address, reached on port 22, as SkyPilot reads it
          // (sky/provision/mithril/instance.py get_cluster_info: the destination is the IP, ssh_port=22).
          x.wire.ssh_destination = `203.0.113.${n % 250}`;
          x.wire.private_ip = `10.0.0.${n % 250}`;
        }
      });
  }

  private advanceBid(b: Bid): void {
    b.timeline.advance(b);
    for (const f of b.wire.instances) {
      const i = this.instances.get(f);
      if (i) i.timeline.advance(i);
    }
  }

  private withBid(r: EmulatorRequest, fn: (b: Bid) => EmulatorResponse): EmulatorResponse {
    const b = this.bids.get(r.params.fid!);
    if (!b) return notFound();
    this.advanceBid(b);
    return fn(b);
  }

  private currentPrice(r: EmulatorRequest): EmulatorResponse {
    const type = r.query.get('instance_type');
    if (!type) return invalid(['query', 'instance_type'], 'Field required', 'missing');
    const region = r.query.get('region');
    const offers = this.avail.filter((a) => a.instance_type === type && (!region || a.region === region));
    if (!offers.length) return notFound();
    const cents = Math.min(...offers.map((o) => o.spot_cents));
    return ok({
      spot_price_cents: cents,
      reserved_price_cents: Math.round(cents * 1.6),
      minimum_price_cents: Math.floor(cents / 4),
      lowest_allocated_bid_cents: cents,
    });
  }

  private listInstances(r: EmulatorRequest): EmulatorResponse {
    if (r.query.get('project') !== this.project) return missingProject();
    const type = r.query.get('instance_type');
    const bidsIn = r.query.get('bid_fid_in')?.split(',');
    const resIn = r.query.get('reservation_fid_in')?.split(',');
    const all = [...this.instances.values()]
      .map((i) => (i.timeline.advance(i), i.wire))
      .filter(
        (w) =>
          (!type || w.instance_type === type) &&
          (!bidsIn || (w.bid && bidsIn.includes(w.bid))) &&
          (!resIn || (w.reservation && resIn.includes(w.reservation))),
      );
    return page(r, all, this.unreadable.instances);
  }

  private instanceStatus(r: EmulatorRequest): EmulatorResponse {
    const i = this.instances.get(r.params.fid!);
    if (!i) return notFound();
    i.timeline.advance(i);
    const end = i.wire.reservation ? new Date(this.now() + 24 * 3600_000).toISOString() : null;
    return ok({
      fid: i.wire.fid,
      name: i.wire.name,
      status: i.wire.status,
      bid: i.wire.bid,
      reservation: i.wire.reservation,
      end_time: end,
    });
  }

  /**
   * Seed 003: reserved instances only; the answer "always includes an entry for every requested instance", keyed by
   * FID, with its status after processing. ASSUMPTION: an FID that is not an instance of the project answers null.
   */
  private batchStatus(r: EmulatorRequest): EmulatorResponse {
    const b = (r.body ?? {}) as { instances?: unknown; status?: unknown };
    if (!Array.isArray(b.instances) || !b.instances.every((x) => typeof x === 'string'))
      return invalid(['body', 'instances'], 'Field required', 'missing');
    if (b.status !== 'STATUS_RUNNING' && b.status !== 'STATUS_PAUSED')
      return invalid(['body', 'status'], "Input should be 'STATUS_RUNNING' or 'STATUS_PAUSED'", 'enum');
    const out: Record<string, string | null> = {};
    for (const f of b.instances as string[]) {
      const i = this.instances.get(f);
      if (!i) {
        out[f] = null;
        continue;
      }
      i.timeline.advance(i);
      const reserved = !!i.wire.reservation;
      if (b.status === 'STATUS_PAUSED' && reserved && i.wire.status === 'STATUS_RUNNING') {
        this.setInstanceStatus(i, 'STATUS_STOPPING');
        i.timeline.after(this.delays.stopMs, (x) => this.setInstanceStatus(x, 'STATUS_PAUSED'));
      } else if (b.status === 'STATUS_RUNNING' && reserved && i.wire.status === 'STATUS_PAUSED') {
        this.setInstanceStatus(i, 'STATUS_CONFIRMED');
        this.boot(i, ['STATUS_STARTING', 'STATUS_RUNNING']);
      }
      i.timeline.advance(i);
      out[f] = i.wire.status;
    }
    return ok(out);
  }

  private statusHistory(r: EmulatorRequest): EmulatorResponse {
    if (r.query.get('project') !== this.project) return missingProject();
    const inst = r.query.get('instance_fid');
    const bid = r.query.get('bid_fid');
    for (const b of this.bids.values()) this.advanceBid(b);
    return page(
      r,
      this.history.filter((h) => (!inst || h.instance_fid === inst) && (!bid || h.bid_fid === bid)),
    );
  }

  private createBid(r: EmulatorRequest): EmulatorResponse {
    const b = (r.body ?? {}) as Record<string, unknown>;
    const spec = b.launch_specification as
      { ssh_keys?: unknown; volumes?: unknown; startup_script?: unknown } | undefined;
    const missing = [
      'project',
      'region',
      'instance_type',
      'limit_price',
      'instance_quantity',
      'name',
      'launch_specification',
    ].find((k) => b[k] === undefined);
    if (missing) return invalid(['body', missing], 'Field required', 'missing');
    if (b.project !== this.project) return { status: 403, body: { detail: 'Not a member of this project' } };
    if (typeof b.limit_price !== 'string' || !/^\$\d+(\.\d{1,2})?$/.test(b.limit_price))
      return invalid(['body', 'limit_price'], 'Invalid price format', 'value_error');
    if (!Number.isInteger(b.instance_quantity) || (b.instance_quantity as number) < 1)
      return invalid(['body', 'instance_quantity'], 'Input should be greater than or equal to 1', 'greater_than_equal');
    const offer = this.avail.find((a) => a.instance_type === b.instance_type && a.region === b.region);
    if (!offer)
      return invalid(
        ['body', 'instance_type'],
        `instance type ${String(b.instance_type)} is not offered in ${String(b.region)}`,
        'value_error',
      );
    if (!Array.isArray(spec?.ssh_keys) || spec.ssh_keys.length === 0)
      return invalid(['body', 'launch_specification', 'ssh_keys'], 'At least one SSH key is required', 'value_error');
    for (const k of spec.ssh_keys)
      if (!this.sshKeys.has(k as string))
        return invalid(['body', 'launch_specification', 'ssh_keys'], `SSH key ${String(k)} not found`, 'value_error');
    const limit = dollarsToCents(b.limit_price);
    if (limit < Math.floor(offer.spot_cents / 4))
      return invalid(
        ['body', 'limit_price'],
        `limit price is below the minimum of ${centsToDollars(Math.floor(offer.spot_cents / 4))}`,
        'value_error',
      );
    const bid: Bid = {
      timeline: new Timeline(this.now),
      wire: {
        fid: fid('bid'),
        name: String(b.name),
        project: this.project,
        created_by: 'user_emulator',
        created_at: new Date(this.now()).toISOString(),
        deactivated_at: null,
        limit_price: b.limit_price,
        instance_quantity: b.instance_quantity as number,
        instance_type: String(b.instance_type),
        region: String(b.region),
        instances: [],
        launch_specification: {
          ssh_keys: spec.ssh_keys as string[],
          volumes: (spec.volumes as string[]) ?? [],
          startup_script: (spec.startup_script as string) ?? null,
        },
        status: 'Open',
      },
    };
    this.bids.set(bid.wire.fid, bid);
    // A bid at or above the spot price is allocated; one below it stays Open.
    if (limit >= offer.spot_cents) bid.timeline.after(this.delays.allocateMs, (x) => this.allocate(x));
    this.advanceBid(bid);
    return ok(bid.wire);
  }

  private allocate(b: Bid): void {
    b.wire.status = 'Allocated';
    for (let k = 0; k < b.wire.instance_quantity; k++) {
      const i = this.newInstance({
        name: b.wire.name,
        type: b.wire.instance_type,
        region: b.wire.region!,
        bid: b.wire.fid,
      });
      b.wire.instances.push(i.wire.fid);
      this.boot(i, ['STATUS_CONFIRMED', 'STATUS_INITIALIZING', 'STATUS_STARTING', 'STATUS_RUNNING']);
      i.timeline.advance(i);
    }
  }

  private listBids(r: EmulatorRequest): EmulatorResponse {
    if (r.query.get('project') !== this.project) return missingProject();
    const name = r.query.get('name');
    const status = r.query.get('status');
    const all = [...this.bids.values()]
      .map((b) => (this.advanceBid(b), b.wire))
      .filter((b) => (!name || b.name === name) && (!status || b.status === status));
    return page(r, all, this.unreadable.bids);
  }

  private patchBid(b: Bid, r: EmulatorRequest): EmulatorResponse {
    if (b.wire.status === 'Terminated') return { status: 400, body: { detail: 'Bid is terminated' } };
    const body = (r.body ?? {}) as { paused?: unknown; limit_price?: unknown };
    if (body.limit_price !== undefined) {
      if (typeof body.limit_price !== 'string' || !/^\$\d+(\.\d{1,2})?$/.test(body.limit_price))
        return invalid(['body', 'limit_price'], 'Invalid price format', 'value_error');
      b.wire.limit_price = body.limit_price;
    }
    if (body.paused !== undefined) {
      if (typeof body.paused !== 'boolean')
        return invalid(['body', 'paused'], 'Input should be a valid boolean', 'bool_type');
      const insts = b.wire.instances.map((f) => this.instances.get(f)!);
      if (body.paused && b.wire.status !== 'Paused') {
        b.wire.status = 'Paused';
        b.timeline.clear();
        for (const i of insts) {
          i.timeline.clear();
          this.setInstanceStatus(i, 'STATUS_STOPPING');
          i.timeline.after(this.delays.stopMs, (x) => this.setInstanceStatus(x, 'STATUS_PAUSED'));
        }
      } else if (!body.paused && b.wire.status === 'Paused') {
        if (insts.length === 0) {
          b.wire.status = 'Open';
          b.timeline.after(this.delays.allocateMs, (x) => this.allocate(x));
        } else {
          b.wire.status = 'Allocated';
          for (const i of insts) {
            i.timeline.clear();
            this.setInstanceStatus(i, 'STATUS_CONFIRMED');
            this.boot(i, ['STATUS_STARTING', 'STATUS_RUNNING']);
          }
        }
      }
    }
    this.advanceBid(b);
    return ok(b.wire);
  }

  private cancelBid(b: Bid): EmulatorResponse {
    // ASSUMPTION: cancelling a bid that is already terminated answers 404 (SkyPilot treats 404 as already gone).
    if (b.wire.status === 'Terminated') return notFound();
    b.wire.status = 'Terminated';
    b.wire.deactivated_at = new Date(this.now()).toISOString();
    b.timeline.clear();
    for (const f of b.wire.instances) {
      const i = this.instances.get(f)!;
      i.timeline.clear();
      this.setInstanceStatus(i, 'STATUS_TERMINATED');
    }
    return ok(undefined, 204);
  }

  private createKey(r: EmulatorRequest): EmulatorResponse {
    const b = (r.body ?? {}) as { project?: unknown; name?: unknown; public_key?: unknown };
    if (b.project !== this.project) return missingProject();
    if (typeof b.name !== 'string' || !b.name) return invalid(['body', 'name'], 'Field required', 'missing');
    if (typeof b.public_key !== 'string' || !/^(ssh-(rsa|ed25519)|ecdsa-sha2-\S+) \S+/.test(b.public_key.trim()))
      return invalid(['body', 'public_key'], 'Invalid SSH public key', 'value_error');
    const key = { fid: fid('sshkey'), name: b.name, public_key: b.public_key.trim(), required: false };
    this.sshKeys.set(key.fid, key);
    return ok(key, 201);
  }
}

export type UnreadableListing = 'instance-types' | 'availability' | 'instances' | 'bids';

/** Cursor pages: `next_cursor` is an opaque offset, `limit` 1–100 (422 outside); `extra` rides on the first page. */
function page<T>(r: EmulatorRequest, all: T[], extra: unknown[] = []): EmulatorResponse {
  const limit = r.query.has('limit') ? Number(r.query.get('limit')) : 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    return invalid(['query', 'limit'], 'Input should be less than or equal to 100', 'less_than_equal');
  const c = r.query.get('next_cursor');
  const offset = c ? Number(Buffer.from(c, 'base64url').toString()) : 0;
  if (!Number.isInteger(offset) || offset < 0)
    return invalid(['query', 'next_cursor'], 'Invalid cursor', 'value_error');
  const items: unknown[] = [...all.slice(offset, offset + limit), ...(offset === 0 ? extra : [])];
  const next = offset + limit < all.length ? Buffer.from(String(offset + limit)).toString('base64url') : null;
  return ok({ data: items, next_cursor: next });
}

const ok = (body: unknown, status = 200): EmulatorResponse => ({ status, body });
const notFound = (): EmulatorResponse => ({ status: 404, body: { detail: 'Not Found' } });
const invalid = (loc: (string | number)[], msg: string, type: string): EmulatorResponse => ({
  status: 422,
  body: { detail: [{ loc, msg, type }] },
});
const missingProject = () => invalid(['query', 'project'], 'Field required', 'missing');
