/**
 * What every cloud adapter needs and would otherwise write again: SSH key resolution, a delete that treats "gone" as
 * done, batch power with one rule for "already there", a short-lived cache, and the refusals an unsupported
 * capability answers with. Adapters keep only what is their cloud's own: paths, wire shapes, mapping.
 */
import { createHash } from 'node:crypto';
import { ComputeError, isComputeError } from '../domain/errors.js';
import {
  isUnsupported,
  type Capability,
  type CapabilityName,
  type InstanceStatus,
  type PowerResult,
  type ProviderId,
} from '../domain/model.js';
import type { CallOptions, IdFormats, Provider } from '../domain/provider.js';
import { MAX_PAGES } from '../domain/paging.js';

/** An SSH public key in OpenSSH form ("type base64 [comment]"). */
export const SSH_PUBLIC_KEY =
  /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+=*( .*)?$/;

/** A hostname (an RFC 1035 label, at most 63 characters) from a free-form VM name. */
export function hostnameOf(name: string): string {
  const h = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return h || 'vm';
}

/** A stable name for a key this server registers, so the same key is recognised in the account later. */
export const sshKeyName = (value: string) =>
  `compute-mcp-${createHash('sha256').update(value.trim()).digest('hex').slice(0, 12)}`;

export interface SshKeyPlan {
  /** The cloud's key ids to put on the VM (a placeholder when the key is registered at create). */
  ids: string[];
  /** Register this key just before the create (it is new to the cloud). */
  registerKey?: string;
  steps: string[];
}

/**
 * The SSH keys of a create: the agent's key (its id when the cloud knows it already, else registered at create), or
 * every key the account has. Refused when there is none: a VM nobody can reach still bills.
 */
export async function resolveSshKeys(opts: {
  cloud: string;
  provider: string;
  publicKey?: string;
  list: () => Promise<{ id: string; value: string }[]>;
  /** The request that registers a key, for the plan's preparatory steps ("POST /v2/ssh-keys"). */
  registerCall: string;
  /** "account", "project": where the cloud keeps keys. */
  scope: string;
}): Promise<SshKeyPlan> {
  const keys = await opts.list();
  if (opts.publicKey) {
    const key = opts.publicKey.trim();
    const existing = keys.find((k) => k.value.trim() === key);
    if (existing) return { ids: [existing.id], steps: [] };
    return {
      ids: ['<id of the key registered in the step before>'],
      registerKey: key,
      steps: [`${opts.registerCall} registers the SSH public key as ${sshKeyName(key)}`],
    };
  }
  if (keys.length === 0)
    throw new ComputeError('INVALID_INPUT', `${opts.cloud} needs an SSH key and the ${opts.scope} has none`, {
      provider: opts.provider,
      hint: 'Pass ssh_public_key (the text of your ~/.ssh/id_ed25519.pub).',
    });
  return { ids: keys.map((k) => k.id), steps: [`uses the ${keys.length} SSH key(s) already in the ${opts.scope}`] };
}

/** Runs a delete; the cloud saying the VM does not exist means it is already gone, which is what was wanted. */
export async function deleteIgnoringGone(send: () => Promise<unknown>): Promise<{ already_gone: boolean }> {
  try {
    await send();
    return { already_gone: false };
  } catch (e) {
    if (isComputeError(e) && e.code === 'NOT_FOUND') return { already_gone: true };
    throw e;
  }
}

/** The one rule for "already there": a VM on its way to the target state counts as there (no second action). */
export const ALREADY: Record<'pause' | 'resume', InstanceStatus[]> = {
  pause: ['paused', 'stopping'],
  resume: ['running', 'starting', 'pending'],
};

/** What checking one target found: an answer already, or a go (with whatever the cloud needs to act on it). */
export type PowerCheck<T> = { done: PowerResult } | { go: T };

/**
 * Batch pause/resume in two phases: every id checked first (exists, not already there, allowed now), so one bad id
 * leaves no half-done batch; then `send` acts on the ids that may go (one call per id, or one batch call) and answers
 * for each. Results come back one per id, in the order asked.
 */
