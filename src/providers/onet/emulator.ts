/**
 * ONET Solutions emulator: the documented and assumed `/v1/organizations/{org}/projects/{project}/compute` paths,
 * Bearer auth (401 otherwise), DRF pages (`page`/`page_size` → `{count,next,previous,results}`), DRF errors
 * (`{detail}`; `{field: [msg]}` on 400), the documented rate limit (100 requests/s burst, 1,000/min) answered 429 with
 * Retry-After, the two statuses (billing `status` and `state_sync.vm_status`), tasks, console sessions that become
 * ready after a delay, and the shared fault switches. Source: seed 000 and providers.md §1; the behaviour the docs do
 * not give is the ASSUMPTIONs of wire.ts plus the ones marked here. Prices are demo decimal strings in an unnamed
 * currency, like the real API's: the emulator gives no USD prices.
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
import type { WireImage, WireInstance, WireLocation, WireSize, WireSnapshot } from './wire.js';
import { PATHS, UNSUSPEND_PATH } from './wire.js';

export const DEFAULT_TOKEN = 'sk-onetsolutions-emulator-0000000000000000';
export const DEFAULT_ORG = '6f1c2d3e-4a5b-4c6d-8e7f-901234567890';
export const DEFAULT_PROJECT = '7a2b3c4d-5e6f-4a7b-8c9d-0e1f23456789';

export interface OnetDelays {
  /** pending → provisioning → active/running. */
  createMs: number;
  stopMs: number;
  startMs: number;
  /** A console session's URL appears after this. */
  consoleMs: number;
  snapshotMs: number;
  /**
   * The billed period of an hourly instance. A cancellation takes effect at the end of the current one
   * (`billing_end_date`); 0 = at once. ASSUMPTION: hourly instances are billed by the started hour.
   */
  billingPeriodMs: number;
}

export const INSTANT: OnetDelays = {
  createMs: 0,
  stopMs: 0,
  startMs: 0,
  consoleMs: 0,
  snapshotMs: 0,
  billingPeriodMs: 0,
};
export const DEMO_DELAYS: OnetDelays = {
  createMs: 2_500,
  stopMs: 1_500,
  startMs: 1_500,
  consoleMs: 1_500,
  snapshotMs: 2_000,
  billingPeriodMs: 3_600_000,
};

export interface OnetEmulatorOptions {
  delays?: Partial<OnetDelays>;
  latencyMs?: number;
  token?: string;
  organization?: string;
  project?: string;
  /** The documented limits (OpenAPI info block): 100 requests/s burst, 1,000 requests/min. */
  rateLimit?: { perSecond: number; perMinute: number };
  now?: () => number;
}

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const volume = (n: number, gb: number) => ({
  id: uuid(100 + n),
  volume_type: 'ssd',
  disk_gb: gb,
  is_default: true,
  is_active: true,
});
const option = (n: number, cycle: string, price: string) => ({
  id: uuid(200 + n),
  billing_cycle: cycle,
  price,
  discount_percent: '0.00',
  is_default: cycle === 'hourly',
  is_active: true,
});

/** Demo sizes: CPU VPS sizes priced by the hour and by the month; one sold monthly only (never created here). */
export const DEMO_SIZES: WireSize[] = [
  ['vps-s1', 'VPS S1', 1, 2048, 40, '0.0070', '4.99'],
  ['vps-m2', 'VPS M2', 2, 4096, 80, '0.0140', '9.99'],
  ['vps-l4', 'VPS L4', 4, 8192, 160, '0.0280', '19.99'],
  ['vps-xl8', 'VPS XL8 (monthly only)', 8, 16384, 320, undefined, '39.99'],
].map(([slug, name, vcpu, ram, disk, hourly, monthly], i) => ({
  id: uuid(10 + i),
  name: name as string,
  slug: slug as string,
  vcpu: vcpu as number,
  ram_mb: ram as number,
  bandwidth_mbps: 1000,
  available_volumes: [volume(i, disk as number)],
  pricing_options: [
    ...(hourly ? [option(i * 2, 'hourly', hourly as string)] : []),
    option(i * 2 + 1, 'monthly', monthly as string),
  ],
  cpu_model: 'e5-2680-v4',
  is_active: true,
  description: `${vcpu as number} vCPU, ${(ram as number) / 1024} GB RAM, ${disk as number} GB SSD`,
}));

