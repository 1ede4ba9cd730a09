/** Pure Mithril ⇄ domain translation, and exact money parsing. */
import { ALREADY } from '../toolkit.js';
import type { Gpu, Instance, InstanceStatus } from '../../domain/model.js';
import type { WireBid, WireInstance, WireInstanceType } from './wire.js';

/** "$25.60" → 2560 cents, from the digits (no float arithmetic). */
export function dollarsToCents(s: string): number {
  const m = /^\$(\d+)(?:\.(\d{1,2}))?$/.exec(s.trim());
  if (!m) throw new Error(`not a price: ${s}`);
  return Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'));
}

/** "$25.60" → 2560, or null when it is not a price of that form (the caller decides what to skip and says so). */
export function parseDollars(s: string | null | undefined): number | null {
  if (typeof s !== 'string' || !/^\$\d+(?:\.\d{1,2})?$/.test(s.trim())) return null;
  return dollarsToCents(s);
}

/** 2560 → "$25.60". */
export const centsToDollars = (cents: number): string =>
  `$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

/** USD (a number from an agent) → whole cents, rounded up so a bid is never below what was asked. */
export const usdToCents = (usd: number): number => Math.ceil(Math.round(usd * 1e6) / 1e4);

export const centsToUsd = (cents: number): number => cents / 100;

// Source: providers.md §4.3 and §6.1. Unknown values map to `unknown` with the raw value kept.
export const INSTANCE_STATUS: Record<string, InstanceStatus> = {
  STATUS_NEW: 'pending',
  STATUS_CONFIRMED: 'pending',
  STATUS_INITIALIZING: 'pending',
  STATUS_STARTING: 'starting',
  STATUS_RUNNING: 'running',
  STATUS_RELOCATING: 'running',
  STATUS_PREEMPTING: 'running',
  STATUS_STOPPING: 'stopping',
  STATUS_PAUSED: 'paused',
  STATUS_TERMINATED: 'terminated',
  STATUS_PREEMPTED: 'terminated',
  STATUS_REPLACED: 'terminated',
  STATUS_ERROR: 'error',
};

// A bid with no instance yet (Open, or paused before allocation). Source: providers.md §4.3 bid statuses.
export const BID_STATUS: Record<string, InstanceStatus> = {
  Open: 'pending',
  Allocated: 'pending',
  Preempting: 'running',
  Paused: 'paused',
  Terminated: 'terminated',
};

export const toStatus = (raw: string): InstanceStatus => INSTANCE_STATUS[raw] ?? 'unknown';

/**
 * The toolkit's one rule for "already there" (a pause has taken at stopping or paused; a resume at pending, starting
 * or running), used before a request (nothing to do) and after one (the request took), for bids and reserved VMs.
 */
export const reached = (pause: boolean, status: InstanceStatus): boolean =>
  ALREADY[pause ? 'pause' : 'resume'].includes(status);

/**
 * One value of the PATCH /v2/instances answer → the raw status it reports, or undefined when it reports none. The seed
 * promises an entry per requested FID "with that instance's current status" without a schema, so a plain status
 * string, an object carrying `status` (like GET /v2/instances/{fid}/status) and null are all read.
 */
export function batchEntryStatus(v: unknown): string | undefined {
  if (typeof v === 'string' && v) return v;
  if (v && typeof v === 'object' && typeof (v as { status?: unknown }).status === 'string')
    return (v as { status: string }).status;
  return undefined;
}

/** "h100-80gb.sxm.8x" and its model → the GPU block. */
export function toGpu(t: WireInstanceType): Gpu | null {
  if (!t.num_gpus) return null;
  const model = (t.gpu_type ?? t.name.split('-')[0] ?? 'GPU').toUpperCase();
  return { model, count: t.num_gpus, ...(t.gpu_memory_gb ? { memory_gib: t.gpu_memory_gb } : {}) };
}

/**
 * The user is `ubuntu`, and `ssh_destination` is the address to SSH to on port 22: SkyPilot
 * sky/provision/mithril/instance.py get_cluster_info (`ssh_user = "ubuntu"`, the destination used as the IP with
 * `ssh_port=22`). ASSUMPTION: a "host:port" or "user@host" form, if the API ever sends one, means what it says.
 */
export function sshCommand(dest: string | null | undefined): string | undefined {
  if (!dest) return undefined;
  const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(dest);
  if (!m) return undefined;
  return `ssh ${m[3] && m[3] !== '22' ? `-p ${m[3]} ` : ''}${m[1] ?? 'ubuntu'}@${m[2]}`;
}

/**
 * A spot VM is known by its bid FID (one bid, one instance: it exists from the create on, and delete and pause act on
 * it); a reserved VM by its instance FID.
 */
export function toInstance(
  w: WireInstance,
  typeName: (fid: string) => string,
  typeGpu: (fid: string) => Gpu | null | undefined,
  bid?: WireBid,
): Instance {
  const ssh = sshCommand(w.ssh_destination);
  return {
    provider: 'mithril',
    id: w.bid ?? w.fid,
    name: w.name,
    status: toStatus(w.status),
    provider_status: w.status,
    instance_type: typeName(w.instance_type),
    ...(w.region ? { region: w.region } : {}),
    ...gpuOf(typeGpu(w.instance_type)),
    ...(w.private_ip ? { private_ip: w.private_ip } : {}),
    ...(ssh ? { ssh } : {}),
    ...(w.created_at ? { created_at: w.created_at } : {}),
    price_usd_per_hour: bid ? bidPrice(bid) : null,
  };
}

/** A bid that has no instance (yet, or any more). */
export function bidToInstance(
  b: WireBid,
  typeName: (fid: string) => string,
  typeGpu: (fid: string) => Gpu | null | undefined,
): Instance {
  return {
    provider: 'mithril',
    id: b.fid,
    name: b.name,
    status: BID_STATUS[b.status] ?? 'unknown',
    provider_status: `bid ${b.status}`,
    instance_type: typeName(b.instance_type),
    ...(b.region ? { region: b.region } : {}),
    ...gpuOf(typeGpu(b.instance_type)),
    ...(b.created_at ? { created_at: b.created_at } : {}),
    price_usd_per_hour: bidPrice(b),
  };
}

/** The bid's limit in USD, or null when its `limit_price` is not a price (the adapter logs that). */
function bidPrice(b: WireBid): number | null {
  const c = parseDollars(b.limit_price);
  return c === null ? null : centsToUsd(c);
}

/** GPUs per VM: `null` is none; a type the catalog does not know leaves it out (unknown, counted as such). */
const gpuOf = (gpu: Gpu | null | undefined) => (gpu === undefined ? {} : { gpu });
