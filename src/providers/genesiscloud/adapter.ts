/**
 * Genesis Cloud adapter: the only file that knows both the wire format (./wire) and the domain (./map).
 * Source: shared/seeds/genesiscloud-instances.txt and providers.md §3.
 */
import { ComputeError } from '../../domain/errors.js';
import type {
  Capabilities,
  CreatePlan,
  CreateRequest,
  Image,
  Instance,
  InstanceType,
  Page,
  Price,
} from '../../domain/model.js';
import {
  pathSegment,
  type CallOptions,
  type IdFormats,
  type ListOptions,
  type Provider,
} from '../../domain/provider.js';
import type { HttpClient } from '../../http/client.js';
import {
  ALREADY,
  chooseOffer,
  deleteIgnoringGone,
  numericCursor,
  resolveSshKeys,
  sshKeyName,
  type SshKeyPlan,
  numberedPages,
  startStop,
  TtlCache,
  uuidIds,
} from '../toolkit.js';
import { DOCUMENTED_REGIONS, GENESIS_TYPES, GENESIS_TYPES_BY_ID, type GenesisTypeRow } from './catalog.js';
import {
  SSH_USER,
  isProtected,
  toHostname,
  toImage,
  toInstance,
  toInstanceType,
  toSnapshot,
  toSnapshotStatus,
} from './map.js';
import * as W from './wire.js';

export const GENESIS_CAPABILITIES: Capabilities = {
  pause: true,
  resume: true,
  snapshot: true,
  console: {
    differently: 'Genesis Cloud has no web or VNC console; get_console returns the SSH command for the public IP.',
  },
  list_images: true,
  regions: true,
};

// Every instance, snapshot and key id in seed 002 is a UUID (e.g. 9e8ce501-d692-402c-8fca-5a8f5d8ddd57).
export const GENESIS_IDS: IdFormats = uuidIds('Genesis Cloud');

/** Hourly prices by type id. Genesis has no price API: they come from the config (or the emulator's demo table). */
export type PriceTable = Record<string, { usd_per_hour: number; source: 'config' | 'emulator' }>;

export interface GenesisOptions {
  http: HttpClient;
  prices?: PriceTable;
  /** How long the per-region availability answer is reused. */
  availabilityTtlMs?: number;
  now?: () => number;
}

