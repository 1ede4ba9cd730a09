/**
 * InstaVM emulator: `POST /v1/vms?wait=` (blocking until the VM is up when `wait` is true, the documented default),
 * FastAPI validation errors (422 `{detail: [{loc, msg, type}]}`, field by field), `X-API-Key` or Bearer auth (401
 * `{detail}` otherwise), VMs that end at their `vm_lifetime_seconds` (applied lazily, like every emulator here),
 * snapshots of a VM that become ready, the documented app-url call, and the shared fault switches. Source: seed 004 and
 * providers.md §5; the behaviour the docs do not give is the ASSUMPTIONs of wire.ts plus the ones marked here. The demo
 * prices are labelled `emulator`: InstaVM's API has none.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CloudEmulator,
  HttpEmulator,
  Timeline,
  type EmulatorRequest,
  type EmulatorResponse,
} from '../../emulator/server.js';
import { SIZES } from './map.js';
import { PATHS, type WireSnapshot, type WireVm } from './wire.js';

export const DEFAULT_KEY = 'instavm_sk_emulator_000000000000000000';

export interface InstavmDelays {
  /** provisioning → running. */
  createMs: number;
  /** A snapshot's `creating` → `ready`. */
  snapshotMs: number;
  /** terminating → terminated after a delete. */
  deleteMs: number;
}
export const INSTANT: InstavmDelays = { createMs: 0, snapshotMs: 0, deleteMs: 0 };
export const DEMO_DELAYS: InstavmDelays = { createMs: 2_000, snapshotMs: 1_500, deleteMs: 500 };

/**
 * Demo prices by size, labelled `emulator`: providers.md §5.5's second-hand, unverified rates ($0.0504 per vCPU-hour,
 * $0.0162 per GB-hour), never shown as InstaVM's own.
 */
export const DEMO_PRICES: Record<string, number> = Object.fromEntries(
  SIZES.map((s) => [s.id, Math.round((s.vcpu * 0.0504 + (s.memory_mb / 1024) * 0.0162) * 10_000) / 10_000]),
);

export interface InstavmEmulatorOptions {
  delays?: Partial<InstavmDelays>;
  latencyMs?: number;
  key?: string;
  /** The emulator's clock (tests move it with `advance`). */
  now?: () => number;
  /** Answer creates without a vm_id (the VM is found by its session), as a create with wait=false may. */
  nullVmId?: boolean;
}

interface Vm {
  wire: WireVm & Record<string, unknown>;
  timeline: Timeline<Vm>;
}

type Issue = { loc: (string | number)[]; msg: string; type: string };

/** System snapshots every account sees (documented `snapshot_type` user | system). */
const SYSTEM_SNAPSHOTS: WireSnapshot[] = [
  ['snap_sys_python311', 'python-3.11', 'docker.io/library/python:3.11-slim'],
  ['snap_sys_node20', 'node-20', 'docker.io/library/node:20-slim'],
].map(([id, name, oci]) => ({
  snapshot_id: id,
  id,
  name,
  status: 'ready',
  snapshot_type: 'system',
  oci_image: oci,
  size_bytes: 3 * 2 ** 30,
  last_error: null,
  vm_id: null,
  created_at: '2026-01-01T00:00:00.000Z',
}));

export class InstavmEmulator extends CloudEmulator {
  readonly http: HttpEmulator;
  readonly key: string;
  private readonly delays: InstavmDelays;
  private offset = 0;
  private readonly clock: () => number;
  private readonly vms = new Map<string, Vm>();
  private readonly snapshots = new Map<string, { wire: WireSnapshot; timeline: Timeline<WireSnapshot> }>();
  nullVmId: boolean;

