/**
 * Genesis Cloud adapter: the only file that knows both the wire format (./wire) and the domain (./map).
 * Source: shared/seeds/genesiscloud-instances.txt and providers.md §3.
 */
import { createHash } from 'node:crypto';
import { ComputeError } from '../../domain/errors.js';
import type {
  Capabilities, CreatePlan, CreateRequest, Image, Instance, InstanceType, Page, PowerResult, Price,
} from '../../domain/model.js';
import { pathSegment, type CallOptions, type IdFormats, type ListOptions, type Provider } from '../../domain/provider.js';
import type { HttpClient } from '../../http/client.js';
import { collectPages } from '../paging.js';
import { GENESIS_REGIONS, GENESIS_TYPES, GENESIS_TYPES_BY_ID } from './catalog.js';
import { SSH_USER, toHostname, toImage, toInstance, toInstanceType, toSnapshot } from './map.js';
import * as W from './wire.js';

export const GENESIS_CAPABILITIES: Capabilities = {
  pause: true,
  resume: true,
  snapshot: true,
  console: 'Genesis Cloud has no web or VNC console; get_console returns the SSH command for the public IP.',
  list_images: true,
  regions: true,
};

// Every instance, snapshot and key id in seed 002 is a UUID (e.g. 9e8ce501-d692-402c-8fca-5a8f5d8ddd57).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const GENESIS_IDS: IdFormats = {
  instance: { pattern: UUID, describe: 'Genesis Cloud instance ids are UUIDs; get them from list_instances.' },
  snapshot: { pattern: UUID, describe: 'Genesis Cloud snapshot ids are UUIDs; get them from list_snapshots.' },
};

/** Hourly prices by type id. Genesis has no price API: they come from the config (or the emulator's demo table). */
export type PriceTable = Record<string, { usd_per_hour: number; source: 'config' | 'emulator' }>;

export interface GenesisOptions {
  http: HttpClient;
  prices?: PriceTable;
  /** How long the per-region availability answer is reused. */
  availabilityTtlMs?: number;
  now?: () => number;
}

const P = W.API_PREFIX;
const MAX_PER_PAGE = 100;
const STARTUP_SCRIPT_MAX_BYTES = 64 * 1024; // seed 002: "limited to 64 KiB"
const MIN_DISK_GIB = 80; // seed 002: "Min: 80GiB"
const DEFAULT_IMAGE_SLUG = 'ubuntu-22.04';

export class GenesisCloudProvider implements Provider {
  readonly id = 'genesiscloud' as const;
  readonly displayName = 'Genesis Cloud';
  readonly capabilities = GENESIS_CAPABILITIES;
  readonly ids = GENESIS_IDS;
  private readonly http: HttpClient;
  private readonly prices: PriceTable;
  private readonly ttl: number;
  private readonly now: () => number;
  private availability?: { at: number; byType: Map<string, string[]> | null };