const API = W.API_PREFIX;
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
  /** Availability by region, reused for the TTL (concurrent loads share one). */
  private readonly availability: TtlCache<Map<string, RegionAnswer>>;
  /** Regions asked in the first round: the documented ones, then any the images endpoint has named since. */
  private readonly knownRegions = new Set<string>(DOCUMENTED_REGIONS);

  constructor(opts: GenesisOptions) {
    this.http = opts.http;
    this.prices = opts.prices ?? {};
    this.availability = new TtlCache(opts.availabilityTtlMs ?? 30_000, opts.now ?? Date.now);
  }

  private price = (typeId: string): Price => {
    const p = this.prices[typeId];
    return p ? { usd_per_hour: p.usd_per_hour, source: p.source } : { usd_per_hour: null, source: null };
  };

  /**
   * What `GET /availability/{region}/instances` says for each region worth asking (and for `extra`), reused for the
   * TTL. A 4xx other than auth or rate limiting means the cloud does not offer the region; anything else leaves it
   * unknown. A region in `extra` that the cached answer lacks is asked on its own (one round trip).
   */
  private async regionAnswers(extra: string[] = [], opts?: CallOptions): Promise<Map<string, RegionAnswer>> {
    const wanted = extra.filter((r) => REGION_FORM.test(r));
    const byRegion = await this.availability.get(() => this.loadAvailability(wanted), opts?.signal);
    const missing = wanted.filter((r) => !byRegion.has(r));
    if (missing.length) for (const [r, a] of await this.askRegions(missing, opts)) byRegion.set(r, a);
    return byRegion;
  }

  /**
   * Availability in every region worth asking, in one round trip. There is no regions endpoint (providers.md §3.2) and
   * the list changes, so the regions asked are those some document names (DOCUMENTED_REGIONS), those the images
   * endpoint named before (each image lists the regions it can be used in) and those the caller asked about; the
   * images endpoint is read at the same time, not first. A region it names that was not asked yet (one the cloud
   * opened since any document was written) is asked right after: a second round trip, once, since it is then known
   * for the life of the adapter and asked in the first round from then on.
   */
  private async loadAvailability(extra: string[], opts?: CallOptions): Promise<Map<string, RegionAnswer>> {
    const first = [...new Set([...this.knownRegions, ...extra])];
    const [answers, named] = await Promise.all([
      this.askRegions(first, opts),
      this.listCloudImages(opts).then(
        (images) => [...new Set(images.flatMap((i) => i.regions))].filter((r) => REGION_FORM.test(r)).sort(),
        () => [] as string[], // the documented regions alone still work without the images endpoint
      ),
    ]);
    const opened = named.filter((r) => !answers.has(r));
    for (const r of opened) this.knownRegions.add(r);
    if (opened.length) for (const [r, a] of await this.askRegions(opened, opts)) answers.set(r, a);
    return answers;
  }

  /** Asks each region's availability at once. */
  private async askRegions(regions: string[], opts?: CallOptions): Promise<Map<string, RegionAnswer>> {
    const answers = await Promise.allSettled(
      regions.map((r) =>
        this.http.request({
          method: 'GET',
          path: `${API}/availability/${encodeURIComponent(r)}/instances`,
          schema: W.Availability,
          signal: opts?.signal,
        }),
      ),
    );
    const out = new Map<string, RegionAnswer>();
    answers.forEach((a, i) => {
      const region = regions[i]!;
      if (a.status === 'fulfilled')
        out.set(region, {
          kind: 'answered',
          types: new Set(a.value.data.availability.instance_types.filter((t) => t.available).map((t) => t.type)),
        });
      else if (a.reason instanceof ComputeError && isRefusal(a.reason.status))
        out.set(region, { kind: 'refused', error: a.reason });
      else out.set(region, { kind: 'failed' });
    });
    return out;
  }

  /**
   * Regions where each type is available, or null when no region answered (the types are then listed for every
   * candidate region, availability unknown). `regions` is every region that counts, in order.
   */
  private async availableRegions(extra: string[], opts?: CallOptions): Promise<Availability> {
    const answers = await this.regionAnswers(extra, opts);
    const answered = [...answers].filter(([, a]) => a.kind === 'answered');
    if (answered.length === 0) return { byType: null, regions: [...answers.keys()], answers };
    const byType = new Map<string, string[]>();
    for (const [region, a] of answered)
      for (const t of a.kind === 'answered' ? a.types : []) byType.set(t, [...(byType.get(t) ?? []), region]);
    return { byType, regions: answered.map(([r]) => r), answers };
  }

  private typeIn(row: GenesisTypeRow, { byType, regions }: Availability): InstanceType {
    if (!byType) return toInstanceType(row, this.price(row.id), regions);
    const where = byType.get(row.id) ?? [];
    return toInstanceType(row, this.price(row.id), where, where.length > 0);
  }

  async listInstanceTypes(opts?: CallOptions & { region?: string }): Promise<InstanceType[]> {
    const avail = await this.availableRegions(opts?.region ? [opts.region] : [], opts);
    return GENESIS_TYPES.map((row) => this.typeIn(row, avail)).filter(
      (t) => !opts?.region || t.regions.includes(opts.region),
    );
  }

  private async listCloudImages(opts?: CallOptions) {
    return numberedPages(this.id, 1, async (page) => {
      const r = await this.http.request({
        method: 'GET',
        path: `${API}/images`,
        query: { type: 'cloud-image', page, per_page: MAX_PER_PAGE },
        schema: W.ImageList,
        signal: opts?.signal,
      });
      return { items: r.data.images, next: nextPage(r.data), pages: pageCount(r.data) };
    });
  }

  async listImages(opts?: CallOptions & { region?: string }): Promise<Image[]> {
    const [images, snapshots] = await Promise.all([this.listCloudImages(opts), this.listSnapshots(opts)]);
    const out: Image[] = images.map(toImage);
    // Snapshots restore by passing their id as `image` (seed 002 "From a snapshot").
    for (const s of snapshots)
      if (s.status === 'available')
        out.push({
          provider: this.id,
          id: s.id,
          name: s.name,
          kind: 'snapshot',
          ...(s.region ? { regions: [s.region] } : {}),
        });
    return out.filter((i) => !opts?.region || !i.regions || i.regions.includes(opts.region));
  }

  async listInstances(opts?: ListOptions): Promise<Page<Instance>> {
    const page = numericCursor(this.id, opts?.cursor, 1);
    const perPage = Math.min(Math.max(opts?.limit ?? 50, 1), MAX_PER_PAGE);
    const r = await this.http.request({
      method: 'GET',
      path: `${API}/instances`,
      query: { page, per_page: perPage },
      schema: W.InstanceList,
      signal: opts?.signal,
    });
    const next = nextPage(r.data);
    return {
      items: r.data.instances.map((w) => toInstance(w, this.price)),
      ...(next ? { next_cursor: String(next) } : {}),
    };
  }

  async getInstance(id: string, opts?: CallOptions): Promise<Instance> {
    const r = await this.http.request({
      method: 'GET',
      path: `${API}/instances/${enc(id)}`,
      schema: W.InstanceEnvelope,
      signal: opts?.signal,
    });
    return toInstance(r.data.instance, this.price);
  }

  async planCreate(req: CreateRequest, opts?: CallOptions): Promise<CreatePlan> {
    const row = this.checkCreateRequest(req);
    const snapshotRegion = req.from_snapshot
      ? await this.snapshotRegion(req.from_snapshot, req.region, opts)
      : undefined;
    const { type, region } = await this.chooseRegion(row, req.region ?? snapshotRegion, opts);
    const image = await this.resolveImage(req, region, opts);
    const keys = await this.resolveSshKeys(req.ssh_public_key, opts);
    const body = buildCreateBody(req, row, region, image, keys.ids);
    return {
      provider: this.id,
      instance_type: type,
      region,
      image,
      name: req.name,
      price: this.price(row.id),
      request: { method: 'POST', path: `${API}/instances`, body: body as unknown as Record<string, unknown> },
      preparatory_steps: keys.steps,
      internal: { body, registerKey: keys.registerKey },
    };
  }

  /** Step 1: what can be refused from the request alone (type, bid, disk, startup script, region form). */
  private checkCreateRequest(req: CreateRequest): GenesisTypeRow {
    const row = GENESIS_TYPES_BY_ID.get(req.instance_type);
    if (!row)
      throw new ComputeError('INVALID_INPUT', `unknown instance type ${JSON.stringify(req.instance_type)}`, {
        provider: this.id,
        hint: 'Pick an id from list_instance_types with provider "genesiscloud".',
      });
    if (req.limit_price_usd !== undefined)
      throw new ComputeError('INVALID_INPUT', 'Genesis Cloud has fixed prices, not bids: limit_price does not apply', {
        provider: this.id,
        hint: 'Drop limit_price.',
      });
    if (req.disk_gib !== undefined && req.disk_gib < MIN_DISK_GIB)
      throw new ComputeError('INVALID_INPUT', `disk_gib must be at least ${MIN_DISK_GIB}`, {
        provider: this.id,
        hint: `Use ${MIN_DISK_GIB} or more, or omit it.`,
      });
    if (req.startup_script !== undefined && Buffer.byteLength(req.startup_script) > STARTUP_SCRIPT_MAX_BYTES)
      throw new ComputeError('INVALID_INPUT', 'startup_script is larger than 64 KiB', {
        provider: this.id,
        hint: 'Shorten it, or fetch a larger script from inside it.',
      });
    // Only the form is checked here (it becomes a path segment); whether the cloud offers it is asked in chooseRegion.
    if (req.region !== undefined && !REGION_FORM.test(req.region))
      throw new ComputeError('INVALID_INPUT', `region ${JSON.stringify(req.region)} is not a Genesis Cloud region id`, {
        provider: this.id,
        hint: 'Region ids look like NORD-NO-KRS-1; see the regions in list_instance_types, or omit region.',
      });
    return row;
  }

  /** Step 2: a snapshot restores only in its own region: take that region, or refuse a different one before sending. */
  private async snapshotRegion(
    snapshotId: string,
    wanted: string | undefined,
    opts?: CallOptions,
  ): Promise<string | undefined> {
    const snap = (
      await this.http.request({
        method: 'GET',
        path: `${API}/snapshots/${enc(snapshotId)}`,
        schema: W.SnapshotEnvelope,
        signal: opts?.signal,
      })
    ).data.snapshot;
    if (toSnapshotStatus(snap.status) !== 'available')
      throw new ComputeError('NOT_READY', `snapshot ${snapshotId} is ${snap.status}`, {
        provider: this.id,
        hint: 'Wait until list_snapshots shows it available.',
      });
    if (wanted && snap.region && wanted !== snap.region)
      throw new ComputeError('INVALID_INPUT', `snapshot ${snapshotId} is in ${snap.region}, not ${wanted}`, {
        provider: this.id,
        hint: `Omit region or use ${snap.region}.`,
      });
    return snap.region;
  }

  /**
   * Step 3: the region. A wanted region is checked against what the availability endpoint answers for it (not a
   * constant list): refused by the cloud → INVALID_INPUT, answered without the type → CAPACITY. Without a wanted
   * region, the first region that has the type.
   */
  private async chooseRegion(
    row: GenesisTypeRow,
    wanted: string | undefined,
    opts?: CallOptions,
  ): Promise<{ type: InstanceType; region: string }> {
    const avail = await this.availableRegions(wanted ? [wanted] : [], opts);
    const type = this.typeIn(row, avail);
    const withCapacity = type.available !== undefined ? type.regions : [];
    const answer = wanted ? avail.answers.get(wanted) : undefined;
    // A refusal counts only when the endpoint works for other regions (otherwise it says nothing about this one).
    if (wanted && answer?.kind === 'refused' && type.available !== undefined)
      throw new ComputeError(
        'INVALID_INPUT',
        `Genesis Cloud does not offer region ${JSON.stringify(wanted)} (${answer.error.message})`,
        {
          provider: this.id,
          hint: `Omit region, or use one the cloud offers. ${
            withCapacity.length
              ? `Regions with capacity for ${row.id} now: ${withCapacity.join(', ')}.`
              : 'No region has capacity for it now; pick another type from list_instance_types.'
          }`,
        },
      );
    // A wanted region the availability endpoint did not answer for: its capacity is unknown, so it is tried.
    if (wanted && answer?.kind !== 'answered') return { type, region: wanted };
    const offers = (wanted ? withCapacity : type.regions).map((region) => ({ region }));
    return { type, region: chooseOffer({ provider: this.id, type: row.id, wanted, offers }).region };
  }

  /** Step 4: the image: the snapshot, the one asked for, or the default Ubuntu image of the region. */
  private async resolveImage(req: CreateRequest, region: string, opts?: CallOptions): Promise<string> {
    if (req.from_snapshot) return req.from_snapshot; // seed 002: "pass the snapshot id as the image property"
    if (req.image) return req.image;
    const images = await this.listImages({ ...opts, region });
    const chosen =
      images.find((i) => i.kind === 'image' && i.id === DEFAULT_IMAGE_SLUG) ??
      images.find((i) => i.kind === 'image' && /ubuntu/i.test(i.name));
    if (!chosen)
      throw new ComputeError('INVALID_INPUT', `no default image in ${region}`, {
        provider: this.id,
        hint: 'Pass image (see list_images).',
      });
    return chosen.id;
  }

  /** Step 5: the SSH keys: the given key (reused if the account has it, else registered first), or the account's keys. */
  private resolveSshKeys(publicKey: string | undefined, opts?: CallOptions): Promise<SshKeyPlan> {
    return resolveSshKeys({
      cloud: this.displayName,
      provider: this.id,
      publicKey,
      registerCall: `POST ${API}/ssh-keys`,
      scope: 'account',
      list: () => this.listSshKeys(opts),
    });
  }

  async create(plan: CreatePlan, opts?: CallOptions): Promise<Instance> {
    const body = { ...(plan.internal.body as W.WireCreateInstance) };
    const registerKey = plan.internal.registerKey as string | undefined;
    if (registerKey) body.ssh_keys = [(await this.registerSshKey(registerKey, opts)).id];
    // A create is never retried (idempotent: false): a duplicated VM costs money.
    const r = await this.http.request({
      method: 'POST',
      path: `${API}/instances`,
      body,
      schema: W.InstanceEnvelope,
      idempotent: false,
      signal: opts?.signal,
    });
    return toInstance(r.data.instance, this.price);
  }

  async delete(id: string, opts?: CallOptions): Promise<{ already_gone: boolean }> {
    try {
      // DELETE is idempotent: a retry after a lost 204 sees 404, which means the same thing.
      return await deleteIgnoringGone(() =>
        this.http.request({
          method: 'DELETE',
          path: `${API}/instances/${enc(id)}`,
          idempotent: true,
          signal: opts?.signal,
        }),
      );
    } catch (e) {
      if (e instanceof ComputeError && (isRefusal(e.status) || e.status === 403 || e.status === 409))
        throw (await this.protectionError(id, e, opts)) ?? e;
      throw e;
    }
  }

  /**
   * Seed 002: with `is_protected` true "it's not possible to destroy the instance until it's switched to false", and
   * "Update an Instance" (PATCH /instances/{id}) is how it is switched. The status and code of the refusal are not
   * documented, so a refused delete looks at the instance and, when it is protected, says so and how to lift it.
   */
  private async protectionError(
    id: string,
    refusal: ComputeError,
    opts?: CallOptions,
  ): Promise<ComputeError | undefined> {
    const inst = await this.http
      .request({ method: 'GET', path: `${API}/instances/${enc(id)}`, schema: W.InstanceEnvelope, signal: opts?.signal })
      .then(
        (r) => r.data.instance,
        () => undefined,
      );
    if (!inst || !isProtected(inst)) return undefined;
    return new ComputeError(
      'CONFLICT',
      `instance ${id} has termination protection on (is_protected: true), and Genesis Cloud refuses to destroy a protected instance until the flag is switched to false (long-term billed instances are protected automatically)`,
      {
        provider: this.id,
        status: refusal.status,
        cause: refusal,
        hint: `If the human really wants it gone, have them switch the protection off in the Genesis Cloud console, or send PATCH ${API}/instances/${id} with {"is_protected": false}; then call delete_vm again.`,
      },
    );
  }

  /** start/stop through `/actions`: each target checked first (exists, not already there, action allowed now). */
  private readonly power = startStop({
    check: async (id, action, opts) => {
      const inst = await this.getInstance(id, opts);
      // Already there: no need to ask which actions are allowed.
      if (ALREADY[action === 'stop' ? 'pause' : 'resume'].includes(inst.status)) return { status: inst.status };
      const allowed = await this.http.request({
        method: 'GET',
        path: `${API}/instances/${enc(id)}/actions`,
        schema: W.Actions,
        signal: opts?.signal,
      });
      const refuse = allowed.data.actions.includes(action)
        ? undefined
        : `cannot ${action} while the instance is ${inst.provider_status}; wait_for_instance until it settles, then try again`;
      return { status: inst.status, ...(refuse ? { refuse } : {}) };
    },
    act: (id, action, opts) => this.sendAction(id, action, opts),
  });
  readonly pause = this.power.pause;
  readonly resume = this.power.resume;

  /** Accepted is all the answer says: the VM is stopping or starting (the toolkit's answer). */
  private async sendAction(id: string, action: 'start' | 'stop', opts?: CallOptions): Promise<void> {
    await this.http.request({
      method: 'POST',
      path: `${API}/instances/${enc(id)}/actions`,
      body: { action },
      idempotent: false,
      signal: opts?.signal,
    });
  }

  async snapshot(id: string, name: string, opts?: CallOptions) {
    const r = await this.http.request({
      method: 'POST',
      path: `${API}/instances/${enc(id)}/snapshots`,
      body: { name },
      schema: W.SnapshotEnvelope,
      idempotent: false,
      signal: opts?.signal,
    });
    return toSnapshot(r.data.snapshot);
  }

  async listSnapshots(opts?: CallOptions & { instanceId?: string }) {
    const path = opts?.instanceId ? `${API}/instances/${enc(opts.instanceId)}/snapshots` : `${API}/snapshots`;
    const items = await numberedPages(this.id, 1, async (page) => {
      const r = await this.http.request({
        method: 'GET',
        path,
        query: { page, per_page: MAX_PER_PAGE },
        schema: W.SnapshotList,
        signal: opts?.signal,
      });
      return { items: r.data.snapshots, next: nextPage(r.data), pages: pageCount(r.data) };
    });
    return items.map(toSnapshot);
  }

  async getConsole(id: string, opts?: CallOptions) {
    const inst = await this.getInstance(id, opts);
    if (!inst.public_ip)
      throw new ComputeError('NOT_READY', `instance ${id} has no public IP yet (status ${inst.provider_status})`, {
        provider: this.id,
        hint: 'Call wait_for_instance until it is running, then get_console again.',
      });
    return {
      console: {
        provider: this.id,
        instance_id: id,
        kind: 'ssh' as const,
        command: `ssh ${SSH_USER}@${inst.public_ip}`,
      },
      note: 'Genesis Cloud has no web console; connect with SSH using the key given at creation.',
    };
  }

  private async listSshKeys(opts?: CallOptions) {
    return numberedPages(this.id, 1, async (page) => {
      const r = await this.http.request({
        method: 'GET',
        path: `${API}/ssh-keys`,
        query: { page, per_page: MAX_PER_PAGE },
        schema: W.SshKeyList,
        signal: opts?.signal,
      });
      return { items: r.data.ssh_keys, next: nextPage(r.data), pages: pageCount(r.data) };
    });
  }

  private async registerSshKey(value: string, opts?: CallOptions) {
    const r = await this.http.request({
      method: 'POST',
      path: `${API}/ssh-keys`,
      body: { name: sshKeyName(value), value },
      schema: W.WireSshKey,
      idempotent: false,
      signal: opts?.signal,
    });
    return r.data;
  }
}

