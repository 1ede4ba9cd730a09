/**
 * ONET Solutions adapter: the only file that knows both the wire format (./wire) and the domain (./map).
 * Source: shared/seeds/onet-console-and-instance.txt (seed 000) and providers.md §1; undocumented shapes are the
 * ASSUMPTIONs in ./wire.ts.
 */
import type { Logger } from 'pino';
import { ComputeError, isComputeError } from '../../domain/errors.js';
import type {
  Capabilities,
  CreatePlan,
  CreateRequest,
  Image,
  Instance,
  InstanceType,
  Page,
  Price,
  Snapshot,
} from '../../domain/model.js';
import {
  pathSegment,
  type CallOptions,
  type IdFormats,
  type ListOptions,
  type Provider,
} from '../../domain/provider.js';
import { sleep } from '../../domain/sleep.js';
import type { HttpClient } from '../../http/client.js';
import {
  deleteIgnoringGone,
  numberedPages,
  numericCursor,
  resolveSshKeys,
  sshKeyName,
  startStop,
  TtlCache,
  uuidIds,
} from '../toolkit.js';
import {
  activeCycles,
  billingEnd,
  defaultDiskGb,
  formatMicros,
  hourlyOption,
  priceOf,
  toHostname,
  toImage,
  toInstance,
  toInstanceType,
  toMicros,
  toSnapshot,
  toStatus,
  type PriceTable,
} from './map.js';
import * as W from './wire.js';

/** What a suspended instance answers to a resume: reactivating it (POST …/unsuspend) charges the bill. */
export const SUSPENDED =
  'it is suspended by ONET billing (an unpaid invoice); compute-mcp never reactivates it, because reactivation charges money. Settle the bill in the ONET console; ONET starts the instance again once it is paid';

export const FROM_SNAPSHOT =
  'ONET restores a snapshot onto the instance it was taken of (the stopped instance’s disk is overwritten), not into a new VM, and compute-mcp does not offer that restore';

export const ONET_CAPABILITIES: Capabilities = {
  pause: true,
  resume: {
    differently:
      'Resumes stopped instances only: an instance suspended for an unpaid bill is never reactivated (that charges money); settle the bill in the ONET console.',
  },
  snapshot: {
    differently: `Snapshots are taken and listed per instance (ONET may require its snapshot addon, billed separately, which compute-mcp never orders); create_vm from_snapshot is refused: ${FROM_SNAPSHOT}.`,
  },
  console: {
    differently:
      'get_console opens a browser console session and waits a few seconds for its URL; when ONET is slower it answers with the session id, and calling get_console again picks the same session up. No expiry is promised.',
  },
  list_images: true,
  regions: true,
};

// Seed 000: "A UUID string identifying this Instance"; every id in the schema is a UUID.
export const ONET_IDS: IdFormats = uuidIds('ONET');

export interface OnetOptions {
  http: HttpClient;
  organization: string;
  project: string;
  prices?: PriceTable;
  log?: Logger;
  now?: () => number;
  /** How long get_console waits for a session's URL, and how often it looks. */
  consoleWaitMs?: number;
  consolePollMs?: number;
  catalogTtlMs?: number;
}

const MAX_PAGE_SIZE = 100;
const DEFAULT_IMAGE = /ubuntu/i;

export class OnetProvider implements Provider {
  readonly id = 'onet' as const;
  readonly displayName = 'ONET Solutions';
  readonly capabilities = ONET_CAPABILITIES;
  /** A VM suspended for an unpaid bill is never reactivated here: the human is not even asked. */
  resumeRefusal = (i: Instance) => (i.provider_status.startsWith('suspended') ? SUSPENDED : undefined);
  // ASSUMPTION (providers.md §1.6): a snapshot may need ONET's snapshot addon, billed separately; the gate asks first.
  readonly snapshotSpends = 'ONET may bill its snapshot addon for it, separately and in its own currency.';
  readonly ids = ONET_IDS;
  private readonly http: HttpClient;
  private readonly prefix: string;
  private readonly prices: PriceTable;
  private readonly now: () => number;
  private readonly consoleWaitMs: number;
  private readonly consolePollMs: number;
  private readonly sizes: TtlCache<W.WireSize[]>;
  private readonly locations: TtlCache<W.WireLocation[]>;
  /** Console sessions still being prepared, by instance id: the next get_console reads the same one. */
  private readonly pendingConsoles = new Map<string, string>();