export async function batchPower<T>(opts: {
  ids: string[];
  kind: 'pause' | 'resume';
  /**
   * Reads one target: its status now, and anything `send` needs. `refuse` says why it cannot be done now (`failed`),
   * or, with `refuseAs: 'unsupported'`, why this server never does it for that VM. A ComputeError fails that id only.
   */
  check: (
    id: string,
  ) => Promise<{ status: InstanceStatus; refuse?: string; refuseAs?: 'failed' | 'unsupported'; data: T }>;
  send: (go: { id: string; data: T }[]) => Promise<Map<string, PowerResult>>;
}): Promise<PowerResult[]> {
  const already = opts.kind === 'pause' ? 'already_paused' : 'already_running';
  const checked = await Promise.all(
    opts.ids.map(async (id): Promise<PowerCheck<T>> => {
      try {
        const c = await opts.check(id);
        if (ALREADY[opts.kind].includes(c.status)) return { done: { id, result: already, status: c.status } };
        if (c.refuse) return { done: { id, result: c.refuseAs ?? 'failed', status: c.status, message: c.refuse } };
        return { go: c.data };
      } catch (e) {
        if (isComputeError(e)) return { done: { id, result: 'failed', message: e.toText() } };
        throw e;
      }
    }),
  );
  const go = opts.ids.flatMap((id, i) => {
    const c = checked[i]!;
    return 'go' in c ? [{ id, data: c.go }] : [];
  });
  const sent = go.length ? await opts.send(go) : new Map<string, PowerResult>();
  return opts.ids.map((id, i) => {
    const c = checked[i]!;
    if ('done' in c) return c.done;
    return (
      sent.get(id) ?? {
        id,
        result: 'failed',
        message: 'the cloud gave no answer for this id; check it with get_instance',
      }
    );
  });
}

/**
 * `batchPower`'s send for clouds that act on one VM per request: each id through `act`, in parallel; a ComputeError
 * fails that id only.
 */
export function eachId(act: (id: string) => Promise<PowerResult>) {
  return async (go: { id: string }[]): Promise<Map<string, PowerResult>> =>
    new Map(
      await Promise.all(
        go.map(async ({ id }) => {
          try {
            return [id, await act(id)] as const;
          } catch (e) {
            if (isComputeError(e)) return [id, { id, result: 'failed' as const, message: e.toText() }] as const;
            throw e;
          }
        }),
      ),
    );
}

type StartStop = 'start' | 'stop';

/**
 * `pause` (stop) and `resume` (start) for clouds that act on one VM per request: `check` reads a VM's status (and why
 * the action cannot be done now), `act` sends it for one VM and may answer nothing (accepted: stopping or starting).
 * The "already there" rule and the per-id failures are batchPower's and eachId's.
 */
export function startStop(ops: {
  check: (
    id: string,
    action: StartStop,
    opts?: CallOptions,
  ) => Promise<{ status: InstanceStatus; refuse?: string; refuseAs?: 'failed' | 'unsupported' }>;
  act: (id: string, action: StartStop, opts?: CallOptions) => Promise<PowerResult | void>;
}): Required<Pick<Provider, 'pause' | 'resume'>> {
  const run = (ids: string[], action: StartStop, opts?: CallOptions) =>
    batchPower({
      ids,
      kind: action === 'stop' ? 'pause' : 'resume',
      check: async (id) => ({ ...(await ops.check(id, action, opts)), data: undefined }),
      send: eachId(async (id) => (await ops.act(id, action, opts)) ?? accepted(id, action)),
    });
  return { pause: (ids, opts) => run(ids, 'stop', opts), resume: (ids, opts) => run(ids, 'start', opts) };
}

const accepted = (id: string, action: StartStop): PowerResult =>
  action === 'stop' ? { id, result: 'paused', status: 'stopping' } : { id, result: 'resumed', status: 'starting' };

/** Id formats for a cloud whose instance and snapshot ids are UUIDs. */
export function uuidIds(cloud: string): IdFormats {
  const pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  return {
    instance: { pattern, describe: `${cloud} instance ids are UUIDs; get them from list_instances.` },
    snapshot: { pattern, describe: `${cloud} snapshot ids are UUIDs; get them from list_snapshots.` },
  };
}

/** A page number or offset handed out as next_cursor, read back; one that is not ours is refused with a sentence. */
export function numericCursor(provider: string, cursor: string | undefined, first: number): number {
  const n = cursor ? Number(cursor) : first;
  if (!Number.isInteger(n) || n < first)
    throw new ComputeError('INVALID_INPUT', `bad cursor ${JSON.stringify(cursor)}`, {
      provider,
      hint: 'Pass back next_cursor exactly as returned, or omit it.',
    });
  return n;
}

