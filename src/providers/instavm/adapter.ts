/**
 * InstaVM adapter: the only file that knows both the wire format (./wire) and the domain (./map).
 * Source: shared/seeds/instavm-create-vm.txt (seed 004), providers.md §5 and the public pages cited in ./wire.ts;
 * undocumented shapes are the ASSUMPTIONs there.
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
  Snapshot,
} from '../../domain/model.js';
import {
  pathSegment,
  type CallOptions,
  type IdFormats,
  type ListOptions,
  type PlanOptions,
  type Provider,
} from '../../domain/provider.js';
import { sleep } from '../../domain/sleep.js';
import type { HttpClient } from '../../http/client.js';
import type { PriceTable } from '../cloud.js';
import { deleteIgnoringGone, numericCursor } from '../toolkit.js';
import {
  DEFAULT_IMAGE,
  META,
  REGION,
  SIZES,
  priceOf,
  redactBody,
  sizeById,
  snapshotId,
  sshCommand,
  toImage,
  toInstance,
  toInstanceType,
  toSnapshot,
  toStatus,
} from './map.js';
import * as W from './wire.js';

/** The lifetime of a VM when the gate gives none (no lifetime_hours and no policy maximum). */
export const DEFAULT_LIFETIME_HOURS = 1;

export const NO_PAUSE =
  'InstaVM has no pause or stop: a VM runs, and bills, until its lifetime ends or it is deleted. To keep its state for later, snapshot it, delete it, and create a new VM from the snapshot when needed (create_vm with from_snapshot); InstaVM can also snapshot a VM as it ends (snapshot_on_terminate)';

export const INSTAVM_CAPABILITIES: Capabilities = {
  pause: { unsupported: `${NO_PAUSE}.` },
  resume: {
    unsupported:
      'InstaVM has no stopped VMs to resume: a VM that ended is gone. Create a new one from a snapshot of it (create_vm with from_snapshot; see list_snapshots).',
  },
  snapshot: {
    differently:
      'Snapshots are taken of a running VM; restoring one is creating a new VM from it (create_vm with from_snapshot).',
  },
  console: {
    differently:
      'No web console: get_console returns the SSH command ssh <vm_id>@instavm.dev (it needs an SSH key registered on the InstaVM account), or the app URL of the port the VM shares.',
  },
  list_images: {
    differently:
      "Images are snapshots: list_images lists the ready ones (InstaVM's system snapshots and your own); omit image for InstaVM's default base.",
  },
  regions: { differently: 'InstaVM has no region selector: every VM is in one implicit region, listed as "global".' },
};

// ASSUMPTION: the form of InstaVM ids is not documented (examples: "vm_123", "snap_xyz789"): any short printable token.
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const INSTAVM_IDS: IdFormats = {
  instance: { pattern: TOKEN, describe: 'InstaVM VM ids are the vm_id values list_instances returns (e.g. vm_123).' },
  snapshot: {
    pattern: TOKEN,
    describe: 'InstaVM snapshot ids are the ids list_snapshots or list_images return (e.g. snap_xyz789).',
  },
};

export interface InstavmOptions {
  http: HttpClient;
  prices?: PriceTable;
  log?: Logger;
  /** How a create without a vm_id looks its VM up by session (bounded). */
  resolveAttempts?: number;
  resolvePollMs?: number;
}

const MAX_PAGE = 100;

export class InstavmProvider implements Provider {
  readonly id = 'instavm' as const;
  readonly displayName = 'InstaVM';
  readonly capabilities = INSTAVM_CAPABILITIES;
  readonly ids = INSTAVM_IDS;
  /** The create carries vm_lifetime_seconds: InstaVM ends the VM itself when it is over (leases are the cloud's). */
  readonly endsOnTime = true as const;
  private readonly http: HttpClient;
  private readonly prices: PriceTable;
  private readonly resolveAttempts: number;
  private readonly resolvePollMs: number;

  constructor(opts: InstavmOptions) {
    this.http = opts.http;
    this.prices = opts.prices ?? {};
    this.resolveAttempts = opts.resolveAttempts ?? 20;
    this.resolvePollMs = opts.resolvePollMs ?? 500;
  }

  async listInstanceTypes(opts?: CallOptions & { region?: string }): Promise<InstanceType[]> {
    if (opts?.region && opts.region !== REGION) return [];
    return SIZES.map((s) => toInstanceType(s, priceOf(this.prices, s.id)));
  }

