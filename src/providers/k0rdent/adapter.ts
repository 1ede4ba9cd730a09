/**
 * k0rdent AI adapter: the only file that knows both the wire format (./wire) and the domain (./map).
 * Source: shared/seeds/k0rdent-get-instance.txt (seed 001), providers.md §2 and the public pages cited in ./wire.ts;
 * undocumented shapes are the ASSUMPTIONs of ./wire.ts.
 *
 * Idempotency by design: the instance id is client-chosen, derived from the name and the create's idempotency key, and
 * the key (digested) is put in a label. A create whose answer was lost is found by that label; the same create sent
 * again meets a 409 and is answered with the VM it made.
 */
import type { Logger } from 'pino';
import { ComputeError, isComputeError } from '../../domain/errors.js';
import type {
  Capabilities,
  CreatePlan,
  CreateRequest,
  Gpu,
  Image,
  Instance,
  InstanceType,
  Page,
  PowerResult,
  Price,
} from '../../domain/model.js';
import { collectPages } from '../../domain/paging.js';
import {
  pathSegment,
  type CallOptions,
  type IdFormats,
  type ListOptions,
  type PlanOptions,
  type Provider,
} from '../../domain/provider.js';
import type { HttpClient } from '../../http/client.js';
import type { PriceTable } from '../cloud.js';
import { deleteIgnoringGone, SSH_PUBLIC_KEY, startStop, TtlCache } from '../toolkit.js';
import {
  chooseAddress,
  instanceId,
  keyDigest,
  priceOf,
  sshCommand,
  sshKeyLine,
  toGpu,
  toHostname,
  toImage,
  toInstance,
  toInstanceType,
  toStatus,
} from './map.js';
import * as W from './wire.js';

export const NO_SNAPSHOTS =
  "k0rdent AI's public API documents no snapshots or machine images of a VM; keep data on a disk or in object storage, or rebuild from a script";

export const K0RDENT_CAPABILITIES: Capabilities = {
  pause: {
    differently:
      'Pausing stops the instance (POST …/stop, not in the public docs); the docs do not say whether a stopped instance still bills, so delete it to be sure billing stops.',
  },
  resume: true,
  snapshot: { unsupported: `${NO_SNAPSHOTS}.` },
  console: {
    differently: `k0rdent AI documents no console sessions: get_console returns the SSH command for the user ${W.SSH_USER} (the key given at create, installed through the instance's ssh-keys metadata), with the address the adapter chose and why.`,
  },
  list_images: true,
  regions: {
    differently:
      'One region and zone per configuration (K0RDENT_REGION, K0RDENT_ZONE): instance types and VMs are those of that zone and project.',
  },
};

export const K0RDENT_IDS: IdFormats = {
  instance: {
    pattern: W.ID_PATTERN,
    describe:
      'k0rdent instance ids are 1–63 lower-case letters, digits and dashes, starting with a letter (e.g. "train-1-3f9a0c2b7e"); get them from list_instances.',
  },
};

export interface K0rdentOptions {
  http: HttpClient;
  region: string;
  project: string;
  zone: string;
  prices?: PriceTable;
  log?: Logger;
  catalogTtlMs?: number;
}

const MAX_PAGE_SIZE = 500; // documented range 1–500
const DEFAULT_PAGE_SIZE = 50; // documented default
const DEFAULT_IMAGE = /ubuntu/i;

export class K0rdentProvider implements Provider {
  readonly id = 'k0rdent' as const;
  readonly displayName = 'k0rdent AI';
  readonly capabilities = K0RDENT_CAPABILITIES;
  readonly ids = K0RDENT_IDS;
  private readonly http: HttpClient;
  private readonly region: string;
  private readonly project: string;
  private readonly zone: string;
  private readonly prices: PriceTable;
  private readonly log?: Logger;
  private readonly types: TtlCache<W.WireInstanceType[]>;

  constructor(opts: K0rdentOptions) {
    this.http = opts.http;
    this.region = opts.region;
    this.project = opts.project;
    this.zone = opts.zone;
    this.prices = opts.prices ?? {};
    this.log = opts.log;
    this.types = new TtlCache(opts.catalogTtlMs ?? 30_000);
  }

  private price = (typeName: string): Price => priceOf(this.prices, typeName);

  private instancesPath = () => W.PATHS.instances(this.region, this.project);
  private instancePath = (id: string) => W.PATHS.instance(this.region, this.project, enc(id));