/**
 * Where to create: the wanted region when it has capacity, else refused saying where there is; without one, the first
 * offer in the cloud's order of preference (e.g. cheapest). `offers` are those with capacity (or capacity unknown).
 */
export function chooseOffer<T extends { region: string }>(opts: {
  provider: string;
  type: string;
  wanted?: string;
  offers: T[];
}): T {
  const { provider, type, wanted, offers } = opts;
  const elsewhere = offers.length
    ? `Regions with capacity for ${type} now: ${[...new Set(offers.map((o) => o.region))].join(', ')}.`
    : 'No region has capacity for it now; pick another type from list_instance_types.';
  if (wanted) {
    const offer = offers.find((o) => o.region === wanted);
    if (offer) return offer;
    throw new ComputeError('CAPACITY', `${type} is not available in ${wanted}`, { provider, hint: elsewhere });
  }
  const first = offers[0];
  if (!first)
    throw new ComputeError('CAPACITY', `${type} is not available in any region`, {
      provider,
      hint: 'Pick another type from list_instance_types.',
    });
  return first;
}

/**
 * Every page of a listing with numbered pages whose first answer says how many pages there are (from its total count):
 * the first page, then all the others at once, so a listing of any length costs two round trips, not one per page.
 * `pages` is that count as the first answer gives it; `next` is the page after this one, if the cloud says there is
 * one. Should the listing have grown meanwhile (the last page read still has a `next`), the rest is followed page by
 * page. Bounded by MAX_PAGES like collectPages, so a misbehaving API cannot make it loop or fan out without end.
 */
export async function numberedPages<T>(
  provider: ProviderId,
  first: number,
  fetchPage: (page: number) => Promise<{ items: T[]; next?: number; pages?: number }>,
): Promise<T[]> {
  const tooMany = () =>
    new ComputeError('PROVIDER_BAD_RESPONSE', `more than ${MAX_PAGES} pages in one listing`, {
      provider,
      hint: 'Narrow the request (filter by provider or id).',
    });
  const head = await fetchPage(first);
  if (head.next === undefined) return head.items;
  const count = Math.max(2, Math.floor(head.pages ?? 1));
  if (count > MAX_PAGES) throw tooMany();
  const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => fetchPage(first + 1 + i)));
  const out = [head, ...rest].flatMap((p) => p.items);
  let next = rest.at(-1)!.next;
  for (let read = count; next !== undefined; read++) {
    if (read >= MAX_PAGES) throw tooMany();
    const page = await fetchPage(next);
    out.push(...page.items);
    next = page.next;
  }
  return out;
}

/**
 * One value, loaded when missing or older than `ttlMs` (counted from when its load ended); callers meanwhile share
 * the one load under way, never a second. The callers are of any session, so the load must not be given any one
 * caller's signal (that caller's cancellation would fail the others' wait): `load` runs bounded by the HTTP client's
 * timeouts only, and each caller stops waiting when its own `signal` fires.
 */
export class TtlCache<T> {
  private entry?: { at?: number; value: Promise<T> };

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(load: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const e = this.entry;
    if (!e || (e.at !== undefined && this.now() - e.at >= this.ttlMs)) {
      const entry: { at?: number; value: Promise<T> } = { value: load() };
      this.entry = entry;
      entry.value.then(
        () => (entry.at = this.now()),
        // A failed load is not kept: the next call tries again.
        () => {
          if (this.entry === entry) this.entry = undefined;
        },
      );
    }
    const value = this.entry!.value;
    return signal ? untilAborted(value, signal) : value;
  }
}

/** `p`, or CANCELLED as soon as `signal` fires (what `p` stands for goes on for whoever else waits for it). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  const cancelled = () => new ComputeError('CANCELLED', 'The request was cancelled');
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * An optional operation of an adapter, when its capability allows it; otherwise the refusal derived from the
 * capability's own sentence (nothing is sent). Adapters write no stubs for what they cannot do.
 */
export function need<F extends (...args: never[]) => unknown>(
  p: Provider,
  cap: CapabilityName,
  what: string,
  op: F | undefined,
): F {
  const c: Capability = p.capabilities[cap];
  if (!op || isUnsupported(c)) {
    const why = isUnsupported(c) ? c.unsupported : 'this version has no way to do it';
    throw new ComputeError('UNSUPPORTED', `${p.displayName} cannot ${what}: ${why}`, { provider: p.id });
  }
  return op.bind(p) as F;
}
