/**
 * Genesis Cloud emulator: the documented `/compute/v1` paths, Bearer auth (401 otherwise), page/per_page pagination,
 * 201/204 codes, `{code, message}` errors, and the instance state machine
 * `creating → active`, `stopping → stopped`, `starting → active`, `resetting → active`, `deleting → 404`.
 * Source: shared/seeds/genesiscloud-instances.txt and providers.md §3. Behaviour the docs do not give is marked
 * ASSUMPTION. Prices here are demo prices, labelled `source: 'emulator'`; Genesis has no price API.
 */
import { randomUUID } from 'node:crypto';
import {
  CloudEmulator,
  HttpEmulator,
  Timeline,
  type EmulatorRequest,
  type EmulatorResponse,
} from '../../emulator/server.js';
import { GENESIS_TYPES, GENESIS_TYPES_BY_ID } from './catalog.js';
import { API_PREFIX as API, type WireInstance, type WireSnapshot } from './wire.js';

/** Demo prices in USD per hour (not Genesis Cloud's real prices, which are only on its pricing page). */
export const DEMO_PRICES: Record<string, number> = Object.fromEntries(
  GENESIS_TYPES.map((t) => {
    const perGpu: Record<string, number> = {
      H100: 2.19,
      Gaudi2: 1.2,
      'RTX 3090': 0.45,
      'RTX 3080': 0.35,
      'GTX 1080 Ti': 0.2,
    };
    const base = t.gpu
      ? (perGpu[t.gpu.model] ?? 1) * t.gpu.count + (t.vcpus / t.gpu.count > 4 ? 0.05 * t.gpu.count : 0)
      : 0.02 * t.vcpus;
    return [t.id, Math.round(base * 100) / 100];
  }),
);

/**
 * Demo capacity per region. ASSUMPTION: which types each region offers (not documented). The regions are the current
 * OpenAPI enum plus ARC-IS-HAF-1, the seed's own example region that the enum no longer lists: the emulated cloud
 * offers a region outside the enum, as the real one does (the adapter knows it from the seed, not from the enum).
 */
const DEMO_AVAILABILITY: Record<string, (typeId: string) => boolean> = {
  'NORD-NO-KRS-1': () => true,
  'EUC-DE-MUC-1': (t) => !t.includes('1080ti'),
  'EUW-NL-AMS-1': (t) => !t.includes('h100') && !t.includes('gaudi'),
  'EUW-GB-MNC-1': (t) => !t.includes('h100'),
  'NA-CA-FTS-1': (t) => t.includes('gaudi') || !/nvidia|intel/.test(t),
  'NA-CA-MNZ-1': (t) => !/nvidia|intel/.test(t),
  'NA-CA-PRG-1': () => false,
  'ARC-IS-HAF-1': (t) => /nvidia(3080|1080ti)/.test(t) || !/nvidia|intel/.test(t),
};

/** The regions this emulated cloud offers. */
export const EMULATOR_REGIONS = Object.keys(DEMO_AVAILABILITY);

const DEMO_IMAGES = [
  {
    id: 'b7e8a1c2-0a6e-4d7e-9c55-3b1f0d2e4a10',
    name: 'Ubuntu 22.04',
    slug: 'ubuntu-22.04',
    family: 'ubuntu',
    versions: ['2024-10-01'],
  },
  {
    id: 'c1d2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    name: 'Ubuntu 24.04',
    slug: 'ubuntu-24.04',
    family: 'ubuntu',
    versions: ['2025-05-01'],
  },
  {
    id: 'd4c3b2a1-6f5e-4d3c-2b1a-0f9e8d7c6b5a',
    name: 'Ubuntu 22.04 with NVIDIA driver 550',
    slug: 'ubuntu-22.04-nvidia-550',
    family: 'ubuntu',
    versions: ['2025-01-15'],
  },
].map((i) => ({
  ...i,
  os_type: 'linux',
  type: 'cloud-image',
  regions: [...EMULATOR_REGIONS],
  created_at: '2024-10-01T00:00:00.000Z',
  updated_at: '2025-05-01T00:00:00.000Z',
}));

export interface GenesisDelays {
  createMs: number;
  stopMs: number;
  startMs: number;
  resetMs: number;
  deleteMs: number;
  snapshotMs: number;
}