const enc = (id: string) => pathSegment('genesiscloud', id);

/** A region id as the API spells them (e.g. NORD-NO-KRS-1, ARC-IS-HAF-1): the form only, never a fixed list. */
const REGION_FORM = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** What the availability endpoint said about one region. */
type RegionAnswer =
  { kind: 'answered'; types: Set<string> } | { kind: 'refused'; error: ComputeError } | { kind: 'failed' };

interface Availability {
  /** Regions with capacity per type id; null when no region answered (availability unknown). */
  byType: Map<string, string[]> | null;
  /** The regions that count, in order: those that answered, or every candidate when none did. */
  regions: string[];
  answers: Map<string, RegionAnswer>;
}

/** A 4xx that says the request itself is wrong (not auth, not rate limiting, not a server fault). */
const isRefusal = (status: number | undefined) => status === 400 || status === 404 || status === 422;

/** Step 6: the documented create body (seed 002 "Create an Instance"). */
function buildCreateBody(
  req: CreateRequest,
  row: GenesisTypeRow,
  region: string,
  image: string,
  sshKeys: string[],
): W.WireCreateInstance {
  return {
    name: req.name,
    hostname: toHostname(req.name),
    type: row.id,
    region,
    image,
    ssh_keys: sshKeys,
    ...(req.startup_script ? { metadata: { startup_script: req.startup_script } } : {}),
    ...(req.disk_gib ? { disk_size: req.disk_gib } : {}),
  };
}

function nextPage(p: { total_count: number; page: number; per_page: number }): number | undefined {
  return p.page * p.per_page < p.total_count ? p.page + 1 : undefined;
}

/** How many pages the listing has, from the first answer's total_count and per_page (documented envelope, §3.6). */
const pageCount = (p: { total_count: number; per_page: number }) =>
  p.per_page > 0 ? Math.ceil(p.total_count / p.per_page) : 1;
