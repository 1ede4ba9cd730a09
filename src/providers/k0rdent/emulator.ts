/**
 * k0rdent AI emulator: the documented instance paths (create, get, PATCH) plus the assumed ones of wire.ts (list,
 * delete, start/stop, the zone's instance types, the region's images), Bearer auth (401 otherwise), bare resources and
 * the seed's `{error:{code:int,message,details}}` errors (providers.md §2.5: the per-endpoint OpenAPI), cursor pages
 * (`pageToken`/`pageSize` 1–500, default 50 → `nextPageToken`), client-chosen ids (409 on a duplicate), and the
 * assumed lifecycle PROVISIONING → RUNNING, STOPPING → STOPPED, STARTING → RUNNING, DELETING → 404. Prices are not in
 * the API: the demo prices are handed to the server separately, labelled `emulator`.
 */
import { randomUUID } from 'node:crypto';
import {
  CloudEmulator,
  HttpEmulator,
  Timeline,
  type EmulatorRequest,
  type EmulatorResponse,
  type Handler,
} from '../../emulator/server.js';
import { codeName } from './map.js';
import { ID_MAX, ID_PATTERN, PATHS, Uri, type WireImage, type WireInstance, type WireInstanceType } from './wire.js';

export const DEFAULT_TOKEN = 'k0rdent-emulator-token-0000000000000000';
export const DEFAULT_REGION = 'us-texas-1';
export const DEFAULT_ZONE = 'us1-a';
export const DEFAULT_PROJECT = 'project-x9y8z7';

export interface K0rdentDelays {
  /** PROVISIONING → RUNNING. */
  createMs: number;
  stopMs: number;
  startMs: number;
  /** DELETING → gone (404). */
  deleteMs: number;
}
export const INSTANT: K0rdentDelays = { createMs: 0, stopMs: 0, startMs: 0, deleteMs: 0 };
export const DEMO_DELAYS: K0rdentDelays = { createMs: 2_500, stopMs: 1_500, startMs: 1_500, deleteMs: 1_500 };

/** Demo $/hour by type name (the API has none): handed to the server as the emulator's prices. */
export const DEMO_PRICES: Record<string, number> = {
  'c1-small': 0.08,
  'c1-large': 0.32,
  'g1-xlarge': 2.4,
  'g8-h100': 19.2,
};

const gpu = (name: string, count: number) => ({ type: Uri.gpuType(DEFAULT_REGION, DEFAULT_ZONE, name), count });

/** Demo instance types of the zone (`g1-xlarge` is the seed's example type). */
export const DEMO_TYPES: WireInstanceType[] = [
  { id: 'c1-small', displayName: 'CPU small', vcpus: 2, memoryGb: 8, gpus: [] },
  { id: 'c1-large', displayName: 'CPU large', vcpus: 8, memoryGb: 32, gpus: [] },
  { id: 'g1-xlarge', displayName: '1x H100 80GB', vcpus: 26, memoryGb: 225, gpus: [gpu('nvidia-h100-80gb', 1)] },
  { id: 'g8-h100', displayName: '8x H100 80GB', vcpus: 208, memoryGb: 1800, gpus: [gpu('nvidia-h100-80gb', 8)] },
].map((t) => ({ ...t, selfLink: Uri.instanceType(DEFAULT_REGION, DEFAULT_ZONE, t.id) }));

/** Demo images of the region (`ubuntu-24.04-20260202-3` is the seed's example image). */
export const DEMO_IMAGES: WireImage[] = [
  { id: 'ubuntu-24.04-20260202-3', displayName: 'Ubuntu 24.04 LTS', os: 'Ubuntu 24.04' },
  { id: 'ubuntu-22.04-20260115-1', displayName: 'Ubuntu 22.04 LTS', os: 'Ubuntu 22.04' },
  { id: 'debian-12-20260110-2', displayName: 'Debian 12', os: 'Debian 12' },
].map((i) => ({ ...i, selfLink: Uri.image(DEFAULT_REGION, i.id) }));

export interface K0rdentEmulatorOptions {
  delays?: Partial<K0rdentDelays>;
  latencyMs?: number;
  token?: string;
  region?: string;
  zone?: string;
  project?: string;
  now?: () => number;
}