export const INSTANT: GenesisDelays = { createMs: 0, stopMs: 0, startMs: 0, resetMs: 0, deleteMs: 0, snapshotMs: 0 };
export const DEMO_DELAYS: GenesisDelays = {
  createMs: 3000,
  stopMs: 1500,
  startMs: 1500,
  resetMs: 1000,
  deleteMs: 1500,
  snapshotMs: 2000,
};

export interface GenesisEmulatorOptions {
  token?: string;
  delays?: Partial<GenesisDelays>;
  latencyMs?: number;
  now?: () => number;
}

export const DEFAULT_TOKEN = 'emulator-genesiscloud-token';

interface Inst {
  wire: WireInstance & { is_protected: boolean };
  timeline: Timeline<Inst>;
  gone: boolean;
}

interface Snap {
  wire: WireSnapshot;
  timeline: Timeline<Snap>;
}

export class GenesisEmulator extends CloudEmulator {
  readonly http: HttpEmulator;
  readonly token: string;
  delays: GenesisDelays;
  private readonly now: () => number;
  private readonly instances = new Map<string, Inst>();
  private readonly snapshots = new Map<string, Snap>();
  private readonly sshKeys = new Map<
    string,
    { id: string; name: string; value: string; fingerprint: string; created_at: string }
  >();
  private ipCounter = 10;

  constructor(opts: GenesisEmulatorOptions = {}) {
    super();
    this.token = opts.token ?? DEFAULT_TOKEN;
    this.delays = { ...INSTANT, ...opts.delays };
    this.now = opts.now ?? Date.now;
    this.http = new HttpEmulator({
      name: 'genesiscloud',
      latencyMs: opts.latencyMs,
      // Source: providers.md §3.1 — Bearer, and the deprecated X-Auth-Token still accepted.
      authorize: (h) => h.authorization === `Bearer ${this.token}` || h['x-auth-token'] === this.token,
      errorBody: (_status, code, message) => ({ code, message }),
      routes: [
        { method: 'GET', path: `${API}/instances`, handler: (r) => this.listInstances(r) },
        { method: 'POST', path: `${API}/instances`, handler: (r) => this.createInstance(r) },
        {
          method: 'GET',
          path: `${API}/instances/:id`,
          handler: (r) => this.withInstance(r, (i) => ok(200, { instance: i.wire })),
        },
        {
          method: 'PATCH',
          path: `${API}/instances/:id`,
          handler: (r) => this.withInstance(r, (i) => this.patchInstance(i, r)),
        },
        {
          method: 'DELETE',
          path: `${API}/instances/:id`,
          handler: (r) => this.withInstance(r, (i) => this.deleteInstance(i)),
        },
        {
          method: 'GET',
          path: `${API}/instances/:id/actions`,
          handler: (r) => this.withInstance(r, (i) => ok(200, { actions: allowedActions(i.wire.status) })),
        },
        {
          method: 'POST',
          path: `${API}/instances/:id/actions`,
          handler: (r) => this.withInstance(r, (i) => this.action(i, r)),
        },
        {
          method: 'POST',
          path: `${API}/instances/:id/snapshots`,
          handler: (r) => this.withInstance(r, (i) => this.createSnapshot(i, r)),
        },
        {
          method: 'GET',
          path: `${API}/instances/:id/snapshots`,
          handler: (r) => this.withInstance(r, () => this.listSnapshots(r, r.params.id)),
        },
        { method: 'GET', path: `${API}/snapshots`, handler: (r) => this.listSnapshots(r) },
        {
          method: 'GET',
          path: `${API}/snapshots/:id`,
          handler: (r) => this.withSnapshot(r, (s) => ok(200, { snapshot: s.wire })),
        },
        {
          method: 'DELETE',
          path: `${API}/snapshots/:id`,
          handler: (r) => this.withSnapshot(r, (s) => this.deleteSnapshot(s)),
        },
        { method: 'GET', path: `${API}/images`, handler: (r) => this.listImages(r) },
        { method: 'GET', path: `${API}/availability/:region/instances`, handler: (r) => this.availability(r) },
        { method: 'GET', path: `${API}/ssh-keys`, handler: (r) => paginate(r, 'ssh_keys', [...this.sshKeys.values()]) },
        { method: 'POST', path: `${API}/ssh-keys`, handler: (r) => this.createSshKey(r) },
        {
          method: 'DELETE',
          path: `${API}/ssh-keys/:id`,
          handler: (r) => (this.sshKeys.delete(r.params.id!) ? ok(204) : notFound('ssh key')),
        },
      ],
    });
  }