  constructor(opts: OnetOptions) {
    this.http = opts.http;
    this.prefix = W.scopePrefix(opts.organization, opts.project);
    this.prices = opts.prices ?? {};
    this.now = opts.now ?? Date.now;
    this.consoleWaitMs = opts.consoleWaitMs ?? 5_000;
    this.consolePollMs = opts.consolePollMs ?? 250;
    this.sizes = new TtlCache(opts.catalogTtlMs ?? 30_000);
    this.locations = new TtlCache(opts.catalogTtlMs ?? 30_000);
  }

  private p(path: string): string {
    return `${this.prefix}${path}`;
  }

  private price = (size: Pick<W.WireSize, 'slug' | 'id'>): Price => priceOf(this.prices, size);

  /**
   * Every page of a DRF list (`page`/`page_size`, `next` null on the last page): the first page, then the others at
   * once. How many there are comes from `count` over the size of the first page (not over the page_size asked: DRF
   * caps it at the server's own maximum without saying so); should that fall short, `next` is followed.
   */
  private listAll<T>(path: string, schema: ReturnType<typeof W.drfPage>, opts?: CallOptions): Promise<T[]> {
    return numberedPages(this.id, 1, async (page) => {
      const r = await this.http.request({
        method: 'GET',
        path: this.p(path),
        query: { page, page_size: MAX_PAGE_SIZE },
        schema,
        signal: opts?.signal,
      });
      const size = r.data.results.length;
      return {
        items: r.data.results as T[],
        next: r.data.next ? page + 1 : undefined,
        pages: size > 0 ? Math.ceil(r.data.count / size) : 1,
      };
    });
  }

  private activeSizes(opts?: CallOptions): Promise<W.WireSize[]> {
    return this.sizes
      .get(() => this.listAll<W.WireSize>(W.PATHS.sizes, W.SizePage), opts?.signal)
      .then((all) => all.filter((s) => s.is_active !== false));
  }

  private activeLocations(opts?: CallOptions): Promise<W.WireLocation[]> {
    return this.locations
      .get(() => this.listAll<W.WireLocation>(W.PATHS.locations, W.LocationPage), opts?.signal)
      .then((all) => all.filter((l) => l.is_active !== false));
  }

  private async activeImages(opts?: CallOptions): Promise<W.WireImage[]> {
    const all = await this.listAll<W.WireImage>(W.PATHS.images, W.ImagePage, opts);
    return all.filter((i) => i.is_active !== false);
  }

  async listInstanceTypes(opts?: CallOptions & { region?: string }): Promise<InstanceType[]> {
    const [sizes, locations] = await Promise.all([this.activeSizes(opts), this.activeLocations(opts)]);
    // Which sizes each location sells is not documented: every active size is listed in every active location.
    const regions = locations.map((l) => l.slug);
    if (opts?.region && !locations.some((l) => l.slug === opts.region || l.id === opts.region)) return [];
    return sizes.map((s) => toInstanceType(s, this.price(s), regions));
  }

  async listImages(opts?: CallOptions & { region?: string }): Promise<Image[]> {
    return (await this.activeImages(opts)).map(toImage);
  }

  async listInstances(opts?: ListOptions): Promise<Page<Instance>> {
    const page = numericCursor(this.id, opts?.cursor, 1);
    const pageSize = Math.min(Math.max(opts?.limit ?? 50, 1), MAX_PAGE_SIZE);
    const r = await this.http.request({
      method: 'GET',
      path: this.p(W.PATHS.instances),
      query: { page, page_size: pageSize },
      schema: W.InstancePage,
      signal: opts?.signal,
    });
    return {
      items: r.data.results.map((w) => this.toInstance(w)),
      ...(r.data.next ? { next_cursor: String(page + 1) } : {}),
    };
  }

  private toInstance = (w: W.WireInstance): Instance => toInstance(w, this.price(w.size), this.now());

  private async getWire(id: string, opts?: CallOptions): Promise<W.WireInstance> {
    const r = await this.http.request({
      method: 'GET',
      path: this.p(W.PATHS.instance(enc(id))),
      schema: W.WireInstance,
      signal: opts?.signal,
    });
    return r.data;
  }

  async getInstance(id: string, opts?: CallOptions): Promise<Instance> {
    return this.toInstance(await this.getWire(id, opts));
  }