interface Inst {
  wire: WireInstance;
  gone: boolean;
  timeline: Timeline<Inst>;
}

export class K0rdentEmulator extends CloudEmulator {
  readonly http: HttpEmulator;
  readonly token: string;
  readonly region: string;
  readonly zone: string;
  readonly project: string;
  private readonly delays: K0rdentDelays;
  private readonly now: () => number;
  /** In creation order (list pages follow it). */
  private readonly instances = new Map<string, Inst>();
  private ipCounter = 10;

  constructor(opts: K0rdentEmulatorOptions = {}) {
    super();
    this.delays = { ...INSTANT, ...opts.delays };
    this.now = opts.now ?? Date.now;
    this.token = opts.token ?? DEFAULT_TOKEN;
    this.region = opts.region ?? DEFAULT_REGION;
    this.zone = opts.zone ?? DEFAULT_ZONE;
    this.project = opts.project ?? DEFAULT_PROJECT;
    const scoped =
      (h: Handler): Handler =>
      (r) =>
        (r.params.region !== undefined && r.params.region !== this.region) ||
        (r.params.zone !== undefined && r.params.zone !== this.zone) ||
        (r.params.project !== undefined && r.params.project !== this.project)
          ? err(404, `no ${r.path}`)
          : h(r);
    // The paths of wire.ts with `:param` placeholders (which they percent-encode) made route patterns again.
    const route = (method: string, path: string, handler: Handler) => ({
      method,
      path: path.replace(/%3A/gi, ':'),
      handler: scoped(handler),
    });
    const inst = PATHS.instance(':region', ':project', ':id');
    this.http = new HttpEmulator({
      name: 'k0rdent',
      latencyMs: opts.latencyMs,
      authorize: (h) => h.authorization === `Bearer ${this.token}`,
      errorBody: (status, _code, message) => errorBody(status, message),
      routes: [
        route('GET', PATHS.instanceTypes(':region', ':zone'), (r) => page(r, 'instanceTypes', this.types())),
        route('GET', PATHS.images(':region'), (r) => page(r, 'images', this.images())),
        route('GET', PATHS.instances(':region', ':project'), (r) => page(r, 'instances', this.all())),
        route('POST', PATHS.instances(':region', ':project'), (r) => this.create(r)),
        route('GET', inst, (r) => this.with(r, (i) => ok(200, i.wire))),
        route('PATCH', inst, (r) => this.with(r, (i) => this.update(i, r))),
        route('DELETE', inst, (r) => this.with(r, (i) => this.remove(i))),
        route('POST', PATHS.action(':region', ':project', ':id', 'start'), (r) =>
          this.with(r, (i) => this.power(i, 'start')),
        ),
        route('POST', PATHS.action(':region', ':project', ':id', 'stop'), (r) =>
          this.with(r, (i) => this.power(i, 'stop')),
        ),
      ],
    });
  }

  /** Instances that exist now (DELETING ones included until they are gone). */
  live(): WireInstance[] {
    return this.all();
  }

  /** Forces the raw `lifecycle.status` (e.g. an undocumented one). */
  setStatus(id: string, raw: string): void {
    const i = this.instances.get(id);
    if (!i || i.gone) throw new Error(`no instance ${id}`);
    i.timeline.clear();
    i.wire.lifecycle = { status: raw, statusMessage: null };
  }

  private types(): WireInstanceType[] {
    const link = (t: WireInstanceType) => ({ ...t, selfLink: Uri.instanceType(this.region, this.zone, t.id) });
    return DEMO_TYPES.map((t) =>
      link({
        ...t,
        gpus: (t.gpus ?? []).map((g) => ({ ...g, type: Uri.gpuType(this.region, this.zone, Uri.name(g.type)) })),
      }),
    );
  }

  private images(): WireImage[] {
    return DEMO_IMAGES.map((i) => ({ ...i, selfLink: Uri.image(this.region, i.id) }));
  }

  private all(): WireInstance[] {
    const out: WireInstance[] = [];
    for (const i of this.instances.values()) {
      i.timeline.advance(i);
      if (!i.gone) out.push(i.wire);
    }
    return out;
  }

