/** Pure k0rdent ⇄ domain translation. No I/O. */
import { createHash, randomBytes } from 'node:crypto';
import type { CloudErrorBody } from '../../http/client.js';
import type { Gpu, Image, Instance, InstanceStatus, InstanceType, Price } from '../../domain/model.js';
import type { PriceTable } from '../cloud.js';
import {
  EnvelopeErrorBody,
  ID_MAX,
  RpcErrorBody,
  SSH_USER,
  Uri,
  type WireGpu,
  type WireImage,
  type WireInstance,
  type WireInstanceType,
  type WireNic,
} from './wire.js';

export const PROVIDER = 'k0rdent';

/**
 * `lifecycle.status` → domain status (providers.md §6.1). Only PROVISIONING is documented; the rest are the
 * ASSUMPTIONs of wire.ts `WireLifecycle`. Anything else is `unknown` (the raw value is kept in provider_status).
 */
const STATUS: Record<string, InstanceStatus> = {
  PROVISIONING: 'pending',
  RUNNING: 'running',
  STOPPING: 'stopping',
  STOPPED: 'paused',
  STARTING: 'starting',
  DELETING: 'terminating',
  FAILED: 'error',
};
export const toStatus = (raw: string): InstanceStatus => STATUS[raw] ?? 'unknown';

// ---- errors -----------------------------------------------------------------------------------------------------

/** Google RPC canonical codes (the `{error:{code:int}}` style of seed 001), by number. */
const RPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];
/** The same names for an HTTP status in `code` (Google APIs put the HTTP status there). */
const HTTP_CODES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The string code of an integer one: a gRPC code (0–16), an HTTP status, else the number as text. */
export function codeName(code: number): string {
  return RPC_CODES[code] ?? HTTP_CODES[code] ?? String(code);
}

/** Reads both documented error bodies: seed 001's `{error:{code:int,…}}` and the common envelope's string code. */
export function parseError(body: unknown): CloudErrorBody {
  const rpc = RpcErrorBody.safeParse(body);
  if (rpc.success)
    return {
      code: codeName(rpc.data.error.code),
      ...(rpc.data.error.message ? { message: rpc.data.error.message } : {}),
    };
  const env = EnvelopeErrorBody.safeParse(body);
  if (env.success)
    return { code: env.data.error.code, ...(env.data.error.message ? { message: env.data.error.message } : {}) };
  return {};
}

// ---- prices, GPUs, types ----------------------------------------------------------------------------------------

/** Prices are not in the API: the config's (or the emulator's demo table), by type name; else unknown. */
export function priceOf(table: PriceTable, typeName: string): Price {
  const p = table[typeName];
  return p ? { usd_per_hour: p.usd_per_hour, source: p.source } : { usd_per_hour: null, source: null };
}

/** One GPU entry per VM in the domain: the first model listed, with the count of every entry of that model. */
export function toGpu(gpus: readonly WireGpu[] | null | undefined): Gpu | null {
  const list = (gpus ?? []).filter((g) => g.count > 0);
  if (!list.length) return null;
  const name = Uri.name(list[0]!.type);
  if (!name) return null;
  const count = list.filter((g) => Uri.name(g.type) === name).reduce((n, g) => n + g.count, 0);
  return { ...gpuModel(name), count };
}

/**
 * A GPU type's name ("nvidia-h100-80gb") as the domain names models on every cloud ("H100", 80 GiB), so a search for
 * "h100" finds them all alike. ASSUMPTION: names are vendor-model[-<n>gb].
 */
export function gpuModel(name: string): { model: string; memory_gib?: number } {
  const parts = name.toLowerCase().split('-').filter(Boolean);
  if (['nvidia', 'amd', 'intel'].includes(parts[0] ?? '') && parts.length > 1) parts.shift();
  const mem = /^(\d+)gb$/.exec(parts[parts.length - 1] ?? '');
  if (mem && parts.length > 1) parts.pop();
  return { model: parts.join('-').toUpperCase(), ...(mem ? { memory_gib: Number(mem[1]) } : {}) };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function toInstanceType(w: WireInstanceType, price: Price, region: string): InstanceType {
  return {
    provider: PROVIDER,
    id: w.id,
    name: w.displayName || w.id,
    gpu: toGpu(w.gpus),
    vcpus: w.vcpus,
    // `memoryGb` is taken as GiB: the (assumed) field does not say which.
    memory_gib: round2(w.memoryGb),
    price,
    regions: [region],
  };
}

export function toImage(w: WireImage, region: string): Image {
  return {
    provider: PROVIDER,
    id: w.id,
    name: w.displayName || w.id,
    kind: 'image',
    regions: [region],
    ...(w.os ? { os: w.os } : {}),
  };
}

// ---- addresses --------------------------------------------------------------------------------------------------

const PRIVATE_V4 =
  /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.|127\.|169\.254\.)/;