  private async allSnapshots(opts?: CallOptions): Promise<W.WireSnapshot[]> {
    const r = await this.http.request({
      method: 'GET',
      path: W.PATHS.snapshots,
      schema: W.WireSnapshotList,
      signal: opts?.signal,
    });
    return r.data;
  }

  async listImages(opts?: CallOptions & { region?: string }): Promise<Image[]> {
    if (opts?.region && opts.region !== REGION) return [];
    return (await this.allSnapshots(opts)).filter((s) => s.status === 'ready').map(toImage);
  }

  private async allVms(opts?: CallOptions): Promise<W.WireVm[]> {
    const r = await this.http.request({ method: 'GET', path: W.PATHS.vms, schema: W.WireVmList, signal: opts?.signal });
    return r.data;
  }

  /** InstaVM documents no pagination: the whole list is read and paged here (the cursor is an offset). */
  async listInstances(opts?: ListOptions): Promise<Page<Instance>> {
    const from = numericCursor(this.id, opts?.cursor, 0);
    const size = Math.min(Math.max(opts?.limit ?? 50, 1), MAX_PAGE);
    const all = await this.allVms(opts);
    const items = all.slice(from, from + size).map((w) => toInstance(w, this.prices));
    return { items, ...(from + size < all.length ? { next_cursor: String(from + size) } : {}) };
  }

  private async getWire(id: string, opts?: CallOptions): Promise<W.WireVm> {
    const r = await this.http.request({
      method: 'GET',
      path: W.PATHS.vm(enc(id)),
      schema: W.WireVm,
      signal: opts?.signal,
    });
    return r.data;
  }

  async getInstance(id: string, opts?: CallOptions): Promise<Instance> {
    return toInstance(await this.getWire(id, opts), this.prices);
  }

  async planCreate(req: CreateRequest, opts?: PlanOptions): Promise<CreatePlan> {
    this.refuseUnusable(req);
    const size = sizeById(req.instance_type);
    if (!size)
      throw new ComputeError('INVALID_INPUT', `unknown instance type ${JSON.stringify(req.instance_type)}`, {
        provider: this.id,
        hint: `InstaVM sizes are free-form; compute-mcp offers these: ${SIZES.map((s) => s.id).join(', ')} (see list_instance_types with provider "instavm").`,
      });
    const snapshot = await this.bootSnapshot(req, opts);
    const hours = opts?.lifetimeHours ?? DEFAULT_LIFETIME_HOURS;
    const seconds = Math.max(1, Math.round(hours * 3600));
    const body: W.WireCreateVm = {
      vm_lifetime_seconds: seconds,
      vcpu_count: size.vcpu,
      memory_mb: size.memory_mb,
      metadata: {
        [META.name]: req.name,
        [META.type]: size.id,
        ...(opts?.idempotencyKey ? { [META.key]: opts.idempotencyKey } : {}),
      },
      ...(snapshot ? { snapshot_id: snapshot } : {}),
    };
    const price = priceOf(this.prices, size.id);
    const notes = [
      `InstaVM ends this VM by itself ${hours} hour${hours === 1 ? '' : 's'} after it starts (vm_lifetime_seconds ${seconds}); its disk is lost then unless it was snapshotted, and get_instance shows the end as expires_at.`,
      ...(opts?.lifetimeHours === undefined
        ? [
            `No lifetime was given (no lifetime_hours, no policy maximum): compute-mcp's default of ${DEFAULT_LIFETIME_HOURS} hour applies.`,
          ]
        : []),
      price.usd_per_hour === null
        ? `InstaVM's API has no prices, so this price is unknown: set prices.instavm["${size.id}"] (USD/hour) in the config to give one.`
        : `The price is not from InstaVM's API: it is the ${price.source === 'config' ? 'configured' : 'emulator demo'} price for ${size.id}.`,
    ];
    return {
      provider: this.id,
      instance_type: toInstanceType(size, price),
      region: REGION,
      image: snapshot ?? DEFAULT_IMAGE,
      name: req.name,
      price,
      // What dry_run and the audit show: the exact request, with its secrets (env, DNS credentials, vault ids) redacted.
      request: { method: 'POST', path: `${W.PATHS.vms}?wait=false`, body: redactBody({ ...body }) },
      preparatory_steps: [],
      notes,
      internal: { body },
    };
  }