  private iso = (ms = this.now()) => new Date(ms).toISOString();

  private with(r: EmulatorRequest, fn: (i: Inst) => EmulatorResponse): EmulatorResponse {
    const i = this.instances.get(r.params.id!);
    if (i) i.timeline.advance(i);
    if (!i || i.gone) return err(404, `instance ${r.params.id} not found`);
    return fn(i);
  }

  private create(r: EmulatorRequest): EmulatorResponse {
    const b = (r.body ?? {}) as Record<string, unknown>;
    if (typeof b.type !== 'string' || !b.type) return err(400, 'type is required');
    const place = Uri.place(b.type);
    const type = this.types().find((t) => t.id === Uri.name(b.type as string));
    if (!type || place.region !== this.region || place.zone !== this.zone)
      return err(400, `unknown instance type ${b.type}`);
    const id = b.id === undefined ? `instance-${randomUUID().slice(0, 6)}` : b.id;
    if (typeof id !== 'string' || id.length > ID_MAX || !ID_PATTERN.test(id))
      return err(400, 'id must be 1-63 characters matching ^[a-z]([-a-z0-9]*[a-z0-9])?$');
    const disks = Array.isArray(b.disks) ? (b.disks as Record<string, unknown>[]) : [];
    for (const d of disks) {
      const src = d.source;
      if (typeof src === 'string' && !this.images().some((i) => i.selfLink === src))
        return err(400, `unknown image ${src}`);
    }
    const metadata = b.instanceMetadata;
    if (
      metadata !== undefined &&
      (!Array.isArray(metadata) || metadata.some((m) => typeof m?.key !== 'string' || typeof m?.value !== 'string'))
    )
      return err(400, 'instanceMetadata must be a list of {key, value} strings');
    const existing = this.instances.get(id);
    if (existing) existing.timeline.advance(existing);
    if (existing && !existing.gone) return err(409, `instance ${id} already exists`);

    const now = this.iso();
    const inst: Inst = {
      gone: false,
      timeline: new Timeline(this.now),
      wire: {
        selfLink: `${PATHS.instances(this.region, this.project)}/${id}`,
        uid: randomUUID(),
        id,
        displayName: typeof b.displayName === 'string' ? b.displayName : null,
        description: typeof b.description === 'string' ? b.description : null,
        labels: (b.labels as Record<string, string>) ?? {},
        type: b.type,
        instanceMetadata: (metadata as { key: string; value: string }[]) ?? [],
        hostname: typeof b.hostname === 'string' ? b.hostname : id,
        lifecycle: { status: 'PROVISIONING', statusMessage: 'Scheduling' },
        disks: disks.map((d) => ({
          sizeGb: typeof d.sizeGb === 'number' ? d.sizeGb : 50,
          interface: (d.interface as string) ?? 'SCSI',
          source: (d.source as string) ?? null,
          boot: d.boot === true,
          type: (d.type as string) ?? 'PERSISTENT',
          mode: (d.mode as string) ?? 'READ_WRITE',
        })),
        nics: [],
        // The type brings its GPUs; the instance lists only the ones asked for (none here, as the adapter sends none).
        gpus: Array.isArray(b.gpus) ? (b.gpus as { type: string; count: number }[]) : [],
        createdAt: now,
        updatedAt: now,
      },
    };
    this.instances.delete(id); // a gone one with the same id: re-created at the end of the order
    this.instances.set(id, inst);
    inst.timeline.after(this.delays.createMs, (i) => {
      const n = this.ipCounter++;
      // No address is marked public (seed 001): a project-network NIC with a private address, and a second NIC on an
      // external network with a documentation-range address (RFC 5737 TEST-NET-3).
      i.wire.nics = [
        {
          network: `/v1/regions/${this.region}/projects/${this.project}/compute/networks/default`,
          subnet: `/v1/regions/${this.region}/projects/${this.project}/compute/subnets/default`,
          ipv4Address: `10.0.1.${n % 250}`,
          ipv6Address: null,
          vlan: null,
        },
        {
          network: `/v1/regions/${this.region}/projects/${this.project}/compute/networks/external`,
          subnet: null,
          ipv4Address: `203.0.113.${n % 250}`,
          ipv6Address: null,
          vlan: null,
        },
      ];
      this.set(i, 'RUNNING');
    });
    inst.timeline.advance(inst);
    return ok(200, inst.wire);
  }