  /**
   * Every page of a cursor list (`pageToken` → `nextPageToken`). An opaque token can only be followed one page after
   * another; at the documented maximum page size (500) one page holds the catalogs read this way, so it is one round
   * trip in practice.
   */
  private listAll<T>(
    path: string,
    schema: typeof W.WireInstanceTypeList | typeof W.WireImageList | typeof W.WireInstanceList,
    pick: (data: never) => T[],
    opts?: CallOptions,
  ): Promise<T[]> {
    return collectPages(this.id, undefined as string | undefined, async (pageToken) => {
      const r = await this.http.request({
        method: 'GET',
        path,
        query: { pageSize: MAX_PAGE_SIZE, pageToken },
        schema,
        signal: opts?.signal,
      });
      const data = r.data as { nextPageToken?: string | null };
      return { items: pick(r.data as never), next: data.nextPageToken || undefined };
    });
  }

  private catalog(opts?: CallOptions): Promise<W.WireInstanceType[]> {
    return this.types.get(
      () =>
        this.listAll(
          W.PATHS.instanceTypes(this.region, this.zone),
          W.WireInstanceTypeList,
          (d: { instanceTypes: W.WireInstanceType[] }) => d.instanceTypes,
        ),
      opts?.signal,
    );
  }

  async listInstanceTypes(opts?: CallOptions & { region?: string }): Promise<InstanceType[]> {
    if (opts?.region && opts.region !== this.region) return [];
    return (await this.catalog(opts)).map((t) => toInstanceType(t, this.price(t.id), this.region));
  }

  private wireImages(opts?: CallOptions): Promise<W.WireImage[]> {
    return this.listAll(W.PATHS.images(this.region), W.WireImageList, (d: { images: W.WireImage[] }) => d.images, opts);
  }

  async listImages(opts?: CallOptions & { region?: string }): Promise<Image[]> {
    if (opts?.region && opts.region !== this.region) return [];
    return (await this.wireImages(opts)).map((i) => toImage(i, this.region));
  }

  /** The GPUs of a type by name, from the catalog; `undefined` when the catalog cannot be read or lacks the type. */
  private async typeGpus(opts?: CallOptions): Promise<(name: string) => Gpu | null | undefined> {
    try {
      const all = await this.catalog(opts);
      return (name) => {
        const t = all.find((x) => x.id === name);
        return t ? toGpu(t.gpus) : undefined;
      };
    } catch (e) {
      if (!isComputeError(e)) throw e;
      this.log?.debug({ err: e.message }, 'instance types unavailable: GPUs of instances left unknown');
      return () => undefined;
    }
  }

  private toInstance(w: W.WireInstance, gpuOf: (name: string) => Gpu | null | undefined): Instance {
    const type = W.Uri.name(w.type);
    return toInstance(w, { price: this.price(type), typeGpu: gpuOf(type) });
  }

  private async toInstances(ws: W.WireInstance[], opts?: CallOptions): Promise<Instance[]> {
    const gpuOf = await this.typeGpus(opts);
    return ws.map((w) => this.toInstance(w, gpuOf));
  }

