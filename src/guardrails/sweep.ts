/**
 * The sweep: enforces leases that ran out (guardrails/leases.ts). It acts only on VMs this server created and
 * recorded, never on anything else on the account; it decides on what the cloud says now, and a cloud it cannot read is
 * left alone and tried again on the next sweep (it never deletes on doubt). Each lease is settled under the spend lock,
 * re-read there, so an extension approved meanwhile, or another process's sweep, always wins the race cleanly.
 * Every action is written to the audit log with the lease it enforced.
 */
import type { Logger } from 'pino';
import { ComputeError } from '../domain/errors.js';
import { isUnsupported, type Instance } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import type { AuditEntry } from './audit.js';
import { CLAIM_WINDOW_MS, type Ledger } from './ledger.js';
import type { IdempotencyStore } from './idempotency.js';
import type { Lease, LeaseStore } from './leases.js';
import { findByShape, unit } from './gate.js';
import type { Mutex } from './mutex.js';

/** The note of a lease whose pause was sent but not yet seen: the next sweep confirms it. */
const PAUSE_SENT = 'pause sent, not yet seen';

/** How long after its end a VM the cloud should have ended may still show before the server acts itself. */
export const CLOUD_GRACE_MS = 10 * 60 * 1000;

export interface SweepDeps {
  leases: LeaseStore;
  ledger: Ledger;
  idempotency: IdempotencyStore;
  spendLock: Mutex;
  /** Runs a step's records as one unit of the store (shared.ts). */
  atomic?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** The enabled cloud of that id, if it is enabled in this process. */
  cloud(id: string): Provider | undefined;
  audit: { write(e: AuditEntry): Promise<void> };
  log: Logger;
  /** Say what would be done, and do nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
}

export type SweepResult =
  | 'stopped'
  | 'deleted'
  | 'notified'
  | 'gone'
  | 'already_stopped'
  | 'found'
  | 'lost'
  | 'cannot_stop'
  | 'retry'
  | 'would_stop'
  | 'would_delete'
  | 'would_notify';

export interface SweepAction {
  provider: string;
  instance_id?: string;
  lease: string;
  expires_at: string;
  result: SweepResult;
  message: string;
}

const GONE = new Set<Instance['status']>(['terminated', 'terminating']);
/** A lease that lost its create's answer is looked for this long (its VM may show late, or after an outage). */
const LOST_LOOK_MS = 24 * 60 * 60 * 1000;

/** One sweep over every lease that is due. A sweep with nothing due calls no cloud. */
export async function sweep(deps: SweepDeps): Promise<SweepAction[]> {
  const now = deps.leases.now();
  const due = (await deps.leases.all()).filter(
    (l) =>
      (l.state === 'open' && (!l.instance_id || l.expires_at <= now)) ||
      l.state === 'overdue' ||
      (l.state === 'lost' && now - l.created_at < LOST_LOOK_MS),
  );
  const out: SweepAction[] = [];
  for (const l of due) {
    const action = await deps.spendLock.run(async () => {
      const fresh = await deps.leases.get(l.key);
      if (!fresh || fresh.state === 'done') return undefined;
      if (fresh.state === 'open' && fresh.instance_id && fresh.expires_at > deps.leases.now()) return undefined;
      return settleOne(fresh, deps);
    });
    if (action) out.push(action);
  }
  return out;
}

async function settleOne(l: Lease, deps: SweepDeps): Promise<SweepAction | undefined> {
  const act = (result: SweepResult, message: string, id = l.instance_id): SweepAction => ({
    provider: l.provider,
    ...(id ? { instance_id: id } : {}),
    lease: l.key,
    expires_at: new Date(l.expires_at).toISOString(),
    result,
    message,
  });
  const p = deps.cloud(l.provider);
  if (!p)
    return act(
      'retry',
      `${l.provider} is not enabled in this process; the lease is enforced by the next sweep that has it.`,
    );
  if (!l.instance_id) return findPending(l, p, deps, act);

  let inst: Instance;
  try {
    inst = await p.getInstance(l.instance_id, { signal: deps.signal });
  } catch (e) {
    if (e instanceof ComputeError && e.code === 'NOT_FOUND')
      return record(l, deps, 'done', act('gone', 'The VM no longer exists.'));
    const why = e instanceof ComputeError ? e.message : 'unexpected error';
    return record(
      l,
      deps,
      l.state,
      act('retry', `Could not read the VM (${why}); nothing was done, and the next sweep tries again.`),
    );
  }
  if (GONE.has(inst.status)) return record(l, deps, 'done', act('gone', `The VM is ${inst.status}.`));
  if (l.state === 'overdue') {
    if (inst.status === 'paused') return record(l, deps, 'done', act('already_stopped', 'The VM was paused since.'));
    return undefined; // already said; nothing new to do until it is paused, deleted or extended
  }
  if (l.enforced_by === 'cloud' && deps.leases.now() < l.expires_at + CLOUD_GRACE_MS) return undefined;
  const late = l.enforced_by === 'cloud' ? ' The cloud did not end it at its lifetime, so the server acts.' : '';

  if (l.on_expiry === 'notify') {
    if (deps.dryRun) return act('would_notify', 'The lease ran out; the server would say so.');
    deps.log.warn({ provider: l.provider, instance: l.instance_id, lease: l.key }, 'lease ran out: the VM still bills');
    return record(
      l,
      deps,
      'overdue',
      act('notified', `The lease ran out; the VM still bills until it is paused or deleted.${late}`),
    );
  }
  if (l.on_expiry === 'delete') {
    if (deps.dryRun) return act('would_delete', `The lease ran out; the server would delete the VM.${late}`);
    return enforce(l, deps, act, () =>
      p.delete(inst.id, { signal: deps.signal }).then(async () => {
        await deps.ledger.releaseInstance(p.id, inst.id);
        return act('deleted', `The lease ran out; the VM was deleted.${late}`);
      }),
    );
  }
  // Only `paused` settles a lease: a VM still `stopping` (or one a pause did not stop) is looked at again.
  if (inst.status === 'paused')
    return record(
      l,
      deps,
      'done',
      act('already_stopped', l.note?.startsWith(PAUSE_SENT) ? 'The pause took effect.' : 'The VM was already paused.'),
    );
  if (inst.status === 'stopping') return undefined;
  if (!p.pause || isUnsupported(p.capabilities.pause)) {
    if (deps.dryRun) return act('cannot_stop', `The lease ran out, and ${p.displayName} cannot pause a VM.`);
    const why = isUnsupported(p.capabilities.pause) ? ` ${p.capabilities.pause.unsupported}` : '';
    deps.log.warn(
      { provider: l.provider, instance: l.instance_id, lease: l.key },
      'lease ran out: the cloud cannot pause it',
    );
    return record(
      l,
      deps,
      'overdue',
      act(
        'cannot_stop',
        `The lease ran out, but ${p.displayName} cannot pause a VM: it still bills until deleted or extended.${late}${why}`,
      ),
    );
  }
  if (deps.dryRun) return act('would_stop', `The lease ran out; the server would pause the VM.${late}`);
  return enforce(l, deps, act, async () => {
    const [r] = await p.pause!([inst.id], { signal: deps.signal });
    if (r?.result === 'paused' || r?.result === 'already_paused') {
      await deps.ledger.pausedInstance(p.id, inst.id);
      // Believed when the cloud shows it: until then the lease stays open, and the next sweep looks again.
      const now = await p.getInstance(inst.id, { signal: deps.signal }).catch(() => undefined);
      const message = `The lease ran out; the VM was paused (GPU billing stopped, the disk is kept).${late}`;
      return now?.status === 'paused' ? act('stopped', message) : { ...act('stopped', message), pending: true };
    }
    throw new ComputeError('PROVIDER_ERROR', r?.message ?? `the pause answered ${r?.result ?? 'nothing'}`);
  });
}

/** Runs the action with its audit lines around it; a failure leaves the lease open for the next sweep. */
async function enforce(
  l: Lease,
  deps: SweepDeps,
  act: (r: SweepResult, m: string) => SweepAction,
  action: () => Promise<SweepAction & { pending?: boolean }>,
): Promise<SweepAction> {
  const request = {
    lease: l.key,
    instance_id: l.instance_id,
    expires_at: new Date(l.expires_at).toISOString(),
    on_expiry: l.on_expiry,
  };
  await deps.audit.write({
    tool: 'lease',
    provider: l.provider,
    phase: 'send',
    request,
    how: 'policy',
    reason: 'the lease ran out',
  });
  try {
    const { pending, ...done } = await action();
    deps.log.info(
      { provider: l.provider, instance: l.instance_id, lease: l.key, result: done.result },
      'lease enforced',
    );
    if (pending) return record(l, deps, 'open', { ...done, message: `${PAUSE_SENT}: ${done.message}` });
    return record(l, deps, 'done', done);
  } catch (e) {
    const why = e instanceof ComputeError ? e.message : 'unexpected error';
    await deps.audit.write({
      tool: 'lease',
      provider: l.provider,
      phase: 'cloud',
      request,
      error: { code: e instanceof ComputeError ? e.code : 'INTERNAL', message: why },
    });
    return record(l, deps, 'open', act('retry', `The cloud did not do it (${why}); the next sweep tries again.`));
  }
}

/**
 * A lease whose create has no answer yet: its VM is looked for by its key where the cloud labels VMs, else by name,
 * type, region and creation time among VMs no key, lease or claim of this server stands for. After the claim window
 * it is `lost` (and said so, once), and still looked for, for a day: a VM that shows late gets its lease.
 */
async function findPending(
  l: Lease,
  p: Provider,
  deps: SweepDeps,
  act: (r: SweepResult, m: string, id?: string) => SweepAction,
): Promise<SweepAction | undefined> {
  const rec = await deps.idempotency.get(l.key);
  let id = rec?.status === 'created' ? rec.instance_id : undefined;
  try {
    if (!id && p.findByIdempotencyKey && !l.key.startsWith('create:'))
      id = (await p.findByIdempotencyKey(l.key, { signal: deps.signal }))?.id;
    if (!id && !p.findByIdempotencyKey) id = (await findByShape(p, { ...l, sent_at: l.created_at }, deps))?.id;
  } catch {
    return l.state === 'lost'
      ? undefined
      : act('retry', 'Could not look for the VM of an unanswered create; the next sweep tries again.');
  }
  if (id) {
    if (!deps.dryRun) await deps.leases.settle(l.key, id);
    return act('found', 'Found the VM of a create whose answer was lost; its lease now counts down.', id);
  }
  if (l.state === 'lost' || deps.leases.now() - l.created_at < CLAIM_WINDOW_MS) return undefined;
  return record(
    l,
    deps,
    'lost',
    act(
      'lost',
      'A create whose answer never came: no VM of it was found yet (looked for again for a day). Check the cloud console.',
    ),
  );
}

/** Writes the lease's new state and an audit line (not in a dry run), and returns the action. */
async function record(l: Lease, deps: SweepDeps, state: Lease['state'], a: SweepAction): Promise<SweepAction> {
  if (deps.dryRun) return a;
  await unit(deps, async () => {
    if (state !== l.state || a.result !== 'retry') await deps.leases.mark(l.key, state, a.message);
    await deps.audit.write({
      tool: 'lease',
      provider: l.provider,
      phase: a.result === 'retry' ? 'cloud' : 'result',
      request: { lease: l.key, instance_id: a.instance_id, expires_at: a.expires_at, on_expiry: l.on_expiry },
      ...(a.instance_id ? { instance_id: a.instance_id } : {}),
      status: a.result,
      reason: a.message,
    });
  });
  return a;
}