  constructor(opts: InstavmEmulatorOptions = {}) {
    super();
    this.delays = { ...INSTANT, ...opts.delays };
    const base = opts.now ?? Date.now;
    this.clock = () => base() + this.offset;
    this.key = opts.key ?? DEFAULT_KEY;
    this.nullVmId = opts.nullVmId ?? false;
    for (const s of SYSTEM_SNAPSHOTS)
      this.snapshots.set(s.snapshot_id!, { wire: { ...s }, timeline: new Timeline(this.clock) });
    this.http = new HttpEmulator({
      name: 'instavm',
      latencyMs: opts.latencyMs,
      authorize: (h) => h['x-api-key'] === this.key || h.authorization === `Bearer ${this.key}`,
      errorBody: (_status, _code, message) => ({ detail: message }),
      routes: [
        { method: 'GET', path: PATHS.vms, handler: () => ok(200, this.live()) },
        { method: 'POST', path: PATHS.vms, handler: (r) => this.create(r) },
        { method: 'GET', path: PATHS.vm(':id'), handler: (r) => this.with(r, (v) => ok(200, v.wire)) },
        { method: 'DELETE', path: PATHS.vm(':id'), handler: (r) => this.with(r, (v) => this.remove(v)) },
        { method: 'PATCH', path: PATHS.vm(':id'), handler: (r) => this.with(r, (v) => this.update(v, r)) },
        { method: 'POST', path: PATHS.snapshotVm(':id'), handler: (r) => this.with(r, (v) => this.snapshot(v, r)) },
        { method: 'GET', path: PATHS.snapshots, handler: () => ok(200, this.allSnapshots()) },
        { method: 'GET', path: PATHS.appUrl(':session'), handler: (r) => this.appUrl(r) },
      ],
    });
  }

  /** Moves the emulator's clock forward (tests: a VM's lifetime passes without waiting). */
  advance(ms: number): void {
    this.offset += ms;
  }

  /** VMs that exist now: not terminated (for tests and the contract suite). */
  liveVms(): WireVm[] {
    return this.live();
  }

  /** Forces a VM's raw status (and stops its timeline). */
  setStatus(id: string, raw: string): void {
    const v = this.vms.get(id);
    if (!v) throw new Error(`no VM ${id}`);
    v.timeline.clear();
    v.wire.status = raw;
  }

  /** Every VM as the emulator holds it, including terminated ones (for tests). */
  all(): WireVm[] {
    return [...this.vms.values()].map((v) => (v.timeline.advance(v), v.wire));
  }

  // ASSUMPTION (wire.ts): GET /v1/vms lists VMs that have not ended, like the CLI's `instavm ls`.
  private live(): WireVm[] {
    return this.all().filter((w) => w.status !== 'terminated' && w.status !== 'failed');
  }

  private allSnapshots(): WireSnapshot[] {
    return [...this.snapshots.values()].map((s) => (s.timeline.advance(s.wire), s.wire));
  }

  private iso = (ms = this.clock()) => new Date(ms).toISOString();

  private with(r: EmulatorRequest, fn: (v: Vm) => EmulatorResponse | Promise<EmulatorResponse>) {
    const v = this.vms.get(r.params.id!);
    if (!v) return ok(404, { detail: 'VM not found' });
    v.timeline.advance(v);
    return fn(v);
  }

  /** FastAPI-style validation of VMCreateRequest (seed 004), every problem reported with its location. */
  private validate(b: Record<string, unknown>): Issue[] {
    const out: Issue[] = [];
    const at = (loc: (string | number)[], msg: string, type: string) => out.push({ loc: ['body', ...loc], msg, type });
    const int = (f: string, min?: number, max?: number) => {
      const v = b[f];
      if (v === undefined || v === null) return;
      if (typeof v !== 'number' || !Number.isInteger(v)) return at([f], 'Input should be a valid integer', 'int_type');
      if (min !== undefined && v < min)
        at([f], `Input should be greater than or equal to ${min}`, 'greater_than_equal');
      if (max !== undefined && v > max) at([f], `Input should be less than or equal to ${max}`, 'less_than_equal');
    };
    // ASSUMPTION: the VM limits are those documented for snapshot builds (vCPU 1–8, memory 128–8192 MB), and a
    // lifetime is at least one second.
    int('vcpu_count', 1, 8);
    int('memory_mb', 128, 8192);
    int('vm_lifetime_seconds', 1);
    for (const f of ['metadata', 'egress_policy'])
      if (b[f] != null && (typeof b[f] !== 'object' || Array.isArray(b[f])))
        at([f], 'Input should be a valid dictionary', 'dict_type');
    if (b.env != null) {
      if (typeof b.env !== 'object' || Array.isArray(b.env))
        at(['env'], 'Input should be a valid dictionary', 'dict_type');
      else
        for (const [k, v] of Object.entries(b.env))
          if (typeof v !== 'string') at(['env', k], 'Input should be a valid string', 'string_type');
    }
    for (const f of ['session_id', 'snapshot_id', 'snapshot_name', 'image_variant'])
      if (b[f] != null && typeof b[f] !== 'string') at([f], 'Input should be a valid string', 'string_type');
    if (b.snapshot_on_terminate != null && typeof b.snapshot_on_terminate !== 'boolean')
      at(['snapshot_on_terminate'], 'Input should be a valid boolean', 'bool_type');
    if (b.share != null) {
      const s = b.share as Record<string, unknown>;
      if (typeof s !== 'object') at(['share'], 'Input should be a valid dictionary', 'model_type');
      else if (s.port === undefined) at(['share', 'port'], 'Field required', 'missing');
      else if (typeof s.port !== 'number' || !Number.isInteger(s.port))
        at(['share', 'port'], 'Input should be a valid integer', 'int_type');
      else if (s.port < 1 || s.port > 65535)
        at(
          ['share', 'port'],
          `Input should be ${s.port < 1 ? 'greater than or equal to 1' : 'less than or equal to 65535'}`,
          'less_than_equal',
        );
    }
    if (b.custom_domain != null && typeof (b.custom_domain as { domain?: unknown }).domain !== 'string')
      at(['custom_domain', 'domain'], 'Field required', 'missing');
    if (b.vault_ids != null && (!Array.isArray(b.vault_ids) || b.vault_ids.some((x) => typeof x !== 'string')))
      at(['vault_ids'], 'Input should be a valid list of strings', 'list_type');
    return out;
  }