  /** Instances that exist (not yet gone), with their current raw status. */
  liveInstances(): WireInstance[] {
    return [...this.instances.values()].filter((i) => (i.timeline.advance(i), !i.gone)).map((i) => i.wire);
  }

  /** Forces a raw status, e.g. an undocumented legacy one, for tests. */
  setStatus(id: string, status: string): void {
    const i = this.instances.get(id);
    if (!i) throw new Error(`no instance ${id}`);
    i.timeline.clear();
    i.wire.status = status;
  }

  private live(id: string): Inst | undefined {
    const i = this.instances.get(id);
    if (!i) return undefined;
    i.timeline.advance(i);
    return i.gone ? undefined : i;
  }

  private withInstance(r: EmulatorRequest, fn: (i: Inst) => EmulatorResponse): EmulatorResponse {
    const i = this.live(r.params.id!);
    return i ? fn(i) : notFound('instance');
  }

  private withSnapshot(r: EmulatorRequest, fn: (s: Snap) => EmulatorResponse): EmulatorResponse {
    const s = this.snapshots.get(r.params.id!);
    if (!s) return notFound('snapshot');
    s.timeline.advance(s);
    return fn(s);
  }

  private listInstances(r: EmulatorRequest): EmulatorResponse {
    const all = [...this.instances.values()].filter((i) => (i.timeline.advance(i), !i.gone)).map((i) => i.wire);
    all.sort((a, b) => (a.created_at ?? '').localeCompare(b.created_at ?? ''));
    return paginate(r, 'instances', all);
  }

  private createInstance(r: EmulatorRequest): EmulatorResponse {
    const b = (r.body ?? {}) as Record<string, unknown>;
    for (const f of ['name', 'hostname', 'type', 'region', 'image'] as const)
      if (typeof b[f] !== 'string' || (b[f] as string).length === 0) return bad(`${f} is required`);
    const type = b.type as string;
    const region = b.region as string;
    if (!GENESIS_TYPES_BY_ID.has(type)) return bad(`invalid instance type ${type}`);
    if (!EMULATOR_REGIONS.includes(region)) return bad(`invalid region ${region}`);
    // ASSUMPTION: no capacity in the region answers 400 with code "resource_unavailable".
    if (!DEMO_AVAILABILITY[region]?.(type))
      return err(400, 'resource_unavailable', `instance type ${type} is not available in ${region}`);
    const image = this.resolveImage(b.image as string, region);
    if (!image) return bad(`image ${b.image as string} not found in ${region}`);
    const hasKeys = Array.isArray(b.ssh_keys) && b.ssh_keys.length > 0;
    if (hasKeys && b.password !== undefined) return bad('only one of ssh_keys or password can be provided');
    if (!hasKeys && b.password === undefined) return bad('ssh_keys or password is required');
    if (hasKeys)
      for (const k of b.ssh_keys as unknown[])
        if (typeof k !== 'string' || !this.sshKeys.has(k)) return bad(`ssh key ${String(k)} not found`);
    const pw = b.password === undefined ? undefined : passwordProblem(b.password);
    if (pw) return bad(pw);
    if (b.disk_size !== undefined && !(Number.isInteger(b.disk_size) && (b.disk_size as number) >= 80))
      return bad('disk_size must be an integer of at least 80');
    const meta = b.metadata as { startup_script?: unknown } | undefined;
    if (
      meta?.startup_script !== undefined &&
      (typeof meta.startup_script !== 'string' || Buffer.byteLength(meta.startup_script) > 64 * 1024)
    )
      return bad('metadata.startup_script must be a string of at most 64 KiB');

    const now = new Date(this.now()).toISOString();
    const inst: Inst = {
      gone: false,
      timeline: new Timeline(this.now),
      wire: {
        id: randomUUID(),
        name: b.name as string,
        hostname: b.hostname as string,
        type,
        region,
        placement_option: (b.placement_option as string) ?? 'AUTO',
        image: { id: image.id, name: image.name },
        floating_ip: null,
        ssh_keys: ((b.ssh_keys as string[]) ?? []).map((id) => ({ id, name: this.sshKeys.get(id)!.name })),
        security_groups: [{ id: 'fd537d69-9db7-4a44-83b8-96f79d10071a', name: 'standard' }],
        volumes: [],
        is_protected: b.is_protected === true,
        status: 'creating',
        private_ip: null,
        public_ip: null,
        disk_size: (b.disk_size as number) ?? 80,
        created_at: now,
        updated_at: now,
      },
    };
    this.instances.set(inst.wire.id, inst);
    inst.timeline.after(this.delays.createMs, (i) => this.becomeActive(i));
    inst.timeline.advance(inst);
    return ok(201, { instance: inst.wire });
  }

