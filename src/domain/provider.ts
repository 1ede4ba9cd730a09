/**
 * The one interface every cloud adapter implements. Tools are written against it, never against a cloud.
 * What a cloud cannot do is declared in `capabilities` as a sentence; the matching method then throws
 * `ComputeError('UNSUPPORTED')` with that sentence.
 */
import type {
  Capabilities, Console, CreatePlan, CreateRequest, Image, Instance, InstanceType, Page, PowerResult,
  ProviderId, Snapshot,
} from './model.js';

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ListOptions extends CallOptions {
  /** The cloud's own opaque cursor, as returned in `next_cursor`. */
  cursor?: string;
  limit?: number;
}

export interface Provider {
  readonly id: ProviderId;
  readonly displayName: string;
  readonly capabilities: Capabilities;

  listInstanceTypes(opts?: CallOptions & { region?: string }): Promise<InstanceType[]>;
  listImages(opts?: CallOptions & { region?: string }): Promise<Image[]>;
  listInstances(opts?: ListOptions): Promise<Page<Instance>>;
  /** Throws NOT_FOUND when the instance does not exist (or is gone). */
  getInstance(id: string, opts?: CallOptions): Promise<Instance>;

  /** Resolves a create (region, image, price) and the exact request, without sending anything that costs money. */
  planCreate(req: CreateRequest, opts?: CallOptions): Promise<CreatePlan>;
  /** Sends the create. Never retried blindly: a failed create is reported, not re-sent. */
  create(plan: CreatePlan, opts?: CallOptions): Promise<Instance>;
  /** Deletes; resolves `{ already_gone: true }` when the cloud says it no longer exists. */
  delete(id: string, opts?: CallOptions): Promise<{ already_gone: boolean }>;

  /** One result per id, in the order given. */
  pause(ids: string[], opts?: CallOptions): Promise<PowerResult[]>;
  resume(ids: string[], opts?: CallOptions): Promise<PowerResult[]>;

  snapshot(id: string, name: string, opts?: CallOptions): Promise<Snapshot>;
  listSnapshots(opts?: CallOptions & { instanceId?: string }): Promise<Snapshot[]>;
  getConsole(id: string, opts?: CallOptions): Promise<{ console: Console; note?: string }>;
}