  private async create(r: EmulatorRequest): Promise<EmulatorResponse> {
    const b = r.body;
    if (!b || typeof b !== 'object' || Array.isArray(b))
      return ok(422, { detail: [{ loc: ['body'], msg: 'Field required', type: 'missing' }] });
    const body = b as Record<string, unknown>;
    const issues = this.validate(body);
    if (issues.length) return ok(422, { detail: issues });
    const snapshotId = body.snapshot_id as string | undefined;
    if (snapshotId) {
      const s = this.snapshots.get(snapshotId);
      s?.timeline.advance(s.wire);
      // ASSUMPTION: an unknown or unready snapshot is refused with 404 / 409 `{detail}`.
      if (!s) return ok(404, { detail: `Snapshot ${snapshotId} not found` });
      if (s.wire.status !== 'ready') return ok(409, { detail: `Snapshot ${snapshotId} is ${s.wire.status}` });
    }
    const wait = r.query.get('wait') !== 'false'; // documented default: true
    const id = `vm_${randomBytes(6).toString('hex')}`;
    const session = (body.session_id as string | undefined) ?? randomUUID();
    // ASSUMPTION (providers.md §5.3): InstaVM's default lifetime is unpublished; the emulator uses one hour.
    const lifetime = (body.vm_lifetime_seconds as number | undefined) ?? 3600;
    const created = this.clock();
    const share = body.share as { port: number; is_public?: boolean } | undefined;
    const vm: Vm = {
      timeline: new Timeline(this.clock),
      wire: {
        vm_id: id,
        session_id: session,
        status: 'provisioning',
        vcpu_count: (body.vcpu_count as number | undefined) ?? 2, // documented default 2 vCPU / 512 MB
        memory_mb: (body.memory_mb as number | undefined) ?? 512,
        metadata: (body.metadata as Record<string, unknown> | undefined) ?? {},
        created_at: this.iso(created),
        expires_at: this.iso(created + lifetime * 1000),
        vm_lifetime_seconds: lifetime,
        snapshot_id: snapshotId ?? null,
        share: share
          ? {
              share_id: `share_${randomBytes(4).toString('hex')}`,
              port: share.port,
              is_public: !!share.is_public,
              url: null,
            }
          : null,
      },
    };
    this.vms.set(id, vm);
    vm.timeline.after(this.delays.createMs, (v) => {
      v.wire.status = 'running';
    });
    // The cloud ends the VM at its lifetime (ASSUMPTION: status `terminated`, the record kept).
    vm.timeline.after(Math.max(0, created + lifetime * 1000 - this.clock()), (v) => {
      v.wire.status = 'terminated';
    });
    if (wait && this.delays.createMs > 0) await new Promise((res) => setTimeout(res, this.delays.createMs));
    vm.timeline.advance(vm);
    // Seed 004: VMCreateResponse. ASSUMPTION: with wait=false the VM may not be named yet (vm_id null).
    return ok(200, {
      vm_id: this.nullVmId && !wait ? null : id,
      session_id: session,
      status: vm.wire.status,
      share: vm.wire.share ?? null,
      custom_domain: null,
      env_status: body.env ? 'applied' : 'none',
      env_error: null,
    });
  }