export const isPrivateV4 = (ip: string) => PRIVATE_V4.test(ip);

export interface AddressChoice {
  public_ip?: string;
  private_ip?: string;
  /** The address the SSH command uses. */
  ssh_ip?: string;
  /** Which address was chosen and why (k0rdent marks no address public). */
  why: string;
}

/**
 * k0rdent's NICs carry addresses but say nothing about which one is reachable from outside (seed 001): the first
 * IPv4 outside the private, shared and link-local ranges is taken as public; with none, the first private one is
 * used for SSH (reachable only from the same network), and the note says so.
 */
export function chooseAddress(nics: readonly WireNic[] | null | undefined): AddressChoice {
  const v4 = (nics ?? []).flatMap((n, i) => (n.ipv4Address ? [{ ip: n.ipv4Address, nic: i }] : []));
  const pub = v4.find((a) => !isPrivateV4(a.ip));
  const priv = v4.find((a) => isPrivateV4(a.ip));
  if (pub)
    return {
      public_ip: pub.ip,
      ...(priv ? { private_ip: priv.ip } : {}),
      ssh_ip: pub.ip,
      why: `k0rdent marks no address public; ${pub.ip} (NIC ${pub.nic}) was chosen as the first IPv4 address outside the private ranges`,
    };
  if (priv)
    return {
      private_ip: priv.ip,
      ssh_ip: priv.ip,
      why: `k0rdent marks no address public and every IPv4 address of this VM is private; ${priv.ip} (NIC ${priv.nic}) is reachable only from its network (a VPN or a bastion)`,
    };
  return { why: 'the VM has no IPv4 address yet' };
}

export const sshCommand = (ip: string) => `ssh ${SSH_USER}@${ip}`;

// ---- instances --------------------------------------------------------------------------------------------------

export interface InstanceContext {
  price: Price;
  /** The GPUs of the instance's type, when the catalog is known (`undefined`: unknown). */
  typeGpu: Gpu | null | undefined;
}

export function toInstance(w: WireInstance, ctx: InstanceContext): Instance {
  const place = Uri.place(w.type);
  const addr = chooseAddress(w.nics);
  // The instance's own gpus[] may be empty (seed 001 lists it as optional): its type's GPUs count then.
  const own = toGpu(w.gpus);
  const gpu = own ?? ctx.typeGpu;
  return {
    provider: PROVIDER,
    id: w.id,
    name: w.displayName || w.id,
    status: toStatus(w.lifecycle.status),
    provider_status: w.lifecycle.status,
    instance_type: Uri.name(w.type),
    ...(place.region ? { region: place.region } : {}),
    ...(gpu !== undefined ? { gpu } : {}),
    ...(addr.public_ip ? { public_ip: addr.public_ip } : {}),
    ...(addr.private_ip ? { private_ip: addr.private_ip } : {}),
    ...(addr.ssh_ip ? { ssh: sshCommand(addr.ssh_ip) } : {}),
    ...(w.createdAt ? { created_at: w.createdAt } : {}),
    price_usd_per_hour: ctx.price.usd_per_hour,
  };
}

// ---- ids, keys, metadata ----------------------------------------------------------------------------------------

const SUFFIX = 10;

/** The digest of an idempotency key, as it is stored in the key label (hex, 32 characters). */
export const keyDigest = (key: string) => createHash('sha256').update(`compute-mcp\n${key}`).digest('hex').slice(0, 32);

/**
 * The client-chosen instance id: the name made a valid id, then a suffix that is stable for a key (the same key and
 * name give the same id, so a repeated create meets a 409 instead of making a second VM) and random without one.
 */
export function instanceId(name: string, key?: string): string {
  const suffix = key
    ? createHash('sha256').update(`${key}\n${name}`).digest('hex').slice(0, SUFFIX)
    : randomBytes(SUFFIX / 2).toString('hex');
  let base = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, ID_MAX - SUFFIX - 1)
    .replace(/-+$/, '');
  if (!base) base = 'vm';
  return `${base}-${suffix}`;
}

/** A hostname (RFC 1035 label) from a free-form name. */
export function toHostname(name: string): string {
  const h = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return h || 'vm';
}

/** One `ssh-keys` metadata line in GCE format, `user:type base64 comment` (seed 001); the user as comment if none. */
export function sshKeyLine(publicKey: string, user = SSH_USER): string {
  const [type, body, ...comment] = publicKey.trim().split(/\s+/);
  return `${user}:${type} ${body} ${comment.length ? comment.join(' ') : user}`;
}
