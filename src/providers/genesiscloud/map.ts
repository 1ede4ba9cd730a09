/** Pure Genesis ⇄ domain translation. No I/O. */
import type { Image, Instance, InstanceStatus, InstanceType, Price, Snapshot } from '../../domain/model.js';
import { GENESIS_TYPES_BY_ID, type GenesisTypeRow } from './catalog.js';
import type { WireImage, WireInstance, WireSnapshot } from './wire.js';

// Source: seed 002 Instance Schema ("Possible values are creating, pending_payment, active, stopping, stopped, starting,
// resetting, error and deleting"; genesiscloud-go types.gen.go `InstanceStatus`), then the legacy values the seed names
// ("an additional status enqueued ... copying, build, restarting, shutoff, updating and unknown"), which the JS client
// enumerates too (genesiscloud/genesiscloud-js src/models/Instance_Status.ts). Values outside both lists map to
// `unknown` with the raw value kept in provider_status.
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
  // Legacy projects. The seed names them without defining them; the meanings follow the words (OpenStack-style
  // BUILD/SHUTOFF): queued or being built/copied is not usable yet, shutoff is stopped, restarting comes back up.
  enqueued: 'pending',
  copying: 'pending',
  build: 'pending',
  updating: 'pending',
  restarting: 'starting',
  shutoff: 'paused',
  unknown: 'unknown', // the cloud itself says it does not know
};
export const toStatus = (s: string): InstanceStatus => STATUS_MAP[s] ?? 'unknown';

// Source: providers.md §3.5 (snapshot status ∈ creating, created, deleting, error, pending_delete); genesiscloud-js
// src/models/Snapshot_Status.ts also lists `active`, a usable snapshot.
export const SNAPSHOT_STATUS: Record<string, Snapshot['status']> = {
  creating: 'creating',
  created: 'available',
  active: 'available',
  deleting: 'deleting',
  pending_delete: 'deleting',
  error: 'error',
};
export const toSnapshotStatus = (s: string): Snapshot['status'] => SNAPSHOT_STATUS[s] ?? 'unknown';

/**
 * Genesis instances log in as `ubuntu`: "ssh ubuntu@public_ipv4_address_of_the_instance"
 * (https://support.genesiscloud.com/support/solutions/articles/47001140719).
 */
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
    // A type not in the table: its GPUs are unknown (absent), never "none" — the limits count it as unknown.
    ...(row ? { gpu: row.gpu } : {}),
    ...(w.public_ip ? { public_ip: w.public_ip, ssh: `ssh ${SSH_USER}@${w.public_ip}` } : {}),
    ...(w.private_ip ? { private_ip: w.private_ip } : {}),
    ...(w.created_at ? { created_at: w.created_at } : {}),
    price_usd_per_hour: p.usd_per_hour,
  };
}

export function toInstanceType(
  row: GenesisTypeRow,
  price: Price,
  regions: string[],
  available?: boolean,
): InstanceType {
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
    status: toSnapshotStatus(w.status),
    provider_status: w.status,
    ...(sourceInstance(w) ? { instance_id: sourceInstance(w) } : {}),
    ...(w.region ? { region: w.region } : {}),
    ...(w.created_at ? { created_at: w.created_at } : {}),
    ...(typeof w.size === 'number' ? { size_gib: w.size } : {}),
  };
}

/** The snapshotted instance, from whichever field the answer carries (see wire.ts `WireSnapshot`). */
export function sourceInstance(w: WireSnapshot): string | undefined {
  return w.resource_id || w.source_instance_id || undefined;
}

/**
 * Termination protection. The seed types `is_protected` as a String but its examples carry a boolean; both are read.
 */
export function isProtected(w: Pick<WireInstance, 'is_protected'>): boolean {
  return w.is_protected === true || (typeof w.is_protected === 'string' && w.is_protected.toLowerCase() === 'true');
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

/** A hostname from the VM's name: the toolkit's one rule. */
export { hostnameOf as toHostname } from '../toolkit.js';