  /** What the InstaVM create cannot carry, refused before anything is read or sent. */
  private refuseUnusable(req: CreateRequest): void {
    const refuse = (what: string, hint: string) => {
      throw new ComputeError('INVALID_INPUT', what, { provider: this.id, hint });
    };
    if (req.region !== undefined && req.region !== REGION)
      refuse(`InstaVM has no region ${JSON.stringify(req.region)}: it has no region selector`, 'Omit region.');
    if (req.limit_price_usd !== undefined)
      refuse(
        'InstaVM bills allocated resources by the second, not by bid: limit_price does not apply',
        'Drop limit_price.',
      );
    if (req.startup_script !== undefined)
      refuse(
        'the InstaVM create request has no field for a startup script',
        'Drop startup_script; run it over SSH once the VM runs, or bake it into a snapshot and create from that.',
      );
    if (req.disk_gib !== undefined)
      refuse('the InstaVM create request has no disk size', 'Drop disk_gib (InstaVM sizes the disk itself).');
    if (req.ssh_public_key !== undefined)
      refuse(
        'InstaVM keeps SSH keys on the account, not on a VM: the create has no key field',
        'Drop ssh_public_key and register the key once on the InstaVM account (dashboard, or `instavm ssh-key add`); then ssh <vm_id>@instavm.dev works for every VM.',
      );
    if (req.image !== undefined && req.from_snapshot !== undefined && req.image !== req.from_snapshot)
      refuse(
        'image and from_snapshot name different snapshots',
        'On InstaVM an image is a snapshot: pass one of them.',
      );
  }

  /** The snapshot a create boots (from_snapshot, or an image, which on InstaVM is a snapshot), checked to be ready. */
  private async bootSnapshot(req: CreateRequest, opts?: CallOptions): Promise<string | undefined> {
    const wanted = req.from_snapshot ?? (req.image !== DEFAULT_IMAGE ? req.image : undefined);
    if (wanted === undefined) return undefined;
    const found = (await this.allSnapshots(opts)).find((s) => snapshotId(s) === wanted);
    if (!found)
      throw new ComputeError('INVALID_INPUT', `InstaVM has no snapshot ${JSON.stringify(wanted)}`, {
        provider: this.id,
        hint: 'Pick a snapshot id from list_snapshots or list_images with provider "instavm", or omit it for the default base.',
      });
    if (found.status !== 'ready')
      throw new ComputeError('NOT_READY', `InstaVM snapshot ${wanted} is ${found.status}, not ready`, {
        provider: this.id,
        hint: 'Wait until list_snapshots shows it available, then create again.',
      });
    return wanted;
  }

  /**
   * Sends the create once, with `wait=false`: `wait=true` (the default) holds the request until the VM is provisioned,
   * longer than a request timeout, and a create is never re-sent. The VM is then read back; a create answered without a
   * `vm_id` is looked up by its `session_id` (bounded).
   */
  async create(plan: CreatePlan, opts?: CallOptions): Promise<Instance> {
    const body = plan.internal.body as W.WireCreateVm;
    const r = await this.http.request({
      method: 'POST',
      path: W.PATHS.vms,
      query: { wait: false },
      body,
      schema: W.WireCreateResponse,
      idempotent: false,
      signal: opts?.signal,
    });
    const vmId = r.data.vm_id ?? (await this.resolveBySession(r.data.session_id, plan, opts));
    try {
      return await this.getInstance(vmId, opts);
    } catch (e) {
      if (!isComputeError(e) || e.code === 'CANCELLED') throw e;
      // The VM exists (the cloud named it): answer with what the create said rather than lose it.
      const status = toStatus(r.data.status);
      return {
        provider: this.id,
        id: vmId,
        name: plan.name,
        status,
        provider_status: r.data.status,
        instance_type: plan.instance_type.id,
        region: REGION,
        gpu: null,
        price_usd_per_hour: plan.price.usd_per_hour,
      };
    }
  }

  private async resolveBySession(sessionId: string, plan: CreatePlan, opts?: CallOptions): Promise<string> {
    for (let i = 1; i <= this.resolveAttempts; i++) {
      const found = (await this.allVms(opts)).find((w) => w.session_id === sessionId);
      if (found) return found.vm_id;
      if (i < this.resolveAttempts) await sleep(this.resolvePollMs, opts?.signal);
    }
    const waited = Math.round(((this.resolveAttempts - 1) * this.resolvePollMs) / 100) / 10;
    throw new ComputeError(
      'NOT_READY',
      `InstaVM accepted the create (session ${sessionId}) but named no VM for it within ${waited} s`,
      {
        provider: this.id,
        hint: `Do not create it again: the VM may still appear (named ${plan.name}). Check list_instances in a minute, or repeat create_vm with the same idempotency_key, which finds it.`,
      },
    );
  }

