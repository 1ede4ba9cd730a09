/** Pure Genesis ⇄ domain translation. No I/O. */
import type { Image, Instance, InstanceStatus, InstanceType, Price, Snapshot } from '../../domain/model.js';
import { GENESIS_TYPES_BY_ID, type GenesisTypeRow } from './catalog.js';
import type { WireImage, WireInstance, WireSnapshot } from './wire.js';

// Source: seed 002 ("Possible values are creating, pending_payment, active, stopping, stopped, starting, resetting,
// error and deleting"); legacy accounts may show others, which map to `unknown` with the raw value kept.
export const STATUS_MAP: Record<string, InstanceStatus> = {
  creating: 'pending',
  pending_payment: 'pending',
  active: 'running',
  stopping: 'stopping',
  stopped: 'paused',
  starting: 'starting',
  resetting: 'starting',
  error: 'error',
  deleting: 'terminating',
};
export const toStatus = (s: string): InstanceStatus => STATUS_MAP[s] ?? 'unknown';

// Source: providers.md §3.5 (snapshot status ∈ creating, created, deleting, error, pending_delete).
const SNAPSHOT_STATUS: Record<string, Snapshot['status']> = {
  creating: 'creating', created: 'available', deleting: 'deleting', pending_delete: 'deleting', error: 'error',
};

/** ASSUMPTION: Genesis Ubuntu cloud images log in as `ubuntu` (the cloud-image default; not in the seed). */
export const SSH_USER = 'ubuntu';

export type PriceLookup = (typeId: string) => Price;

export function toInstance(w: WireInstance, price: PriceLookup): Instance {
  const row = GENESIS_TYPES_BY_ID.get(w.type);
  const p = price(w.type);
  return {
    provider: 'genesiscloud',
    id: w.id,
    name: w.name,
    status: toStatus(w.status),
    provider_status: w.status,
    instance_type: w.type,
    region: w.region,
    gpu: row?.gpu ?? null,
    ...(w.public_ip ? { public_ip: w.public_ip, ssh: `ssh ${SSH_USER}@${w.public_ip}` } : {}),
    ...(w.private_ip ? { private_ip: w.private_ip } : {}),
    ...(w.created_at ? { created_at: w.created_at } : {}),
    price_usd_per_hour: p.usd_per_hour,
  };
}

export function toInstanceType(row: GenesisTypeRow, price: Price, regions: string[], available?: boolean): InstanceType {
  return {
    provider: 'genesiscloud',
    id: row.id,
    name: row.product,
    gpu: row.gpu,
    vcpus: row.vcpus,
    memory_gib: row.memory_gib,
    disk_gib: row.disk_gib,
    price,
    regions,
    ...(available === undefined ? {} : { available }),
  };
}

export function toSnapshot(w: WireSnapshot): Snapshot {
  return {
    provider: 'genesiscloud',
    id: w.id,
    name: w.name,
    status: SNAPSHOT_STATUS[w.status] ?? 'unknown',
    provider_status: w.status,
    ...(w.resource_id ? { instance_id: w.resource_id } : {}),
    ...(w.region ? { region: w.region } : {}),
    ...(w.created_at ? { created_at: w.created_at } : {}),
    ...(typeof w.size === 'number' ? { size_gib: w.size } : {}),
  };
}

export function toImage(w: WireImage): Image {
  return {
    provider: 'genesiscloud',
    id: w.slug ?? w.id,
    name: w.name,
    kind: 'image',
    regions: w.regions,
    ...(w.os_type ? { os: w.os_type } : {}),
  };
}

/** A Genesis hostname from a free-form name: lower-case letters, digits and dashes, at most 63 characters. */
export function toHostname(name: string): string {
  const h = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return h || 'vm';
}
