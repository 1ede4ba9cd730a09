/** Pure Mithril ⇄ domain translation, and exact money parsing. */
import type { Gpu, Instance, InstanceStatus } from '../../domain/model.js';
import type { WireBid, WireInstance, WireInstanceType } from './wire.js';

/** "$25.60" → 2560 cents, from the digits (no float arithmetic). */
export function dollarsToCents(s: string): number {
  const m = /^\$(\d+)(?:\.(\d{1,2}))?$/.exec(s.trim());
  if (!m) throw new Error(`not a price: ${s}`);
  return Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'));
}

/** 2560 → "$25.60". */
export const centsToDollars = (cents: number): string => `$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

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

/** "h100-80gb.sxm.8x" and its model → the GPU block. */
export function toGpu(t: WireInstanceType): Gpu | null {
  if (!t.num_gpus) return null;
  const model = (t.gpu_type ?? t.name.split('-')[0] ?? 'GPU').toUpperCase();
  return { model, count: t.num_gpus, ...(t.gpu_memory_gb ? { memory_gib: t.gpu_memory_gb } : {}) };
}

/** ASSUMPTION: `ssh_destination` is a host with an optional ":port", and the image's user is `ubuntu`. */
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
export function toInstance(w: WireInstance, typeName: (fid: string) => string, typeGpu: (fid: string) => Gpu | null, bid?: WireBid): Instance {
  const ssh = sshCommand(w.ssh_destination);
  return {
    provider: 'mithril',
    id: w.bid ?? w.fid,
    name: w.name,
    status: toStatus(w.status),
    provider_status: w.status,
    instance_type: typeName(w.instance_type),
    ...(w.region ? { region: w.region } : {}),
    gpu: typeGpu(w.instance_type),
    ...(w.private_ip ? { private_ip: w.private_ip } : {}),
    ...(ssh ? { ssh } : {}),
    ...(w.created_at ? { created_at: w.created_at } : {}),
    price_usd_per_hour: bid ? centsToUsd(dollarsToCents(bid.limit_price)) : null,
  };
}

/** A bid that has no instance (yet, or any more). */
export function bidToInstance(b: WireBid, typeName: (fid: string) => string, typeGpu: (fid: string) => Gpu | null): Instance {
  return {
    provider: 'mithril',
    id: b.fid,
    name: b.name,
    status: BID_STATUS[b.status] ?? 'unknown',
    provider_status: `bid ${b.status}`,
    instance_type: typeName(b.instance_type),
    ...(b.region ? { region: b.region } : {}),
    gpu: typeGpu(b.instance_type),
    ...(b.created_at ? { created_at: b.created_at } : {}),
    price_usd_per_hour: centsToUsd(dollarsToCents(b.limit_price)),
  };
}