  /** One page of instances; the type catalog (for GPUs) is read at the same time, not after: one round trip cold. */
  async listInstances(opts?: ListOptions): Promise<Page<Instance>> {
    const pageSize = Math.min(Math.max(opts?.limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
    const [r, gpuOf] = await Promise.all([
      this.http.request({
        method: 'GET',
        path: this.instancesPath(),
        query: { pageSize, pageToken: opts?.cursor },
        schema: W.WireInstanceList,
        signal: opts?.signal,
      }),
      this.typeGpus(opts),
    ]);
    return {
      items: r.data.instances.map((w) => this.toInstance(w, gpuOf)),
      ...(r.data.nextPageToken ? { next_cursor: r.data.nextPageToken } : {}),
    };
  }

  private async getWire(id: string, opts?: CallOptions): Promise<W.WireInstance> {
    const r = await this.http.request({
      method: 'GET',
      path: this.instancePath(id),
      schema: W.WireInstance,
      signal: opts?.signal,
    });
    return r.data;
  }

  async getInstance(id: string, opts?: CallOptions): Promise<Instance> {
    const [w, gpuOf] = await Promise.all([this.getWire(id, opts), this.typeGpus(opts)]);
    return this.toInstance(w, gpuOf);
  }

  async planCreate(req: CreateRequest, opts?: PlanOptions): Promise<CreatePlan> {
    this.refuseUnusable(req);
    if (req.region && req.region !== this.region)
      throw new ComputeError(
        'INVALID_INPUT',
        `k0rdent is configured for region ${this.region} (zone ${this.zone}), not ${JSON.stringify(req.region)}`,
        {
          provider: this.id,
          hint: `Omit region or use ${this.region}; K0RDENT_REGION and K0RDENT_ZONE choose another.`,
        },
      );
    const key = req.ssh_public_key?.trim();
    if (!key)
      throw new ComputeError(
        'INVALID_INPUT',
        'k0rdent needs an SSH public key: it is installed through the instance metadata',
        {
          provider: this.id,
          hint: 'Pass ssh_public_key (the text of your ~/.ssh/id_ed25519.pub).',
        },
      );
    if (!SSH_PUBLIC_KEY.test(key))
      throw new ComputeError('INVALID_INPUT', 'ssh_public_key is not an OpenSSH public key line', {
        provider: this.id,
        hint: 'Pass one line like "ssh-ed25519 AAAA… you@host".',
      });
    const types = await this.catalog(opts);
    const type = types.find((t) => t.id === req.instance_type || t.selfLink === req.instance_type);
    if (!type)
      throw new ComputeError(
        'INVALID_INPUT',
        `unknown instance type ${JSON.stringify(req.instance_type)} in zone ${this.zone}`,
        {
          provider: this.id,
          hint: 'Pick an id from list_instance_types with provider "k0rdent".',
        },
      );
    const image = await this.chooseImage(req.image, opts);
    const id = instanceId(req.name, opts?.idempotencyKey);
    const labels: Record<string, string> = { [W.MANAGED_LABEL]: W.MANAGED_VALUE };
    if (opts?.idempotencyKey) labels[W.KEY_LABEL] = keyDigest(opts.idempotencyKey);
    const body: W.WireCreateInstance = {
      id,
      displayName: req.name,
      labels,
      type: W.Uri.instanceType(this.region, this.zone, type.id),
      instanceMetadata: [{ key: W.SSH_KEYS_METADATA, value: `${sshKeyLine(key)}\n` }],
      hostname: toHostname(req.name),
      disks: [
        {
          boot: true,
          source: W.Uri.image(this.region, image.id),
          mode: 'READ_WRITE',
          type: 'PERSISTENT',
          interface: 'SCSI',
          ...(req.disk_gib !== undefined ? { sizeGb: req.disk_gib } : {}),
        },
      ],
    };
    const price = this.price(type.id);
    return {
      provider: this.id,
      instance_type: toInstanceType(type, price, this.region),
      region: this.region,
      image: image.id,
      name: req.name,
      price,
      request: { method: 'POST', path: this.instancesPath(), body: body as unknown as Record<string, unknown> },
      preparatory_steps: [],
      notes: [
        price.usd_per_hour === null
          ? `k0rdent's API has no prices: the price of ${type.id} is unknown here; set prices.k0rdent["${type.id}"] (USD/hour) in the config to give one.`
          : price.source === 'config'
            ? `k0rdent's API has no prices: the price shown is the one configured in prices.k0rdent["${type.id}"].`
            : `k0rdent's API has no prices: the price shown is the emulator's demo price for ${type.id}.`,
        `The VM is created in zone ${this.zone}; the SSH key is installed for the user ${W.SSH_USER} through its ssh-keys metadata.`,
      ],
      internal: { body, ...(opts?.idempotencyKey ? { keyDigest: keyDigest(opts.idempotencyKey) } : {}) },
    };
  }

  /** What the k0rdent create cannot carry, refused before anything is read or sent. */
  private refuseUnusable(req: CreateRequest): void {
    const refuse = (what: string, hint: string) => {
      throw new ComputeError('INVALID_INPUT', what, { provider: this.id, hint });
    };
    if (req.from_snapshot !== undefined)
      refuse(`from_snapshot cannot be used on k0rdent: ${NO_SNAPSHOTS}`, 'Create without from_snapshot.');
    if (req.limit_price_usd !== undefined)
      refuse('k0rdent does not sell by auction: limit_price does not apply', 'Drop limit_price.');
    if (req.startup_script !== undefined)
      refuse(
        'k0rdent documents no startup-script metadata key, so a startup script would be silently ignored',
        'Drop startup_script and run the script over SSH once the VM is running.',
      );
  }

  private async chooseImage(wanted: string | undefined, opts?: CallOptions): Promise<W.WireImage> {
    const images = await this.wireImages(opts);
    const image = wanted
      ? images.find((i) => i.id === wanted || i.selfLink === wanted || W.Uri.name(wanted) === i.id)
      : images
          .filter((i) => DEFAULT_IMAGE.test(`${i.id} ${i.displayName ?? ''}`))
          .sort((a, b) => b.id.localeCompare(a.id, 'en', { numeric: true }))[0];
    if (!image)
      throw new ComputeError(
        'INVALID_INPUT',
        wanted
          ? `k0rdent has no image ${JSON.stringify(wanted)} in ${this.region}`
          : 'k0rdent lists no Ubuntu image to default to',
        { provider: this.id, hint: 'Pass image (see list_images with provider "k0rdent").' },
      );
    return image;
  }

  /** The VM a create with this key made: its label carries the key's digest (every page is read). */
  async findByIdempotencyKey(key: string, opts?: CallOptions): Promise<Instance | undefined> {
    const digest = keyDigest(key);
    const all = await this.listAll(
      this.instancesPath(),
      W.WireInstanceList,
      (d: { instances: W.WireInstance[] }) => d.instances,
      opts,
    );
    const mine = all.filter(
      (w) => w.labels?.[W.KEY_LABEL] === digest && toStatus(w.lifecycle.status) !== 'terminating',
    );
    if (!mine.length) return undefined;
    return (await this.toInstances([mine[0]!], opts))[0];
  }

  /**
   * Sends the create once (never retried). A 409 means the id exists: when its label carries this create's key it is
   * the VM this create made before (its answer was lost), and it is returned; otherwise it is someone else's: CONFLICT.
   */
  async create(plan: CreatePlan, opts?: CallOptions): Promise<Instance> {
    const body = plan.internal.body as W.WireCreateInstance;
    const digest = plan.internal.keyDigest as string | undefined;
    try {
      const r = await this.http.request({
        method: 'POST',
        path: this.instancesPath(),
        body,
        schema: W.WireInstance,
        idempotent: false,
        signal: opts?.signal,
      });
      return (await this.toInstances([r.data], opts))[0]!;
    } catch (e) {
      if (!(isComputeError(e) && e.status === 409)) throw e;
      const existing = await this.getWire(body.id, opts).catch(() => undefined);
      if (existing && digest && existing.labels?.[W.KEY_LABEL] === digest) {
        this.log?.info({ instance: body.id }, 'already exists: the VM of an earlier create with the same key');
        return (await this.toInstances([existing], opts))[0]!;
      }
      throw new ComputeError('CONFLICT', `k0rdent already has an instance ${body.id}, not made by this create`, {
        provider: this.id,
        status: 409,
        hint: 'Use another name (or another idempotency_key); nothing was created.',
      });
    }
  }

  /** ASSUMPTION (wire.ts): DELETE answers the instance in DELETING, and it is gone (404) once deleted. */
  async delete(id: string, opts?: CallOptions): Promise<{ already_gone: boolean }> {
    return deleteIgnoringGone(() =>
      this.http.request({ method: 'DELETE', path: this.instancePath(id), idempotent: true, signal: opts?.signal }),
    );
  }

  private readonly power = startStop({
    check: async (id, action, opts) => {
      const w = await this.getWire(id, opts);
      const refuse = refusal(w.lifecycle.status, action === 'stop' ? 'pause' : 'resume');
      return { status: toStatus(w.lifecycle.status), ...(refuse ? { refuse } : {}) };
    },
    act: (id, action, opts) => this.sendAction(id, action, opts),
  });
  readonly pause = this.power.pause;
  readonly resume = this.power.resume;

  private async sendAction(id: string, action: 'start' | 'stop', opts?: CallOptions): Promise<PowerResult> {
    const r = await this.http.request({
      method: 'POST',
      path: W.PATHS.action(this.region, this.project, enc(id), action),
      schema: W.WireInstance,
      idempotent: false,
      signal: opts?.signal,
    });
    const status = toStatus(r.data.lifecycle.status);
    return action === 'stop'
      ? { id, result: 'paused', status: status === 'unknown' ? 'stopping' : status }
      : { id, result: 'resumed', status: status === 'unknown' ? 'starting' : status };
  }

  /** No console sessions: the SSH command for the metadata user, to the address chosen (and why). */
  async getConsole(id: string, opts?: CallOptions) {
    const w = await this.getWire(id, opts);
    const addr = chooseAddress(w.nics);
    if (!addr.ssh_ip)
      throw new ComputeError('NOT_READY', `${id} has no IPv4 address yet (${w.lifecycle.status})`, {
        provider: this.id,
        hint: 'wait_for_instance until it runs, then call get_console again.',
      });
    return {
      console: { provider: this.id, instance_id: id, kind: 'ssh' as const, command: sshCommand(addr.ssh_ip) },
      note: `${addr.why}. k0rdent AI has no console sessions; the key was installed for ${W.SSH_USER} through the ssh-keys metadata.`,
    };
  }
}

const enc = (id: string) => pathSegment('k0rdent', id);

/** Why an instance cannot be paused or resumed now, or undefined. */
function refusal(raw: string, kind: 'pause' | 'resume'): string | undefined {
  const s = toStatus(raw);
  if (s === 'pending') return `it is still being provisioned (${raw}); wait_for_instance until it runs, then try again`;
  if (s === 'terminating') return `it is being deleted (${raw})`;
  if (s === 'error') return `it has failed (${raw}); delete it and create a new VM`;
  if (kind === 'resume' && s === 'stopping') return `it is still stopping (${raw}); try again once it is stopped`;
  if (kind === 'pause' && s === 'starting') return `it is still starting (${raw}); try again once it runs`;
  return undefined;
}