  constructor(opts: GenesisOptions) {
    this.http = opts.http;
    this.prices = opts.prices ?? {};
    this.ttl = opts.availabilityTtlMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  private price = (typeId: string): Price => {
    const p = this.prices[typeId];
    return p ? { usd_per_hour: p.usd_per_hour, source: p.source } : { usd_per_hour: null, source: null };
  };

  /**
   * Regions where each type is available, from `GET /availability/{region}/instances` for every region. Returns null
   * when the endpoint does not answer for any region (the types are then listed for every region, availability unknown).
   */
  private async availableRegions(opts?: CallOptions): Promise<Map<string, string[]> | null> {
    if (this.availability && this.now() - this.availability.at < this.ttl) return this.availability.byType;
    const answers = await Promise.allSettled(
      GENESIS_REGIONS.map((r) =>
        this.http.request({ method: 'GET', path: `${P}/availability/${encodeURIComponent(r)}/instances`, schema: W.Availability, signal: opts?.signal }),
      ),
    );
    let any = false;
    const byType = new Map<string, string[]>();
    answers.forEach((a, i) => {
      if (a.status !== 'fulfilled') return;
      any = true;
      for (const t of a.value.data.availability.instance_types) {
        if (!t.available) continue;
        const list = byType.get(t.type) ?? [];
        list.push(GENESIS_REGIONS[i]!);
        byType.set(t.type, list);
      }
    });
    const result = any ? byType : null;
    this.availability = { at: this.now(), byType: result };
    return result;
  }

  async listInstanceTypes(opts?: CallOptions & { region?: string }): Promise<InstanceType[]> {
    const avail = await this.availableRegions(opts);
    return GENESIS_TYPES.map((row) => {
      if (!avail) return toInstanceType(row, this.price(row.id), [...GENESIS_REGIONS]);
      const regions = avail.get(row.id) ?? [];
      return toInstanceType(row, this.price(row.id), regions, regions.length > 0);
    }).filter((t) => !opts?.region || t.regions.includes(opts.region));
  }

  async listImages(opts?: CallOptions & { region?: string }): Promise<Image[]> {
    const [images, snapshots] = await Promise.all([
      collectPages(this.id, 1, async (page) => {
        const r = await this.http.request({
          method: 'GET', path: `${P}/images`, query: { type: 'cloud-image', page, per_page: MAX_PER_PAGE }, schema: W.ImageList, signal: opts?.signal,
        });
        return { items: r.data.images, next: nextPage(r.data) };
      }),
      this.listSnapshots(opts),
    ]);
    const out: Image[] = images.map(toImage);
    // Snapshots restore by passing their id as `image` (seed 002 "From a snapshot").
    for (const s of snapshots)
      if (s.status === 'available') out.push({ provider: this.id, id: s.id, name: s.name, kind: 'snapshot', ...(s.region ? { regions: [s.region] } : {}) });
    return out.filter((i) => !opts?.region || !i.regions || i.regions.includes(opts.region));
  }

  async listInstances(opts?: ListOptions): Promise<Page<Instance>> {
    const page = opts?.cursor ? Number(opts.cursor) : 1;
    if (!Number.isInteger(page) || page < 1)
      throw new ComputeError('INVALID_INPUT', `bad cursor ${JSON.stringify(opts?.cursor)}`, { provider: this.id, hint: 'Pass back next_cursor exactly as returned, or omit it.' });
    const perPage = Math.min(Math.max(opts?.limit ?? 50, 1), MAX_PER_PAGE);
    const r = await this.http.request({
      method: 'GET', path: `${P}/instances`, query: { page, per_page: perPage }, schema: W.InstanceList, signal: opts?.signal,
    });
    const next = nextPage(r.data);
    return { items: r.data.instances.map((w) => toInstance(w, this.price)), ...(next ? { next_cursor: String(next) } : {}) };
  }

  async getInstance(id: string, opts?: CallOptions): Promise<Instance> {
    const r = await this.http.request({ method: 'GET', path: `${P}/instances/${enc(id)}`, schema: W.InstanceEnvelope, signal: opts?.signal });
    return toInstance(r.data.instance, this.price);
  }

  async planCreate(req: CreateRequest, opts?: CallOptions): Promise<CreatePlan> {
    const row = GENESIS_TYPES_BY_ID.get(req.instance_type);
    if (!row)
      throw new ComputeError('INVALID_INPUT', `unknown instance type ${JSON.stringify(req.instance_type)}`, {
        provider: this.id, hint: 'Pick an id from list_instance_types with provider "genesiscloud".',
      });
    if (req.limit_price_usd !== undefined)
      throw new ComputeError('INVALID_INPUT', 'Genesis Cloud has fixed prices, not bids: limit_price does not apply', { provider: this.id, hint: 'Drop limit_price.' });
    if (req.disk_gib !== undefined && req.disk_gib < MIN_DISK_GIB)
      throw new ComputeError('INVALID_INPUT', `disk_gib must be at least ${MIN_DISK_GIB}`, { provider: this.id, hint: `Use ${MIN_DISK_GIB} or more, or omit it.` });
    if (req.startup_script !== undefined && Buffer.byteLength(req.startup_script) > STARTUP_SCRIPT_MAX_BYTES)
      throw new ComputeError('INVALID_INPUT', 'startup_script is larger than 64 KiB', { provider: this.id, hint: 'Shorten it, or fetch a larger script from inside it.' });

    // A snapshot restores only in its own region: take that region, or refuse a different one before sending.
    let snapshotRegion: string | undefined;
    if (req.from_snapshot) {
      const snap = await this.http.request({ method: 'GET', path: `${P}/snapshots/${enc(req.from_snapshot)}`, schema: W.SnapshotEnvelope, signal: opts?.signal });
      snapshotRegion = snap.data.snapshot.region;
      if (snap.data.snapshot.status !== 'created')
        throw new ComputeError('NOT_READY', `snapshot ${req.from_snapshot} is ${snap.data.snapshot.status}`, { provider: this.id, hint: 'Wait until list_snapshots shows it available.' });
      if (req.region && snapshotRegion && req.region !== snapshotRegion)
        throw new ComputeError('INVALID_INPUT', `snapshot ${req.from_snapshot} is in ${snapshotRegion}, not ${req.region}`, { provider: this.id, hint: `Omit region or use ${snapshotRegion}.` });
    }
    const wantedRegion = req.region ?? snapshotRegion;

    const [type, region] = await (async () => {
      const types = await this.listInstanceTypes(opts);
      const t = types.find((x) => x.id === row.id)!;
      if (wantedRegion) {
        const wanted = wantedRegion;
        if (!(GENESIS_REGIONS as readonly string[]).includes(wanted))
          throw new ComputeError('INVALID_INPUT', `unknown region ${JSON.stringify(wanted)}`, { provider: this.id, hint: `Use one of ${GENESIS_REGIONS.join(', ')}.` });
        if (t.available !== undefined && !t.regions.includes(wanted))
          throw new ComputeError('CAPACITY', `${row.id} is not available in ${wanted}`, {
            provider: this.id,
            hint: t.regions.length ? `Regions with capacity: ${t.regions.join(', ')}.` : 'No region has capacity now; pick another type from list_instance_types.',
          });
        return [t, wanted] as const;
      }
      const first = t.regions[0];
      if (!first)
        throw new ComputeError('CAPACITY', `${row.id} is not available in any region`, { provider: this.id, hint: 'Pick another type from list_instance_types.' });
      return [t, first] as const;
    })();

    let image: string;
    const steps: string[] = [];
    if (req.from_snapshot) {
      image = req.from_snapshot; // seed 002: "pass the snapshot id as the image property"
    } else if (req.image) {
      image = req.image;
    } else {
      const images = await this.listImages({ ...opts, region });
      const chosen = images.find((i) => i.kind === 'image' && i.id === DEFAULT_IMAGE_SLUG) ?? images.find((i) => i.kind === 'image' && /ubuntu/i.test(i.name));
      if (!chosen) throw new ComputeError('INVALID_INPUT', `no default image in ${region}`, { provider: this.id, hint: 'Pass image (see list_images).' });
      image = chosen.id;
    }

    let sshKeys: string[] = [];
    let registerKey: string | undefined;
    if (req.ssh_public_key) {
      const key = req.ssh_public_key.trim();
      const existing = (await this.listSshKeys(opts)).find((k) => k.value.trim() === key);
      if (existing) sshKeys = [existing.id];
      else {
        registerKey = key;
        sshKeys = ['<id of the key registered in the step before>'];
        steps.push(`POST ${P}/ssh-keys registers the SSH public key as ${sshKeyName(key)}`);
      }
    } else {
      sshKeys = (await this.listSshKeys(opts)).map((k) => k.id);
      if (sshKeys.length === 0)
        throw new ComputeError('INVALID_INPUT', 'Genesis Cloud needs an SSH key and the account has none', {
          provider: this.id, hint: 'Pass ssh_public_key (the text of your ~/.ssh/id_ed25519.pub).',
        });
      steps.push(`uses the ${sshKeys.length} SSH key(s) already in the account`);
    }

    const body: W.WireCreateInstance = {
      name: req.name,
      hostname: toHostname(req.name),
      type: row.id,
      region,
      image,
      ssh_keys: sshKeys,
      ...(req.startup_script ? { metadata: { startup_script: req.startup_script } } : {}),
      ...(req.disk_gib ? { disk_size: req.disk_gib } : {}),
    };
    return {
      provider: this.id,
      instance_type: type,
      region,
      image,
      name: req.name,
      price: this.price(row.id),
      request: { method: 'POST', path: `${P}/instances`, body: body as unknown as Record<string, unknown> },
      preparatory_steps: steps,
      internal: { body, registerKey },
    };
  }

  async create(plan: CreatePlan, opts?: CallOptions): Promise<Instance> {
    const body = { ...(plan.internal.body as W.WireCreateInstance) };
    const registerKey = plan.internal.registerKey as string | undefined;
    if (registerKey) body.ssh_keys = [(await this.registerSshKey(registerKey, opts)).id];
    // A create is never retried (idempotent: false): a duplicated VM costs money.
    const r = await this.http.request({ method: 'POST', path: `${P}/instances`, body, schema: W.InstanceEnvelope, idempotent: false, signal: opts?.signal });
    return toInstance(r.data.instance, this.price);
  }

  async delete(id: string, opts?: CallOptions): Promise<{ already_gone: boolean }> {
    try {
      // DELETE is idempotent: a retry after a lost 204 sees 404, which means the same thing.
      await this.http.request({ method: 'DELETE', path: `${P}/instances/${enc(id)}`, idempotent: true, signal: opts?.signal });
      return { already_gone: false };
    } catch (e) {
      if (e instanceof ComputeError && e.code === 'NOT_FOUND') return { already_gone: true };
      throw e;
    }
  }

  pause(ids: string[], opts?: CallOptions): Promise<PowerResult[]> {
    return this.power(ids, 'stop', opts);
  }

  resume(ids: string[], opts?: CallOptions): Promise<PowerResult[]> {
    return this.power(ids, 'start', opts);
  }

  /**
   * start/stop through `/actions`. Every target is checked first (exists, not already there, action allowed now);
   * only then are the actions sent, so one bad id does not leave a half-done batch behind.
   */
  private async power(ids: string[], action: 'start' | 'stop', opts?: CallOptions): Promise<PowerResult[]> {
    const already = action === 'stop' ? 'already_paused' : 'already_running';
    const alreadyThere = action === 'stop' ? ['paused', 'stopping'] : ['running', 'starting'];
    const checked = await Promise.all(
      ids.map(async (id): Promise<PowerResult | { id: string; go: true }> => {
        try {
          const inst = await this.getInstance(id, opts);
          if (alreadyThere.includes(inst.status)) return { id, result: already, status: inst.status };
          const allowed = await this.http.request({ method: 'GET', path: `${P}/instances/${enc(id)}/actions`, schema: W.Actions, signal: opts?.signal });
          if (!allowed.data.actions.includes(action))
            return {
              id, result: 'failed', status: inst.status,
              message: `cannot ${action} while the instance is ${inst.provider_status}; wait_for_instance until it settles, then try again`,
            };
          return { id, go: true };
        } catch (e) {
          if (e instanceof ComputeError) return { id, result: 'failed', message: e.toText() };
          throw e;
        }
      }),
    );
    return Promise.all(
      checked.map(async (c): Promise<PowerResult> => {
        if (!('go' in c)) return c;
        try {
          await this.http.request({ method: 'POST', path: `${P}/instances/${enc(c.id)}/actions`, body: { action }, idempotent: false, signal: opts?.signal });
          return { id: c.id, result: action === 'stop' ? 'paused' : 'resumed', status: action === 'stop' ? 'stopping' : 'starting' };
        } catch (e) {
          if (e instanceof ComputeError) return { id: c.id, result: 'failed', message: e.toText() };
          throw e;
        }
      }),
    );
  }

  async snapshot(id: string, name: string, opts?: CallOptions) {
    const r = await this.http.request({
      method: 'POST', path: `${P}/instances/${enc(id)}/snapshots`, body: { name }, schema: W.SnapshotEnvelope, idempotent: false, signal: opts?.signal,
    });
    return toSnapshot(r.data.snapshot);
  }

  async listSnapshots(opts?: CallOptions & { instanceId?: string }) {
    const path = opts?.instanceId ? `${P}/instances/${enc(opts.instanceId)}/snapshots` : `${P}/snapshots`;
    const items = await collectPages(this.id, 1, async (page) => {
      const r = await this.http.request({ method: 'GET', path, query: { page, per_page: MAX_PER_PAGE }, schema: W.SnapshotList, signal: opts?.signal });
      return { items: r.data.snapshots, next: nextPage(r.data) };
    });
    return items.map(toSnapshot);
  }

  async getConsole(id: string, opts?: CallOptions) {
    const inst = await this.getInstance(id, opts);
    if (!inst.public_ip)
      throw new ComputeError('NOT_READY', `instance ${id} has no public IP yet (status ${inst.provider_status})`, {
        provider: this.id, hint: 'Call wait_for_instance until it is running, then get_console again.',
      });
    return {
      console: { provider: this.id, instance_id: id, kind: 'ssh' as const, command: `ssh ${SSH_USER}@${inst.public_ip}` },
      note: 'Genesis Cloud has no web console; connect with SSH using the key given at creation.',
    };
  }

  private async listSshKeys(opts?: CallOptions) {
    return collectPages(this.id, 1, async (page) => {
      const r = await this.http.request({ method: 'GET', path: `${P}/ssh-keys`, query: { page, per_page: MAX_PER_PAGE }, schema: W.SshKeyList, signal: opts?.signal });
      return { items: r.data.ssh_keys, next: nextPage(r.data) };
    });
  }

  private async registerSshKey(value: string, opts?: CallOptions) {
    const r = await this.http.request({
      method: 'POST', path: `${P}/ssh-keys`, body: { name: sshKeyName(value), value }, schema: W.WireSshKey, idempotent: false, signal: opts?.signal,
    });
    return r.data;
  }
}

const enc = (id: string) => pathSegment('genesiscloud', id);

function nextPage(p: { total_count: number; page: number; per_page: number }): number | undefined {
  return p.page * p.per_page < p.total_count ? p.page + 1 : undefined;
}

/** A stable key name, so the same key is recognisable in the account. */
function sshKeyName(value: string): string {
  return `compute-mcp-${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}