  private set(i: Inst, status: string, message: string | null = null): void {
    i.wire.lifecycle = { status, statusMessage: message };
    i.wire.updatedAt = this.iso();
  }

  /** Documented (update-instance page): displayName, description, labels, instanceMetadata. */
  private update(i: Inst, r: EmulatorRequest): EmulatorResponse {
    const b = (r.body ?? {}) as Record<string, unknown>;
    const allowed = ['displayName', 'description', 'labels', 'instanceMetadata'];
    const extra = Object.keys(b).filter((k) => !allowed.includes(k));
    if (extra.length) return err(400, `cannot update ${extra.join(', ')}`);
    if (typeof b.displayName === 'string') i.wire.displayName = b.displayName;
    if (typeof b.description === 'string') i.wire.description = b.description;
    if (b.labels && typeof b.labels === 'object') i.wire.labels = b.labels as Record<string, string>;
    if (Array.isArray(b.instanceMetadata))
      i.wire.instanceMetadata = b.instanceMetadata as { key: string; value: string }[];
    i.wire.updatedAt = this.iso();
    return ok(200, i.wire);
  }

  /** ASSUMPTION (wire.ts): DELETE answers the instance in DELETING; it is gone (404) after `deleteMs`. */
  private remove(i: Inst): EmulatorResponse {
    if (i.wire.lifecycle.status !== 'DELETING') {
      i.timeline.clear();
      this.set(i, 'DELETING');
      i.timeline.after(this.delays.deleteMs, (x) => {
        x.gone = true;
      });
    }
    const body = structuredClone(i.wire);
    i.timeline.advance(i);
    return ok(200, body);
  }

  /** ASSUMPTION (wire.ts): POST …/stop and …/start answer the instance; a repeated action is accepted again. */
  private power(i: Inst, action: 'start' | 'stop'): EmulatorResponse {
    const s = i.wire.lifecycle.status;
    const [from, during, after, ms] =
      action === 'stop'
        ? ['RUNNING', 'STOPPING', 'STOPPED', this.delays.stopMs]
        : ['STOPPED', 'STARTING', 'RUNNING', this.delays.startMs];
    if (s !== from && s !== during && s !== after)
      return err(409, `instance ${i.wire.id} is ${s}; it cannot ${action} now`);
    if (s === from) {
      i.timeline.clear();
      this.set(i, during);
      i.timeline.after(ms, (x) => this.set(x, after));
    }
    const body = structuredClone(i.wire);
    i.timeline.advance(i);
    return ok(200, body);
  }
}

/**
 * A cursor page (documented parameters: `pageToken` opaque, `pageSize` 1–500, default 50). The token is the offset,
 * base64url-encoded; a token this emulator did not make is a 400.
 */
function page<K extends string, T>(r: EmulatorRequest, key: K, all: T[]): EmulatorResponse {
  const size = r.query.has('pageSize') ? Number(r.query.get('pageSize')) : 50;
  if (!Number.isInteger(size) || size < 1 || size > 500) return err(400, 'pageSize must be between 1 and 500');
  if (r.query.has('offset') && r.query.has('pageToken')) return err(400, 'pageToken and offset are mutually exclusive');
  let from = 0;
  const token = r.query.get('pageToken');
  if (token) {
    const m = /^o:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
    if (!m) return err(400, 'invalid pageToken');
    from = Number(m[1]);
  }
  const items = all.slice(from, from + size);
  const next = from + size < all.length ? Buffer.from(`o:${from + size}`).toString('base64url') : undefined;
  return ok(200, { [key]: items, ...(next ? { nextPageToken: next } : {}) });
}

/** Seed 001's error body: the HTTP status as the integer code. */
const errorBody = (status: number, message: string) => ({
  error: { code: status, message, details: [{ reason: codeName(status) }] },
});
const ok = (status: number, body?: unknown): EmulatorResponse => ({ status, body });
const err = (status: number, message: string): EmulatorResponse => ({ status, body: errorBody(status, message) });