  async planCreate(req: CreateRequest, opts?: CallOptions): Promise<CreatePlan> {
    this.refuseUnusable(req);
    const [sizes, locations] = await Promise.all([this.activeSizes(opts), this.activeLocations(opts)]);
    const size = sizes.find((s) => s.slug === req.instance_type || s.id === req.instance_type);
    if (!size)
      throw new ComputeError('INVALID_INPUT', `unknown instance type ${JSON.stringify(req.instance_type)}`, {
        provider: this.id,
        hint: 'Pick an id from list_instance_types with provider "onet".',
      });
    const hourly = hourlyOption(size);
    if (!hourly)
      throw new ComputeError(
        'INVALID_INPUT',
        `${size.slug} cannot be bought by the hour on ONET (it is sold ${activeCycles(size).join(', ') || 'with no active billing cycle'}); compute-mcp creates ONET instances with hourly billing only and never buys a prepaid period`,
        { provider: this.id, hint: 'Pick a size that list_instance_types does not mark available: false.' },
      );
    const disk = defaultDiskGb(size);
    if (req.disk_gib !== undefined && req.disk_gib !== disk)
      throw new ComputeError(
        'INVALID_INPUT',
        `ONET sizes come with their disk (${size.slug}: ${disk ?? 'unknown'} GB) and the create has no disk size`,
        { provider: this.id, hint: 'Omit disk_gib, or pick a size whose disk_gib is what you need.' },
      );
    const location = req.region ? locations.find((l) => l.slug === req.region || l.id === req.region) : locations[0];
    if (!location)
      throw new ComputeError(
        'INVALID_INPUT',
        req.region ? `ONET has no active location ${JSON.stringify(req.region)}` : 'ONET lists no active location',
        { provider: this.id, hint: `Use one of: ${locations.map((l) => l.slug).join(', ') || 'none'}.` },
      );
    const image = await this.chooseImage(req.image, size, opts);
    const keys = await resolveSshKeys({
      cloud: this.displayName,
      provider: this.id,
      publicKey: req.ssh_public_key,
      registerCall: `POST ${this.p(W.PATHS.sshKeys)}`,
      scope: 'project',
      list: async () =>
        (await this.listAll<{ id: string; public_key: string }>(W.PATHS.sshKeys, W.SshKeyPage, opts)).map((k) => ({
          id: k.id,
          value: k.public_key,
        })),
    });
    const body: W.WireCreateInstance = {
      name: req.name,
      hostname: toHostname(req.name),
      size_id: size.id,
      location_id: location.id,
      image_id: image.id,
      billing_cycle: 'hourly',
      ssh_key_ids: keys.ids,
    };
    const price = this.price(size);
    return {
      provider: this.id,
      instance_type: toInstanceType(
        size,
        price,
        locations.map((l) => l.slug),
      ),
      region: location.slug,
      image: image.slug,
      name: req.name,
      price,
      request: { method: 'POST', path: this.p(W.PATHS.instances), body: body as unknown as Record<string, unknown> },
      preparatory_steps: keys.steps,
      notes: [nativePriceNote(size.slug, hourly.price, price)],
      internal: { body, registerKey: keys.registerKey },
    };
  }

  /** What the ONET create cannot carry, refused before anything is read or sent. */
  private refuseUnusable(req: CreateRequest): void {
    const refuse = (what: string, hint: string) => {
      throw new ComputeError('INVALID_INPUT', what, { provider: this.id, hint });
    };
    if (req.from_snapshot !== undefined)
      refuse(`from_snapshot cannot be used on ONET: ${FROM_SNAPSHOT}`, 'Create without from_snapshot.');
    if (req.limit_price_usd !== undefined)
      refuse('ONET sells at fixed prices, not bids: limit_price does not apply', 'Drop limit_price.');
    if (req.startup_script !== undefined)
      refuse(
        'the ONET create request has no field for a startup script',
        'Drop startup_script and run the script over SSH once the VM is running.',
      );
  }