export const DEMO_LOCATIONS: WireLocation[] = [
  { id: uuid(30), name: 'Paris', slug: 'fr-par-1', country_code: 'FR', is_active: true },
  { id: uuid(31), name: 'Lille', slug: 'fr-lil-1', country_code: 'FR', is_active: true },
  { id: uuid(32), name: 'Marseille (closed)', slug: 'fr-mrs-1', country_code: 'FR', is_active: false },
];

export const DEMO_IMAGES: WireImage[] = [
  ['ubuntu-24-04', 'Ubuntu 24.04 LTS', 'Ubuntu', '24.04', false],
  ['ubuntu-22-04', 'Ubuntu 22.04 LTS', 'Ubuntu', '22.04', false],
  ['debian-12', 'Debian 12', 'Debian', '12', false],
  ['windows-2022', 'Windows Server 2022', 'Windows', '2022', true],
].map(([slug, name, os, version, win], i) => ({
  id: uuid(40 + i),
  organization_id: null,
  name: name as string,
  slug: slug as string,
  os_name: os as string,
  os_version: version as string,
  is_windows: win as boolean,
  requires_license_addon: win as boolean,
  visibility: 'public',
  os_architecture: 'x86_64',
  is_active: true,
  min_disk_gb: win ? 40 : 10,
  min_ram_mb: win ? 2048 : 512,
}));

interface Inst {
  wire: WireInstance & Record<string, unknown>;
  timeline: Timeline<Inst>;
}
interface Session {
  id: string;
  instance_id: string;
  readyAt: number;
  expires_at: string;
}
interface Task {
  id: string;
  instance_id: string;
  instance: { id: string; name: string };
  task_type: string;
  doneAt: number;
  started_at: string;
  retry_count: number;
  max_retries: number;
  created: string;
}

export class OnetEmulator extends CloudEmulator {
  readonly http: HttpEmulator;
  readonly token: string;
  readonly organization: string;
  readonly project: string;
  private readonly delays: OnetDelays;
  private readonly now: () => number;
  private readonly limit: { perSecond: number; perMinute: number };
  private readonly hits: number[] = [];
  private readonly instances = new Map<string, Inst>();
  private readonly sessions = new Map<string, Session>();
  private readonly tasks = new Map<string, Task>();
  private readonly snapshots = new Map<string, { wire: WireSnapshot; timeline: Timeline<WireSnapshot> }>();
  private readonly sshKeys = new Map<string, { id: string; name: string; public_key: string; fingerprint: string }>();
  private ipCounter = 10;
  /** Calls of the documented POST …/unsuspend (it charges money: the adapter must never make one). */
  unsuspendCalls = 0;

