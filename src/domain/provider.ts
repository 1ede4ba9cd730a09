/**
 * The one interface every cloud adapter implements. Tools are written against it, never against a cloud.
 * What a cloud cannot do is declared in `capabilities` (`{unsupported: why, and what to do instead}`) and the optional
 * method is left out; tools reach optional methods through `need()` (providers/toolkit.ts), which answers UNSUPPORTED
 * with that sentence.
 */
import { ComputeError } from './errors.js';
import type {
  Capabilities,
  Console,
  CreatePlan,
  CreateRequest,
  Image,
  Instance,
  InstanceType,
  Page,
  PowerResult,
  ProviderId,
  Snapshot,
} from './model.js';

export interface CallOptions {
  signal?: AbortSignal;
}

/** What the gate tells an adapter when it plans a create, besides the request itself. */
export interface PlanOptions extends CallOptions {
  /** The create's idempotency key, for clouds that label the VM with it (see findByIdempotencyKey). */
  idempotencyKey?: string;
  /** The hours the VM is planned for (the call's lifetime_hours, else the policy's maximum), for clouds that end VMs on time. */
  lifetimeHours?: number;
}

export interface ListOptions extends CallOptions {
  /** The cloud's own opaque cursor, as returned in `next_cursor`. */
  cursor?: string;
  limit?: number;
}

/** What one kind of id looks like on a cloud, and the sentence an agent reads when an id does not fit. */
export interface IdFormat {
  pattern: RegExp;
  /** What the ids look like and where to get them, e.g. "instance ids are UUIDs; get them from list_instances". */
  describe: string;
}

/** The kinds of ids tools take. A cloud without snapshots declares no snapshot format. */
export interface IdFormats {
  instance: IdFormat;
  snapshot?: IdFormat;
}
export type IdKind = keyof IdFormats;

export interface Provider {
  readonly id: ProviderId;
  readonly displayName: string;
  readonly capabilities: Capabilities;
  /**
   * Why this server never resumes this VM (e.g. a cloud that suspends VMs for an unpaid bill, where reactivating charges
   * it), or undefined. Checked before a human is asked: such a VM answers `unsupported` with the sentence.
   */
  resumeRefusal?(instance: Instance): string | undefined;
  /** Set when taking a snapshot may be billed (e.g. an addon): what the human must know. Such a snapshot needs a yes. */
  readonly snapshotSpends?: string;
  /** The documented form of this cloud's ids; tools check every id against it before any request (tools/common.ts). */
  readonly ids: IdFormats;
  /**
   * Set by clouds that end a VM themselves when its lifetime is over (the create carries the lifetime): a lease there
   * is the cloud's to keep (the sweep only checks); `setLifetime` moves the end when a lease is extended.
   */
  readonly endsOnTime?: true;
  setLifetime?(id: string, endsAt: Date, opts?: CallOptions): Promise<void>;

  listInstanceTypes(opts?: CallOptions & { region?: string }): Promise<InstanceType[]>;
  /** Optional, like pause/resume/snapshot: a cloud that cannot declares it unsupported in `capabilities` and leaves it out. */
  listImages?(opts?: CallOptions & { region?: string }): Promise<Image[]>;
  listInstances(opts?: ListOptions): Promise<Page<Instance>>;
  /** Throws NOT_FOUND when the instance does not exist (or is gone). */
  getInstance(id: string, opts?: CallOptions): Promise<Instance>;

  /** Resolves a create (region, image, price) and the exact request, without sending anything that costs money. */
  planCreate(req: CreateRequest, opts?: PlanOptions): Promise<CreatePlan>;
  /**
   * For clouds that can label or tag a VM: the VM a create with this idempotency key made, if any. The adapter puts
   * the key on the VM at create (`planCreate` is given it). Clouds without labels leave this out (neither built cloud
   * can label a VM today); the gate then matches by name, type, region and creation time.
   */
  findByIdempotencyKey?(key: string, opts?: CallOptions): Promise<Instance | undefined>;
  /** Sends the create. Never retried blindly: a failed create is reported, not re-sent. */
  create(plan: CreatePlan, opts?: CallOptions): Promise<Instance>;
  /** Deletes; resolves `{ already_gone: true }` when the cloud says it no longer exists. */
  delete(id: string, opts?: CallOptions): Promise<{ already_gone: boolean; billing_ends_at?: string }>;

  /** One result per id, in the order given. */
  pause?(ids: string[], opts?: CallOptions): Promise<PowerResult[]>;
  resume?(ids: string[], opts?: CallOptions): Promise<PowerResult[]>;

  snapshot?(id: string, name: string, opts?: CallOptions): Promise<Snapshot>;
  listSnapshots?(opts?: CallOptions & { instanceId?: string }): Promise<Snapshot[]>;
  getConsole(id: string, opts?: CallOptions): Promise<{ console: Console; note?: string }>;
}

export const MAX_ID_LENGTH = 200;
const URL_SYNTAX: Record<string, string> = {
  '/': 'a slash',
  '\\': 'a backslash',
  '%': 'a percent sign',
  '?': 'a question mark',
  '#': 'a hash sign',
};

/**
 * Why `id` cannot be any cloud's id, or undefined. Ids end up in URL paths, and fetch resolves `.`/`..` segments and
 * reads `/ \ % ? #` as structure, so an id like ".." would move the request to another endpoint. Printable ASCII only:
 * no cloud documents anything else, and it keeps look-alike and control characters out of logs and answers.
 */
export function unsafeIdReason(id: string): string | undefined {
  if (id.length === 0) return 'it is empty';
  if (id.length > MAX_ID_LENGTH) return `it is longer than ${MAX_ID_LENGTH} characters`;
  if (id === '.' || id === '..') return 'it is a path dot segment';
  const reserved = /[/\\%?#]/.exec(id);
  if (reserved) return `it contains ${URL_SYNTAX[reserved[0]]}`;
  if (/[\s\p{Cc}]/u.test(id)) return 'it contains whitespace or a control character';
  if (/[^\x21-\x7e]/.test(id)) return 'it contains a character outside printable ASCII';
  return undefined;
}

/**
 * An id as one URL path segment: the adapters' second line of defence behind the tools' checks. encodeURIComponent
 * leaves `.` alone, so a whole segment of `.` or `..` (or nothing) is refused rather than sent.
 */
export function pathSegment(provider: ProviderId, id: string): string {
  if (id === '' || id === '.' || id === '..')
    throw new ComputeError('INVALID_INPUT', `${JSON.stringify(id)} is not an id`, {
      provider,
      hint: 'Pass an id as returned by list_instances or list_snapshots.',
    });
  return encodeURIComponent(id);
}