  private becomeActive(i: Inst): void {
    const n = this.ipCounter++;
    i.wire.status = 'active';
    // Documentation address ranges (RFC 5737 TEST-NET-2 for public).
    i.wire.public_ip = `198.51.100.${n % 250}`;
    i.wire.private_ip = `192.168.10.${n % 250}`;
    this.touch(i);
  }

  private touch(i: Inst): void {
    i.wire.updated_at = new Date(this.now()).toISOString();
  }

  private resolveImage(ref: string, region: string): { id: string; name: string } | undefined {
    const [slug] = ref.split(':');
    const img = DEMO_IMAGES.find((i) => i.id === ref || i.slug === slug);
    if (img) return { id: img.id, name: img.name };
    const snap = this.snapshots.get(ref);
    if (snap && (snap.timeline.advance(snap), snap.wire.status === 'created') && snap.wire.region === region)
      return { id: snap.wire.id, name: snap.wire.name };
    return undefined;
  }

  private patchInstance(i: Inst, r: EmulatorRequest): EmulatorResponse {
    const b = (r.body ?? {}) as Record<string, unknown>;
    if (b.name !== undefined) {
      if (typeof b.name !== 'string' || !b.name) return bad('name must be a non-empty string');
      i.wire.name = b.name;
    }
    if (b.is_protected !== undefined) {
      if (typeof b.is_protected !== 'boolean') return bad('is_protected must be a boolean');
      i.wire.is_protected = b.is_protected;
    }
    this.touch(i);
    return ok(200, { instance: i.wire });
  }

  private deleteInstance(i: Inst): EmulatorResponse {
    // Source: seed 002 — with is_protected true "it's not possible to destroy the instance until it's switched to
    // false" (PATCH /instances/{id} {"is_protected": false}). ASSUMPTION: the refusal's status and code (400
    // "instance_protected"); the docs give neither.
    if (i.wire.is_protected)
      return err(
        400,
        'instance_protected',
        "instance is termination protected: it's not possible to destroy the instance until is_protected is switched to false",
      );
    i.timeline.clear();
    i.wire.status = 'deleting';
    this.touch(i);
    i.timeline.after(this.delays.deleteMs, (x) => {
      x.gone = true;
    });
    i.timeline.advance(i);
    return ok(204);
  }

  private action(i: Inst, r: EmulatorRequest): EmulatorResponse {
    const action = (r.body as { action?: unknown } | undefined)?.action;
    if (action !== 'start' && action !== 'stop' && action !== 'reset')
      return bad('action must be one of start, stop, reset');
    // ASSUMPTION: an action that is not currently allowed answers 409 "action_not_allowed".
    if (!allowedActions(i.wire.status).includes(action))
      return err(409, 'action_not_allowed', `action ${action} is not allowed while the instance is ${i.wire.status}`);
    i.timeline.clear();
    const [during, after, ms] =
      action === 'stop'
        ? ['stopping', 'stopped', this.delays.stopMs]
        : action === 'start'
          ? ['starting', 'active', this.delays.startMs]
          : ['resetting', 'active', this.delays.resetMs];
    i.wire.status = during;
    if (action === 'stop') i.wire.public_ip = null; // dynamic public IPs are released on stop (seed 002 public_ip_type)
    this.touch(i);
    i.timeline.after(ms, (x) => {
      if (after === 'active') this.becomeActive(x);
      else {
        x.wire.status = after;
        this.touch(x);
      }
    });
    i.timeline.advance(i);
    return ok(204);
  }