  constructor(opts: OnetEmulatorOptions = {}) {
    super();
    this.delays = { ...INSTANT, ...opts.delays };
    this.now = opts.now ?? Date.now;
    this.token = opts.token ?? DEFAULT_TOKEN;
    this.organization = opts.organization ?? DEFAULT_ORG;
    this.project = opts.project ?? DEFAULT_PROJECT;
    this.limit = opts.rateLimit ?? { perSecond: 100, perMinute: 1_000 };
    const P = '/v1/organizations/:org/projects/:project/compute';
    const route = (method: string, path: string, handler: Handler) => ({
      method,
      path: `${P}${path}`,
      handler: this.scoped(handler),
    });
    this.http = new HttpEmulator({
      name: 'onet',
      latencyMs: opts.latencyMs,
      authorize: (h) => h.authorization === `Bearer ${this.token}`,
      errorBody: (_status, _code, message) => ({ detail: message }),
      routes: [
        route('GET', PATHS.sizes, (r) => paginate(r, DEMO_SIZES)),
        route('GET', PATHS.locations, (r) => paginate(r, DEMO_LOCATIONS)),
        route('GET', PATHS.images, (r) => paginate(r, DEMO_IMAGES)),
        route('GET', PATHS.instances, (r) => paginate(r, this.all())),
        route('POST', PATHS.instances, (r) => this.create(r)),
        route('GET', PATHS.instance(':id'), (r) => this.with(r, (i) => ok(200, i.wire))),
        route('DELETE', PATHS.instance(':id'), (r) => this.with(r, (i) => this.cancel(i))),
        route('POST', PATHS.action(':id', 'start'), (r) => this.with(r, (i) => this.power(i, 'start'))),
        route('POST', PATHS.action(':id', 'stop'), (r) => this.with(r, (i) => this.power(i, 'stop'))),
        route('POST', UNSUSPEND_PATH(':id'), (r) => this.with(r, (i) => this.unsuspend(i))),
        route('POST', PATHS.console(':id'), (r) => this.with(r, (i) => this.openConsole(i))),
        route('GET', PATHS.consoleSession(':id', ':session'), (r) =>
          this.with(r, (i) => this.readConsole(i, r.params.session!)),
        ),
        route('GET', PATHS.snapshots(':id'), (r) =>
          this.with(r, (i) =>
            paginate(
              r,
              [...this.snapshots.values()]
                .map((s) => (s.timeline.advance(s.wire), s.wire))
                .filter((s) => s.instance_id === i.wire.id),
            ),
          ),
        ),
        route('POST', PATHS.snapshots(':id'), (r) => this.with(r, (i) => this.snapshot(i, r))),
        route('GET', PATHS.sshKeys, (r) => paginate(r, [...this.sshKeys.values()])),
        route('POST', PATHS.sshKeys, (r) => this.addKey(r)),
        route('GET', PATHS.task(':id'), (r) => this.task(r.params.id!)),
        route('GET', '/instances/:instance/tasks/:id', (r) => this.task(r.params.id!, r.params.instance)),
      ],
    });
  }

  /** Instances not cancelled or terminated (for tests and the contract suite). */
  liveInstances(): WireInstance[] {
    return this.all().filter((w) => w.status !== 'cancelled' && w.status !== 'terminated');
  }

  /** Forces the raw statuses: "billing/power" sets both, a single word sets `status` and clears the power state. */
  setStatus(id: string, raw: string): void {
    const i = this.instances.get(id);
    if (!i) throw new Error(`no instance ${id}`);
    i.timeline.clear();
    const [status, vm] = raw.split('/');
    i.wire.status = status!;
    i.wire.state_sync = vm ? { ...(i.wire.state_sync ?? { id: randomUUID() }), vm_status: vm } : null;
  }

  private all(): WireInstance[] {
    return [...this.instances.values()].map((i) => (i.timeline.advance(i), i.wire));
  }

  private iso = (ms = this.now()) => new Date(ms).toISOString();

  /** The organization and project of the path must be this emulator's, and the documented rate limit holds. */
  private scoped(h: Handler): Handler {
    return (r) => {
      const limited = this.throttle();
      if (limited) return limited;
      if (r.params.org !== this.organization || r.params.project !== this.project) return notFound();
      return h(r);
    };
  }

  /**
   * The documented limits: 100 requests/s burst, 1,000 requests/min. ASSUMPTION: DRF throttling's answer, 429 with
   * Retry-After and `{"detail": "Request was throttled. Expected available in N seconds."}`.
   */
  private throttle(): EmulatorResponse | undefined {
    const now = this.now();
    while (this.hits.length && this.hits[0]! <= now - 60_000) this.hits.shift();
    const lastSecond = this.hits.filter((t) => t > now - 1_000);
    let wait = 0;
    if (lastSecond.length >= this.limit.perSecond) wait = lastSecond[0]! + 1_000 - now;
    else if (this.hits.length >= this.limit.perMinute) wait = this.hits[0]! + 60_000 - now;
    if (wait > 0) {
      const s = Math.max(1, Math.ceil(wait / 1_000));
      return {
        status: 429,
        headers: { 'retry-after': String(s) },
        body: { detail: `Request was throttled. Expected available in ${s} second${s === 1 ? '' : 's'}.` },
      };
    }
    this.hits.push(now);
    return undefined;
  }

  private with(r: EmulatorRequest, fn: (i: Inst) => EmulatorResponse): EmulatorResponse {
    const i = this.instances.get(r.params.id!);
    if (!i) return notFound();
    i.timeline.advance(i);
    return fn(i);
  }

