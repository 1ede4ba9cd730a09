/** Pure ONET ⇄ domain translation, and exact decimal money. No I/O. */
import type { Image, Instance, InstanceStatus, InstanceType, Price, Snapshot } from '../../domain/model.js';
import { SSH_USER, type WireImage, type WireInstance, type WireSize, type WireSnapshot } from './wire.js';

export const PROVIDER = 'onet';

/**
 * Two statuses kept apart (seed 000; providers.md §1.4, §6.1): `status` is the billing/service status, and
 * `state_sync.vm_status` the hypervisor's power state. The domain status comes from both; both raw values are kept
 * in provider_status ("active/running").
 */
export function toStatus(status: string, vm: string | null | undefined): InstanceStatus {
  switch (status) {
    case 'pending':
    case 'provisioning':
      return 'pending';
    case 'active':
      return vm ? (VM_STATUS[vm] ?? 'unknown') : 'unknown';
    case 'suspended':
      return 'paused'; // suspended for an unpaid bill: not running, recoverable only by paying (§1.4)
    case 'terminated':
    case 'cancelled':
      return 'terminated';
    default:
      return 'unknown';
  }
}

/** Power states of an active instance (the values are an ASSUMPTION: see wire.ts `WireStateSync`). */
const VM_STATUS: Record<string, InstanceStatus> = {
  running: 'running',
  stopped: 'paused',
  stopping: 'stopping',
  starting: 'starting',
};

export const providerStatus = (w: Pick<WireInstance, 'status' | 'state_sync'>): string =>
  w.state_sync?.vm_status ? `${w.status}/${w.state_sync.vm_status}` : w.status;

// ---- money ------------------------------------------------------------------------------------------------------

/** Micro-units per unit of ONET's (undocumented) currency. */
export const MICRO = 1_000_000;

/**
 * A decimal string ("0.0150") as integer micro-units (15000), without going through a float. Undefined when it is not
 * a plain decimal, has more than 6 significant decimals, or is too large to hold exactly.
 */
export function toMicros(s: string): number | undefined {
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(s.trim());
  if (!m || (m[2] === '' && !m[3])) return undefined;
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > 6) return undefined;
  const whole = BigInt(m[2] || '0') * BigInt(MICRO) + BigInt(frac.padEnd(6, '0') || '0');
  const n = Number(m[1] === '-' ? -whole : whole);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Micro-units back to a decimal string with no trailing zeros ("0.015"). */
export function formatMicros(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / MICRO);
  const frac = String(abs % MICRO)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return `${sign}${whole}${frac ? `.${frac}` : ''}`;
}

/** The size's active hourly pricing option, the only billing cycle compute-mcp buys. */
export const hourlyOption = (s: WireSize) =>
  s.pricing_options.find((o) => o.billing_cycle === 'hourly' && o.is_active !== false);

/** The billing cycles a size can be bought with now. */
export const activeCycles = (s: WireSize) =>
  s.pricing_options.filter((o) => o.is_active !== false).map((o) => o.billing_cycle);

/**
 * $/hour for a size. ONET's prices are in a currency its API does not state, so they are never labelled USD: the
 * only USD price is one configured per size (by slug or id), else unknown.
 */
export type PriceTable = Record<string, { usd_per_hour: number; source: 'config' | 'emulator' }>;
export function priceOf(table: PriceTable, size: Pick<WireSize, 'slug' | 'id'>): Price {
  const p = table[size.slug] ?? table[size.id];
  return p ? { usd_per_hour: p.usd_per_hour, source: p.source } : { usd_per_hour: null, source: null };
}

// ---- shapes -----------------------------------------------------------------------------------------------------

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The disk a size comes with: its default active volume, else its largest active one. */
export function defaultDiskGb(s: WireSize): number | undefined {
  const active = s.available_volumes.filter((v) => v.is_active !== false);
  return (active.find((v) => v.is_default) ?? [...active].sort((a, b) => b.disk_gb - a.disk_gb)[0])?.disk_gb;
}