  private createSnapshot(i: Inst, r: EmulatorRequest): EmulatorResponse {
    const name = (r.body as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string' || !name) return bad('name is required');
    const s: Snap = {
      timeline: new Timeline(this.now),
      wire: {
        id: randomUUID(),
        name,
        size: i.wire.disk_size ?? 80,
        region: i.wire.region,
        status: 'creating',
        resource_id: i.wire.id,
        created_at: new Date(this.now()).toISOString(),
      },
    };
    this.snapshots.set(s.wire.id, s);
    s.timeline.after(this.delays.snapshotMs, (x) => {
      x.wire.status = 'created';
    });
    s.timeline.advance(s);
    return ok(201, { snapshot: s.wire });
  }

  private listSnapshots(r: EmulatorRequest, instanceId?: string): EmulatorResponse {
    const all = [...this.snapshots.values()]
      .map((s) => (s.timeline.advance(s), s.wire))
      .filter((s) => !instanceId || s.resource_id === instanceId);
    return paginate(r, 'snapshots', all);
  }

  private deleteSnapshot(s: Snap): EmulatorResponse {
    this.snapshots.delete(s.wire.id);
    return ok(204); // ASSUMPTION: 204 (providers.md §3.2)
  }

  private listImages(r: EmulatorRequest): EmulatorResponse {
    const type = r.query.get('type');
    return paginate(
      r,
      'images',
      DEMO_IMAGES.filter((i) => !type || i.type === type),
    );
  }

  private availability(r: EmulatorRequest): EmulatorResponse {
    const region = r.params.region!;
    const fn = DEMO_AVAILABILITY[region];
    if (!fn) return notFound('region');
    return ok(200, {
      availability: {
        region,
        type: 'instances',
        instance_types: GENESIS_TYPES.map((t) => ({
          type: t.id,
          available: fn(t.id),
          ...(fn(t.id) ? { count: 4 } : {}),
        })),
      },
    });
  }

  private createSshKey(r: EmulatorRequest): EmulatorResponse {
    const b = (r.body ?? {}) as { name?: unknown; value?: unknown };
    if (typeof b.name !== 'string' || !b.name) return bad('name is required');
    if (typeof b.value !== 'string' || !/^(ssh-(rsa|ed25519)|ecdsa-sha2-\S+) \S+/.test(b.value.trim()))
      return bad('value must be an SSH public key');
    // ASSUMPTION: names are unique per account; a duplicate answers 409.
    if ([...this.sshKeys.values()].some((k) => k.name === b.name))
      return err(409, 'conflict', `an ssh key named ${b.name} already exists`);
    const key = {
      id: randomUUID(),
      name: b.name,
      value: b.value.trim(),
      fingerprint: 'SHA256:emulator',
      created_at: new Date(this.now()).toISOString(),
    };
    this.sshKeys.set(key.id, key);
    return ok(201, key);
  }
}

/**
 * Why a create's password is refused, or undefined. Seed 002: "Your password must have a minimum length of 16
 * characters". The OpenAPI (genesiscloud-go types.gen.go `CreateInstanceJSONBody.Password`) adds "upper and lower
 * chars, digits and length between 8-72"; both hold here, so the stricter minimum (16) and the maximum (72) apply.
 * ASSUMPTION: the refusal is a 400 `{code, message}` like every documented error (the exact code is not documented).
 */
function passwordProblem(pw: unknown): string | undefined {
  if (typeof pw !== 'string') return 'password must be a string';
  if (pw.length < 16) return 'password must have a minimum length of 16 characters';
  if (pw.length > 72) return 'password must be at most 72 characters';
  if (!/[a-z]/.test(pw) || !/[A-Z]/.test(pw) || !/\d/.test(pw))
    return 'password must have upper and lower case letters and digits';
  return undefined;
}

function allowedActions(status: string): string[] {
  // Source: providers.md §3.5 (stop from active|starting|error; start from stopped; reset from active).
  switch (status) {
    case 'active':
      return ['stop', 'reset'];
    case 'starting':
    case 'error':
      return ['stop'];
    case 'stopped':
      return ['start'];
    default:
      return [];
  }
}

function paginate<T>(r: EmulatorRequest, key: string, all: T[]): EmulatorResponse {
  const page = r.query.has('page') ? Number(r.query.get('page')) : 1;
  const perPage = r.query.has('per_page') ? Number(r.query.get('per_page')) : 50;
  if (!Number.isInteger(page) || page < 1) return bad('page must be a positive integer');
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100)
    return bad('per_page must be a positive integer lower or equal to 100');
  const items = all.slice((page - 1) * perPage, page * perPage);
  return ok(200, { [key]: items, total_count: all.length, page, per_page: perPage });
}

const ok = (status: number, body?: unknown): EmulatorResponse => ({ status, body });
const err = (status: number, code: string, message: string): EmulatorResponse => ({ status, body: { code, message } });
const bad = (message: string) => err(400, 'bad_request', message);
const notFound = (what: string) => err(404, 'not_found', `${what} not found`);