  /** A task that completes `ms` from now (read lazily, like everything else here). */
  private addTask(i: Inst, type: string, ms: number): Task {
    const now = this.iso();
    const t: Task = {
      id: randomUUID(),
      instance_id: i.wire.id,
      instance: { id: i.wire.id, name: i.wire.name },
      task_type: type,
      doneAt: this.now() + ms,
      started_at: now,
      retry_count: 0,
      max_retries: 3,
      created: now,
    };
    this.tasks.set(t.id, t);
    return t;
  }

  /** A task as the documented `GET …/tasks/{id}` shows it. ASSUMPTION (wire.ts): pending → completed. */
  private taskBody(t: Task) {
    const { doneAt, ...rest } = t;
    const done = this.now() >= doneAt;
    return {
      ...rest,
      status: done ? 'completed' : 'pending',
      completed_at: done ? this.iso(doneAt) : null,
      modified: done ? this.iso(doneAt) : t.created,
      result: null,
      parameters: null,
      created_by: null,
    };
  }

  private task(id: string, instance?: string): EmulatorResponse {
    const t = this.tasks.get(id);
    if (!t || (instance && t.instance_id !== instance)) return notFound();
    return ok(200, this.taskBody(t));
  }

  private create(r: EmulatorRequest): EmulatorResponse {
    const b = (r.body ?? {}) as Record<string, unknown>;
    const errors: Record<string, string[]> = {};
    for (const f of ['name', 'size_id', 'location_id', 'image_id', 'billing_cycle'])
      if (typeof b[f] !== 'string' || !(b[f] as string)) errors[f] = ['This field is required.'];
    const size = DEMO_SIZES.find((s) => s.id === b.size_id);
    const location = DEMO_LOCATIONS.find((l) => l.id === b.location_id && l.is_active);
    const image = DEMO_IMAGES.find((i) => i.id === b.image_id);
    const pk = (f: string) => [`Invalid pk "${String(b[f])}" - object does not exist.`];
    if (!errors.size_id && !size) errors.size_id = pk('size_id');
    if (!errors.location_id && !location) errors.location_id = pk('location_id');
    if (!errors.image_id && !image) errors.image_id = pk('image_id');
    if (size && !errors.billing_cycle && !size.pricing_options.some((o) => o.billing_cycle === b.billing_cycle))
      errors.billing_cycle = [`"${String(b.billing_cycle)}" is not offered for this size.`];
    const keys = b.ssh_key_ids;
    if (keys !== undefined && (!Array.isArray(keys) || keys.some((k) => !this.sshKeys.has(k as string))))
      errors.ssh_key_ids = ['Invalid SSH key id.'];
    if (Object.keys(errors).length) return ok(400, errors);

    const now = this.iso();
    const id = randomUUID();
    const inst: Inst = {
      timeline: new Timeline(this.now),
      wire: {
        id,
        legacy_id: 1000 + this.instances.size,
        organization_id: this.organization,
        project_id: this.project,
        name: b.name as string,
        status: 'pending',
        size: size!,
        location: location!,
        vpc: null,
        image: image!,
        os_name: `${image!.os_name} ${image!.os_version}`,
        primary_ipv4: null,
        primary_ipv6: null,
        ip_addresses: [],
        volumes: [],
        billing_start_date: null,
        billing_end_date: null,
        next_billing_date: null,
        cancellation_requested_at: null,
        cancellation_reason: null,
        bandwidth_used_gb: '0.00',
        is_active: true,
        is_installed: false,
        state_sync: null, // ASSUMPTION (wire.ts): no power state before the first sync
        created: now,
        modified: now,
        hostname: (b.hostname as string) ?? null,
        billing_cycle: b.billing_cycle as string,
        tags: null,
      },
    };
    this.instances.set(id, inst);
    this.addTask(inst, 'create_vps', this.delays.createMs);
    // ASSUMPTION (providers.md §1.4): pending → provisioning → active, the VM running once installed.
    inst.timeline.after(this.delays.createMs / 2, (i) => {
      i.wire.status = 'provisioning';
      this.touch(i);
    });
    inst.timeline.after(this.delays.createMs, (i) => this.activate(i));
    inst.timeline.advance(inst);
    return ok(201, inst.wire);
  }