export function toInstanceType(s: WireSize, price: Price, regions: string[]): InstanceType {
  const disk = defaultDiskGb(s);
  return {
    provider: PROVIDER,
    id: s.slug,
    name: s.name,
    gpu: null, // the size schema has no GPU fields (providers.md §1.3): CPU VPS sizes
    vcpus: s.vcpu,
    memory_gib: round2(s.ram_mb / 1024),
    // ONET's `disk_gb` is taken as GiB: the docs do not say which.
    ...(disk !== undefined ? { disk_gib: disk } : {}),
    price,
    regions,
    // Not buyable by the hour: compute-mcp cannot create it (no prepaid cycle is ever bought).
    ...(hourlyOption(s) ? {} : { available: false }),
  };
}

/** The public IPv4: the `ip_addresses` entry marked primary (`primary_ipv4` itself holds that entry's UUID). */
export function publicIpv4(w: Pick<WireInstance, 'ip_addresses' | 'primary_ipv4'>): string | undefined {
  const v4 = w.ip_addresses.filter((a) => a.ip_type === 'ipv4');
  return (
    v4.find((a) => a.is_primary)?.address ??
    v4.find((a) => a.id === w.primary_ipv4)?.address ??
    v4.find((a) => !isPrivate(a.address))?.address
  );
}

const isPrivate = (ip: string) => /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(ip);

export function privateIpv4(w: Pick<WireInstance, 'ip_addresses'>): string | undefined {
  return w.ip_addresses.find((a) => a.ip_type === 'ipv4' && !a.is_primary && isPrivate(a.address))?.address;
}

/** When billing ends, if the cloud has set an end that is still ahead (a cancellation takes effect then). */
export function billingEnd(w: Pick<WireInstance, 'billing_end_date'>, now: number): string | undefined {
  if (!w.billing_end_date) return undefined;
  const at = Date.parse(w.billing_end_date);
  return Number.isFinite(at) && at > now ? w.billing_end_date : undefined;
}

export function toInstance(w: WireInstance, price: Price, now: number): Instance {
  const ip = publicIpv4(w);
  const priv = privateIpv4(w);
  const ends = billingEnd(w, now);
  return {
    provider: PROVIDER,
    id: w.id,
    name: w.name,
    status: toStatus(w.status, w.state_sync?.vm_status),
    provider_status: providerStatus(w),
    instance_type: w.size.slug,
    region: w.location.slug,
    gpu: null,
    ...(ip ? { public_ip: ip, ssh: `ssh ${SSH_USER}@${ip}` } : {}),
    ...(priv ? { private_ip: priv } : {}),
    ...(w.created ? { created_at: w.created } : {}),
    price_usd_per_hour: price.usd_per_hour,
    ...(ends ? { billing_ends_at: ends } : {}),
  };
}

const SNAPSHOT_STATUS: Record<string, Snapshot['status']> = {
  pending: 'creating',
  creating: 'creating',
  available: 'available',
  deleting: 'deleting',
  error: 'error',
};

export function toSnapshot(w: WireSnapshot, instanceId?: string): Snapshot {
  const of = w.instance_id ?? instanceId;
  return {
    provider: PROVIDER,
    id: w.id,
    name: w.name,
    status: SNAPSHOT_STATUS[w.status] ?? 'unknown',
    provider_status: w.status,
    ...(of ? { instance_id: of } : {}),
    ...(w.created ? { created_at: w.created } : {}),
    ...(typeof w.size_gb === 'number' ? { size_gib: w.size_gb } : {}),
  };
}

export function toImage(w: WireImage): Image {
  const os = [w.os_name, w.os_version].filter(Boolean).join(' ');
  return { provider: PROVIDER, id: w.slug, name: w.name, kind: 'image', ...(os ? { os } : {}) };
}

/** A hostname from the VM's name: the toolkit's one rule. */
export { hostnameOf as toHostname } from '../toolkit.js';