  /** The VM a create with this key made: every VM this server creates carries its key in `metadata`. */
  async findByIdempotencyKey(key: string, opts?: CallOptions): Promise<Instance | undefined> {
    const found = (await this.allVms(opts)).find((w) => w.metadata?.[META.key] === key);
    return found ? toInstance(found, this.prices) : undefined;
  }

  /**
   * Moves the VM's end: its lifetime counted from its creation. ASSUMPTION (providers.md §5.2): `PATCH /v1/vms/{id}`
   * with `{vm_lifetime_seconds}` (the SDK's `vms.update`), answering the VM.
   */
  async setLifetime(id: string, endsAt: Date, opts?: CallOptions): Promise<void> {
    const vm = await this.getWire(id, opts);
    const created = vm.created_at ? Date.parse(vm.created_at) : NaN;
    if (!Number.isFinite(created))
      throw new ComputeError(
        'PROVIDER_ERROR',
        `InstaVM did not say when ${id} was created; its lifetime was not changed`,
        {
          provider: this.id,
        },
      );
    const seconds = Math.max(1, Math.ceil((endsAt.getTime() - created) / 1000));
    await this.http.request({
      method: 'PATCH',
      path: W.PATHS.vm(enc(id)),
      body: { vm_lifetime_seconds: seconds },
      schema: W.WireVm,
      signal: opts?.signal,
    });
  }

  async delete(id: string, opts?: CallOptions): Promise<{ already_gone: boolean }> {
    let before: W.WireVm;
    try {
      before = await this.getWire(id, opts);
    } catch (e) {
      if (isComputeError(e) && e.code === 'NOT_FOUND') return { already_gone: true };
      throw e;
    }
    if (toStatus(before.status) === 'terminated') return { already_gone: true };
    return deleteIgnoringGone(() =>
      this.http.request({ method: 'DELETE', path: W.PATHS.vm(enc(id)), idempotent: true, signal: opts?.signal }),
    );
  }

  async snapshot(id: string, name: string, opts?: CallOptions): Promise<Snapshot> {
    const r = await this.http.request({
      method: 'POST',
      path: W.PATHS.snapshotVm(enc(id)),
      // wait=false: the documented wait=true holds the request until the snapshot is taken.
      query: { wait: false },
      body: { name },
      schema: W.WireSnapshotCreated,
      idempotent: false,
      signal: opts?.signal,
    });
    return toSnapshot({ snapshot_id: r.data.snapshot_id, status: r.data.status, name, vm_id: id }, id);
  }

  async listSnapshots(opts?: CallOptions & { instanceId?: string }): Promise<Snapshot[]> {
    const all = await this.allSnapshots(opts);
    return all.filter((s) => !opts?.instanceId || s.vm_id === opts.instanceId).map((s) => toSnapshot(s));
  }

  /** The app URL of the port the VM shares (documented app-url call), else the SSH command (documented host). */
  async getConsole(id: string, opts?: CallOptions) {
    const w = await this.getWire(id, opts);
    const status = toStatus(w.status);
    if (status !== 'running')
      throw new ComputeError('NOT_READY', `InstaVM VM ${id} is ${w.status}, not running`, {
        provider: this.id,
        hint:
          status === 'terminated'
            ? 'It has ended; create a new VM (from a snapshot of it, if there is one).'
            : 'wait_for_instance until it runs, then call get_console again.',
      });
    const share = w.share;
    let url = share?.url ?? undefined;
    if (!url && share?.port && w.session_id) {
      const r = await this.http.request({
        method: 'GET',
        path: W.PATHS.appUrl(pathSegment(this.id, w.session_id)),
        query: { port: share.port },
        schema: W.WireAppUrl,
        signal: opts?.signal,
      });
      url = r.data.url;
    }
    if (url)
      return {
        console: { provider: this.id, instance_id: id, kind: 'url' as const, url },
        note: `The app URL of port ${share?.port ?? 'shared'} of ${id}${share?.is_public ? ' (public)' : ''}. For a shell: ${sshCommand(id)} (needs an SSH key registered on the InstaVM account).`,
      };
    return {
      console: { provider: this.id, instance_id: id, kind: 'ssh' as const, command: sshCommand(id) },
      note: 'InstaVM has no web console. The SSH command works only with an SSH key registered on the InstaVM account (dashboard, or `instavm ssh-key add`); keys are not set per VM.',
    };
  }
}

const enc = (id: string) => pathSegment('instavm', id);