  private activate(i: Inst): void {
    const n = this.ipCounter++;
    const addr = (a: string, primary: boolean) => ({
      id: randomUUID(),
      address: a,
      ip_type: 'ipv4',
      interface: 0,
      netmask: '255.255.255.0',
      gateway: a.replace(/\.\d+$/, '.1'),
      network_id: randomUUID(),
      vlan: null,
      mac_address: '52:54:00:00:00:01',
      is_primary: primary,
      created: this.iso(),
      modified: this.iso(),
      reverse_dns: null,
    });
    // Documentation address ranges: RFC 5737 TEST-NET-3 for public, RFC 1918 for private.
    const pub = addr(`203.0.113.${n % 250}`, true);
    i.wire.ip_addresses = [pub, addr(`10.20.0.${n % 250}`, false)];
    i.wire.primary_ipv4 = pub.id; // a UUID, as in the seed's example
    i.wire.status = 'active';
    i.wire.is_installed = true;
    i.wire.billing_start_date = this.iso();
    this.setVm(i, 'running');
  }

  private setVm(i: Inst, vm: string): void {
    i.wire.state_sync = {
      ...(i.wire.state_sync ?? {}),
      id: i.wire.state_sync?.id ?? randomUUID(),
      vm_status: vm,
      last_synced_at: this.iso(),
    };
    this.touch(i);
  }

  private touch(i: Inst): void {
    i.wire.modified = this.iso();
  }

  private power(i: Inst, action: 'start' | 'stop'): EmulatorResponse {
    const vm = i.wire.state_sync?.vm_status;
    if (i.wire.status === 'suspended')
      return invalid('Instance is suspended for an unpaid invoice; reactivate it with /unsuspend.');
    if (i.wire.status !== 'active') return invalid(`Instance is ${i.wire.status}.`);
    const [from, during, after, ms] =
      action === 'stop'
        ? ['running', 'stopping', 'stopped', this.delays.stopMs]
        : ['stopped', 'starting', 'running', this.delays.startMs];
    // ASSUMPTION: a power action on an instance already in (or going to) the target state is accepted again.
    if (vm !== from && vm !== during && vm !== after) return invalid(`Instance power state is ${vm ?? 'unknown'}.`);
    const task = this.addTask(i, `${action}_vps`, ms);
    if (vm === from) {
      i.timeline.clear();
      this.setVm(i, during);
      i.timeline.after(ms, (x) => this.setVm(x, after));
      i.timeline.advance(i);
    }
    return ok(202, this.taskBody(task));
  }

  /** Documented: reactivation needs a balance or a payment method and starts the instance (it charges the bill). */
  private unsuspend(i: Inst): EmulatorResponse {
    this.unsuspendCalls++;
    if (i.wire.status !== 'suspended') return invalid('Instance is not suspended.');
    i.wire.status = 'active';
    this.setVm(i, 'running');
    return ok(200, i.wire);
  }

  /** The cancellation takes effect at billing_end_date: the end of the hour being billed (at once when instant). */
  private cancel(i: Inst): EmulatorResponse {
    if (i.wire.status === 'cancelled' || i.wire.status === 'terminated')
      return invalid(`Instance is already ${i.wire.status}.`);
    const now = this.now();
    const start = i.wire.billing_start_date ? Date.parse(i.wire.billing_start_date) : now;
    const period = this.delays.billingPeriodMs;
    const end = period > 0 ? start + Math.max(1, Math.ceil((now - start) / period)) * period : now;
    i.timeline.clear();
    i.wire.status = 'cancelled';
    i.wire.cancellation_requested_at = this.iso(now);
    i.wire.billing_end_date = this.iso(end);
    i.wire.next_billing_date = null;
    this.addTask(i, 'delete_vps', 0);
    if (i.wire.state_sync) this.setVm(i, 'stopped');
    i.timeline.after(end - now, (x) => {
      x.wire.status = 'terminated';
      x.wire.is_active = false;
      this.touch(x);
    });
    i.timeline.advance(i);
    return ok(204);
  }