  private async chooseImage(wanted: string | undefined, size: W.WireSize, opts?: CallOptions): Promise<W.WireImage> {
    const images = await this.activeImages(opts);
    const image = wanted
      ? images.find((i) => i.slug === wanted || i.id === wanted)
      : images
          .filter((i) => !i.is_windows && DEFAULT_IMAGE.test(`${i.slug} ${i.name}`))
          .sort((a, b) => (b.os_version ?? '').localeCompare(a.os_version ?? '', 'en', { numeric: true }))[0];
    if (!image)
      throw new ComputeError(
        'INVALID_INPUT',
        wanted ? `ONET has no active image ${JSON.stringify(wanted)}` : 'ONET lists no Ubuntu image to default to',
        { provider: this.id, hint: 'Pass image (see list_images with provider "onet").' },
      );
    if (image.requires_license_addon)
      throw new ComputeError(
        'INVALID_INPUT',
        `image ${image.slug} needs a license addon, which ONET bills separately and compute-mcp never orders`,
        { provider: this.id, hint: 'Pick an image without a license (e.g. an Ubuntu or Debian one).' },
      );
    if ((image.min_ram_mb ?? 0) > size.ram_mb || (image.min_disk_gb ?? 0) > (defaultDiskGb(size) ?? Infinity))
      throw new ComputeError('INVALID_INPUT', `image ${image.slug} needs more memory or disk than ${size.slug} has`, {
        provider: this.id,
        hint: 'Pick a larger size or another image.',
      });
    return image;
  }

  async create(plan: CreatePlan, opts?: CallOptions): Promise<Instance> {
    const body = { ...(plan.internal.body as W.WireCreateInstance) };
    const registerKey = plan.internal.registerKey as string | undefined;
    if (registerKey) body.ssh_key_ids = [(await this.registerSshKey(registerKey, opts)).id];
    // Never retried: a duplicated VM costs money.
    const r = await this.http.request({
      method: 'POST',
      path: this.p(W.PATHS.instances),
      body,
      schema: W.WireInstance,
      idempotent: false,
      signal: opts?.signal,
    });
    return this.toInstance(r.data);
  }

  private async registerSshKey(value: string, opts?: CallOptions) {
    const r = await this.http.request({
      method: 'POST',
      path: this.p(W.PATHS.sshKeys),
      body: { name: sshKeyName(value), public_key: value },
      schema: W.WireSshKey,
      idempotent: false,
      signal: opts?.signal,
    });
    return r.data;
  }

  /**
   * Deleting an ONET instance requests its cancellation, which takes effect at `billing_end_date` (seed 000): the
   * answer says when billing ends when that is still ahead.
   */
  async delete(id: string, opts?: CallOptions): Promise<{ already_gone: boolean; billing_ends_at?: string }> {
    let before: W.WireInstance;
    try {
      before = await this.getWire(id, opts);
    } catch (e) {
      if (isComputeError(e) && e.code === 'NOT_FOUND') return { already_gone: true };
      throw e;
    }
    if (toStatus(before.status, before.state_sync?.vm_status) === 'terminated') return { already_gone: true };
    const sent = await deleteIgnoringGone(() =>
      this.http.request({
        method: 'DELETE',
        path: this.p(W.PATHS.instance(enc(id))),
        idempotent: true,
        signal: opts?.signal,
      }),
    );
    if (sent.already_gone) return sent;
    const after = await this.getWire(id, opts).catch(() => undefined);
    const ends = after ? billingEnd(after, this.now()) : undefined;
    return { already_gone: false, ...(ends ? { billing_ends_at: ends } : {}) };
  }

  private readonly power = startStop({
    check: async (id, action, opts) => {
      const w = await this.getWire(id, opts);
      const refuse = refusal(w, action === 'stop' ? 'pause' : 'resume');
      // A suspended VM is never reactivated by this server (that charges the bill): unsupported, not a failure.
      const refuseAs = w.status === 'suspended' ? ('unsupported' as const) : ('failed' as const);
      return { status: toStatus(w.status, w.state_sync?.vm_status), ...(refuse ? { refuse, refuseAs } : {}) };
    },
    act: (id, action, opts) => this.sendAction(id, action, opts),
  });
  readonly pause = this.power.pause;
  readonly resume = this.power.resume;

  /** A task is all the answer says: the VM is stopping or starting (the toolkit's answer). */
  private async sendAction(id: string, action: 'start' | 'stop', opts?: CallOptions): Promise<void> {
    await this.http.request({
      method: 'POST',
      path: this.p(W.PATHS.action(enc(id), action)),
      schema: W.WireTask,
      idempotent: false,
      signal: opts?.signal,
    });
  }

  async snapshot(id: string, name: string, opts?: CallOptions): Promise<Snapshot> {
    const r = await this.http.request({
      method: 'POST',
      path: this.p(W.PATHS.snapshots(enc(id))),
      body: { name },
      schema: W.WireSnapshot,
      idempotent: false,
      signal: opts?.signal,
    });
    return toSnapshot(r.data, id);
  }

