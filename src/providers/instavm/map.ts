/** Pure InstaVM ⇄ domain translation. No I/O. */
import type { Image, Instance, InstanceStatus, InstanceType, Price, Snapshot } from '../../domain/model.js';
import type { PriceTable } from '../cloud.js';
import { SSH_HOST, type WireSnapshot, type WireVm } from './wire.js';

export const PROVIDER = 'instavm';

/** InstaVM has no region selector (providers.md §5.2): every VM is in one implicit region, named so here. */
export const REGION = 'global';

/** The image a create without a snapshot boots: InstaVM's default base (no `snapshot_id`, no `image_variant`). */
export const DEFAULT_IMAGE = 'default';

/** Metadata keys this server puts on every VM it creates (seed 004: `metadata` is a free object). */
export const META = {
  name: 'compute_mcp_name',
  type: 'compute_mcp_type',
  key: 'compute_mcp_idempotency_key',
} as const;

/** Sizes are free-form (`vcpu_count` 1–8, `memory_mb`); compute-mcp offers this grid of named ones and only these. */
export interface Size {
  id: string;
  vcpu: number;
  memory_mb: number;
}
export const SIZES: readonly Size[] = [
  { id: '1vcpu-1gb', vcpu: 1, memory_mb: 1024 },
  { id: '2vcpu-2gb', vcpu: 2, memory_mb: 2048 },
  { id: '2vcpu-4gb', vcpu: 2, memory_mb: 4096 },
  { id: '4vcpu-8gb', vcpu: 4, memory_mb: 8192 },
  { id: '8vcpu-8gb', vcpu: 8, memory_mb: 8192 },
];

export const sizeById = (id: string) => SIZES.find((s) => s.id === id);

/** The size name of a VM: its grid name when it is one, else `<v>vcpu-<m>mb` (made elsewhere), else the label. */
export function typeOf(w: Pick<WireVm, 'vcpu_count' | 'memory_mb' | 'metadata'>): string {
  if (typeof w.vcpu_count === 'number' && typeof w.memory_mb === 'number') {
    const s = SIZES.find((x) => x.vcpu === w.vcpu_count && x.memory_mb === w.memory_mb);
    return s ? s.id : `${w.vcpu_count}vcpu-${w.memory_mb}mb`;
  }
  const label = w.metadata?.[META.type];
  return typeof label === 'string' ? label : 'unknown';
}

/** Prices are not in InstaVM's API: the configured (or emulator demo) price per size, else unknown. */
export function priceOf(table: PriceTable, type: string): Price {
  const p = table[type];
  return p ? { usd_per_hour: p.usd_per_hour, source: p.source } : { usd_per_hour: null, source: null };
}

const VM_STATUS: Record<string, InstanceStatus> = {
  provisioning: 'pending',
  pending: 'pending',
  creating: 'pending',
  running: 'running',
  active: 'running',
  terminating: 'terminating',
  terminated: 'terminated',
  killed: 'terminated',
  failed: 'error',
};

/** The VM status is NOT DOCUMENTED (see wire.ts `WireVm`): the assumed values map, anything else is `unknown`. */
export const toStatus = (raw: string): InstanceStatus => VM_STATUS[raw] ?? 'unknown';

export const sshCommand = (vmId: string) => `ssh ${vmId}@${SSH_HOST}`;

/** When the cloud ends the VM: its own `expires_at`, else its creation plus its lifetime. */
export function expiresAt(w: Pick<WireVm, 'expires_at' | 'created_at' | 'vm_lifetime_seconds'>): string | undefined {
  if (w.expires_at) return w.expires_at;
  if (!w.created_at || !w.vm_lifetime_seconds) return undefined;
  const at = Date.parse(w.created_at);
  return Number.isFinite(at) ? new Date(at + w.vm_lifetime_seconds * 1000).toISOString() : undefined;
}

export function toInstance(w: WireVm, prices: PriceTable): Instance {
  const type = typeOf(w);
  const name = w.metadata?.[META.name];
  const status = toStatus(w.status);
  const ends = expiresAt(w);
  return {
    provider: PROVIDER,
    id: w.vm_id,
    name: typeof name === 'string' ? name : w.vm_id,
    status,
    provider_status: w.status,
    instance_type: type,
    region: REGION,
    gpu: null, // Firecracker microVMs; no GPU is offered (providers.md §5.1)
    ...(status === 'running' ? { ssh: sshCommand(w.vm_id) } : {}),
    ...(w.created_at ? { created_at: w.created_at } : {}),
    price_usd_per_hour: priceOf(prices, type).usd_per_hour,
    ...(ends ? { expires_at: ends } : {}),
  };
}

export function toInstanceType(s: Size, price: Price): InstanceType {
  return {
    provider: PROVIDER,
    id: s.id,
    name: `${s.vcpu} vCPU, ${s.memory_mb / 1024} GB`,
    gpu: null,
    vcpus: s.vcpu,
    memory_gib: s.memory_mb / 1024,
    price,
    regions: [REGION],
  };
}

const SNAPSHOT_STATUS: Record<string, Snapshot['status']> = {
  pending: 'creating',
  creating: 'creating',
  building: 'creating',
  ready: 'available',
  failed: 'error',
  deleting: 'deleting',
};

export const snapshotId = (w: WireSnapshot): string => (w.snapshot_id ?? w.id)!;

export function toSnapshot(w: WireSnapshot, instanceId?: string): Snapshot {
  const of = w.vm_id ?? instanceId;
  const id = snapshotId(w);
  return {
    provider: PROVIDER,
    id,
    name: w.name ?? id,
    status: SNAPSHOT_STATUS[w.status] ?? 'unknown',
    provider_status: w.status,
    region: REGION,
    ...(of ? { instance_id: of } : {}),
    ...(w.created_at ? { created_at: w.created_at } : {}),
    ...(typeof w.size_bytes === 'number' ? { size_gib: Math.round((w.size_bytes / 2 ** 30) * 100) / 100 } : {}),
  };
}

/** A ready snapshot is what a VM boots from: InstaVM's images. */
export function toImage(w: WireSnapshot): Image {
  const id = snapshotId(w);
  return {
    provider: PROVIDER,
    id,
    name: w.name ?? id,
    kind: 'snapshot',
    regions: [REGION],
    ...(w.oci_image ? { os: w.oci_image } : {}),
  };
}

export const REDACTED = '[redacted]';

/**
 * A create body as it may be shown (dry run, quote, audit, logs): environment values, DNS credentials and vault ids
 * are secrets, replaced by `[redacted]` (their keys stay, so what is set is still visible).
 */
export function redactBody(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  const hide = (o: unknown) =>
    o && typeof o === 'object' ? Object.fromEntries(Object.keys(o).map((k) => [k, REDACTED])) : o;
  if (out.env) out.env = hide(out.env);
  if (Array.isArray(out.vault_ids)) out.vault_ids = out.vault_ids.map(() => REDACTED);
  const domain = out.custom_domain as Record<string, unknown> | null | undefined;
  if (domain && typeof domain === 'object' && domain.dns_credentials)
    out.custom_domain = { ...domain, dns_credentials: hide(domain.dns_credentials) };
  return out;
}