  /**
   * ASSUMPTION (providers.md §5.2: the SDK's `vms.update(vm_id, metadata=…, vm_lifetime_seconds=…)`, PATCH named by
   * the vendor's setup notes): a new lifetime counts from the VM's creation, moves expires_at and the end.
   */
  private update(v: Vm, r: EmulatorRequest): EmulatorResponse {
    const body = (r.body ?? {}) as Record<string, unknown>;
    const lifetime = body.vm_lifetime_seconds;
    if (lifetime !== undefined && (typeof lifetime !== 'number' || !Number.isInteger(lifetime) || lifetime < 1))
      return ok(422, {
        detail: [{ loc: ['body', 'vm_lifetime_seconds'], msg: 'must be an integer ≥ 1', type: 'value_error' }],
      });
    if (v.wire.status === 'terminated') return ok(404, { detail: 'VM not found' });
    if (body.metadata && typeof body.metadata === 'object') v.wire.metadata = { ...v.wire.metadata, ...body.metadata };
    if (typeof lifetime === 'number') {
      const created = Date.parse(v.wire.created_at!);
      v.wire.vm_lifetime_seconds = lifetime;
      v.wire.expires_at = this.iso(created + lifetime * 1000);
      v.timeline.clear();
      if (v.wire.status === 'provisioning') v.wire.status = 'running';
      v.timeline.after(Math.max(0, created + lifetime * 1000 - this.clock()), (x) => {
        x.wire.status = 'terminated';
      });
      v.timeline.advance(v);
    }
    return ok(200, v.wire);
  }

  /** ASSUMPTION (wire.ts): DELETE answers 200 `{vm_id, status}`; the VM is terminating, then terminated. */
  private remove(v: Vm): EmulatorResponse {
    if (v.wire.status === 'terminated') return ok(404, { detail: 'VM not found' });
    v.timeline.clear();
    v.wire.status = 'terminating';
    v.timeline.after(this.delays.deleteMs, (x) => {
      x.wire.status = 'terminated';
    });
    v.timeline.advance(v);
    return ok(200, { vm_id: v.wire.vm_id, status: v.wire.status });
  }

  private snapshot(v: Vm, r: EmulatorRequest): EmulatorResponse {
    if (v.wire.status !== 'running') return ok(409, { detail: `VM ${v.wire.vm_id} is ${v.wire.status}` });
    const name = (r.body as { name?: unknown } | undefined)?.name;
    if (name != null && typeof name !== 'string')
      return ok(422, {
        detail: [{ loc: ['body', 'name'], msg: 'Input should be a valid string', type: 'string_type' }],
      });
    const id = `snap_${randomBytes(6).toString('hex')}`;
    const s = {
      timeline: new Timeline<WireSnapshot>(this.clock),
      wire: {
        snapshot_id: id,
        id,
        name: (name as string | undefined) ?? null,
        status: 'creating',
        snapshot_type: 'user',
        oci_image: null,
        size_bytes: 2 * 2 ** 30,
        last_error: null,
        vm_id: v.wire.vm_id,
        created_at: this.iso(),
      } as WireSnapshot,
    };
    this.snapshots.set(id, s);
    s.timeline.after(this.delays.snapshotMs, (w) => {
      w.status = 'ready';
    });
    s.timeline.advance(s.wire);
    // Documented: `{snapshot_id, status}`.
    return ok(200, { snapshot_id: id, status: s.wire.status });
  }

  /** Documented: GET /v1/sessions/app-url/{session_id}?port= → the URL of that port. */
  private appUrl(r: EmulatorRequest): EmulatorResponse {
    const v = [...this.vms.values()].find((x) => x.wire.session_id === r.params.session);
    if (!v) return ok(404, { detail: 'Session not found' });
    v.timeline.advance(v);
    const port = Number(r.query.get('port') ?? 80);
    return ok(200, {
      url: `${this.http.baseUrl}/apps/${v.wire.vm_id}/${port}`,
      direct_url: null,
      vm_ip: '10.0.0.2',
      port,
      vm_id: v.wire.vm_id,
      session_id: v.wire.session_id,
      status: v.wire.status === 'running' ? 'active' : 'killed',
    });
  }
}

const ok = (status: number, body?: unknown): EmulatorResponse => ({ status, body });