  /** ASSUMPTION (wire.ts): POST …/console opens a session whose URL appears after a delay. */
  private openConsole(i: Inst): EmulatorResponse {
    if (i.wire.status !== 'active' || i.wire.state_sync?.vm_status !== 'running')
      return invalid('Instance must be running to open a console.');
    const s: Session = {
      id: randomUUID(),
      instance_id: i.wire.id,
      readyAt: this.now() + this.delays.consoleMs,
      expires_at: this.iso(this.now() + 15 * 60_000),
    };
    this.sessions.set(s.id, s);
    return ok(201, this.sessionBody(s));
  }

  private readConsole(i: Inst, id: string): EmulatorResponse {
    const s = this.sessions.get(id);
    return s && s.instance_id === i.wire.id ? ok(200, this.sessionBody(s)) : notFound();
  }

  private sessionBody(s: Session) {
    const ready = this.now() >= s.readyAt;
    return {
      id: s.id,
      instance_id: s.instance_id,
      status: ready ? 'ready' : 'pending',
      url: ready ? `${this.http.baseUrl}/console/${s.id}` : null,
      protocol: 'vnc',
      expires_at: s.expires_at,
    };
  }

  private snapshot(i: Inst, r: EmulatorRequest): EmulatorResponse {
    const name = (r.body as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string' || !name) return ok(400, { name: ['This field is required.'] });
    const s = {
      timeline: new Timeline<WireSnapshot>(this.now),
      wire: {
        id: randomUUID(),
        name,
        instance_id: i.wire.id,
        status: 'creating',
        size_gb: i.wire.size.available_volumes[0]?.disk_gb ?? null,
        created: this.iso(),
      },
    };
    this.snapshots.set(s.wire.id, s);
    s.timeline.after(this.delays.snapshotMs, (w) => {
      w.status = 'available';
    });
    s.timeline.advance(s.wire);
    return ok(201, s.wire);
  }

  private addKey(r: EmulatorRequest): EmulatorResponse {
    const b = (r.body ?? {}) as { name?: unknown; public_key?: unknown };
    const errors: Record<string, string[]> = {};
    if (typeof b.name !== 'string' || !b.name) errors.name = ['This field is required.'];
    if (typeof b.public_key !== 'string' || !/^(ssh-(rsa|ed25519)|ecdsa-sha2-\S+) \S+/.test(b.public_key.trim()))
      errors.public_key = ['Enter a valid SSH public key.'];
    else if ([...this.sshKeys.values()].some((k) => k.public_key === (b.public_key as string).trim()))
      errors.public_key = ['This key already exists in the project.'];
    if (Object.keys(errors).length) return ok(400, errors);
    const key = {
      id: randomUUID(),
      name: b.name as string,
      public_key: (b.public_key as string).trim(),
      fingerprint: 'SHA256:emulator',
      created: this.iso(),
    };
    this.sshKeys.set(key.id, key);
    return ok(201, key);
  }
}

/** A DRF page. Past the last page: 404 `{"detail": "Invalid page."}` (DRF's PageNumberPagination). */
function paginate<T>(r: EmulatorRequest, all: T[]): EmulatorResponse {
  const page = r.query.has('page') ? Number(r.query.get('page')) : 1;
  const size = r.query.has('page_size') ? Number(r.query.get('page_size')) : 20;
  if (!Number.isInteger(size) || size < 1) return ok(400, { page_size: ['A valid integer is required.'] });
  const per = Math.min(size, 100); // ASSUMPTION: DRF's max_page_size of 100
  const pages = Math.max(1, Math.ceil(all.length / per));
  if (!Number.isInteger(page) || page < 1 || page > pages) return ok(404, { detail: 'Invalid page.' });
  const link = (p: number) => `${r.path}?page=${p}&page_size=${per}`;
  return ok(200, {
    count: all.length,
    next: page < pages ? link(page + 1) : null,
    previous: page > 1 ? link(page - 1) : null,
    results: all.slice((page - 1) * per, page * per),
  });
}

const ok = (status: number, body?: unknown): EmulatorResponse => ({ status, body });
const notFound = () => ok(404, { detail: 'Not found.' });
const invalid = (msg: string) => ok(400, { non_field_errors: [msg] });