  async listSnapshots(opts?: CallOptions & { instanceId?: string }): Promise<Snapshot[]> {
    const of = async (id: string) =>
      (await this.listAll<W.WireSnapshot>(W.PATHS.snapshots(enc(id)), W.SnapshotPage, opts)).map((s) =>
        toSnapshot(s, id),
      );
    if (opts?.instanceId) return of(opts.instanceId);
    // Snapshots are listed per instance: every instance that still exists is asked.
    const instances = await this.listAll<W.WireInstance>(W.PATHS.instances, W.InstancePage, opts);
    const live = instances.filter((w) => toStatus(w.status, w.state_sync?.vm_status) !== 'terminated');
    return (await Promise.all(live.map((w) => of(w.id)))).flat();
  }

  /**
   * Opens a console session (or picks up the one a previous call left pending) and reads it until it has a URL,
   * for at most `consoleWaitMs`.
   */
  async getConsole(id: string, opts?: CallOptions) {
    let session = this.pendingConsoles.get(id);
    let current: W.WireConsoleSession | undefined;
    if (!session) {
      const r = await this.http.request({
        method: 'POST',
        path: this.p(W.PATHS.console(enc(id))),
        schema: W.WireConsoleSession,
        idempotent: false,
        signal: opts?.signal,
      });
      current = r.data;
      session = r.data.id;
    }
    const deadline = this.now() + this.consoleWaitMs;
    for (;;) {
      if (current?.url) break;
      if (current?.status === 'failed' || current?.status === 'expired') {
        this.pendingConsoles.delete(id);
        throw new ComputeError('PROVIDER_ERROR', `ONET console session ${session} is ${current.status}`, {
          provider: this.id,
          hint: 'Call get_console again to open a new session.',
        });
      }
      if (current && this.now() >= deadline) {
        this.pendingConsoles.set(id, session);
        throw new ComputeError(
          'NOT_READY',
          `ONET is still preparing console session ${session} for ${id} (no URL after ${Math.round(this.consoleWaitMs / 1000)} s)`,
          {
            provider: this.id,
            hint: `Call get_console again in a few seconds: it reads the same session (GET ${this.p(W.PATHS.consoleSession(id, session))}) instead of opening another.`,
          },
        );
      }
      if (current) await sleep(this.consolePollMs, opts?.signal);
      try {
        const r = await this.http.request({
          method: 'GET',
          path: this.p(W.PATHS.consoleSession(enc(id), pathSegment(this.id, session))),
          schema: W.WireConsoleSession,
          signal: opts?.signal,
        });
        current = r.data;
      } catch (e) {
        // A pending session from an earlier call that the cloud no longer knows: open a new one next time.
        if (isComputeError(e) && e.code === 'NOT_FOUND') this.pendingConsoles.delete(id);
        throw e;
      }
    }
    this.pendingConsoles.delete(id);
    return {
      console: { provider: this.id, instance_id: id, kind: 'vnc' as const, url: current.url },
      note: `ONET console session ${session}: open the URL in a browser now (ONET promises no expiry). SSH works too once the VM has a public IP (see get_instance).`,
    };
  }
}

const enc = (id: string) => pathSegment('onet', id);

/** Why an instance cannot be paused or resumed now, or undefined. */
function refusal(w: W.WireInstance, kind: 'pause' | 'resume'): string | undefined {
  if (w.status === 'suspended') return kind === 'resume' ? SUSPENDED : undefined;
  if (w.status === 'cancelled' || w.status === 'terminated')
    return `it is ${w.status}${w.billing_end_date ? ` (billing ends ${w.billing_end_date})` : ''}; create a new VM instead`;
  if (w.status === 'pending' || w.status === 'provisioning')
    return `it is still being provisioned (${w.status}); wait_for_instance until it runs, then try again`;
  return undefined;
}

/** What the human reads about the price: ONET's own figure, its unknown currency, and where the USD price comes from. */
function nativePriceNote(slug: string, raw: string, price: Price): string {
  const micros = toMicros(raw);
  const native =
    micros === undefined
      ? `ONET's hourly price for ${slug} is ${JSON.stringify(raw)}, which is not a plain decimal`
      : `ONET's hourly price for ${slug} is ${formatMicros(micros)} per hour in a currency its API does not state; it is not converted to USD`;
  return price.usd_per_hour === null
    ? `${native}. The price is therefore unknown here: set prices.onet["${slug}"] (USD/hour) in the config to give one.`
    : `${native}. The USD price shown is the one configured in prices.onet["${slug}"].`;
}
