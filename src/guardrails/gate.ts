/**
 * The spend gate: everything between "an agent asked for a VM" and "the cloud was called", once, for every cloud.
 * Idempotency replay → plan and quote → policy (deny / allow / confirm) → a human's yes → under the spend lock (one
 * call at a time across every process on the state directory): re-plan, re-price, re-check the limits against the
 * listings plus the ledger → record the key, the claim and the intent → create → record the result.
 * Deletes go through the same confirmation and audit; resumes through resume.ts, on the same rules as a create.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Policy } from '../config.js';
import { ComputeError } from '../domain/errors.js';
import type { CreatePlan, CreateRequest, Instance } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import { collectPages } from '../domain/paging.js';
import { sleep } from '../domain/sleep.js';
import { redactArgs, type AuditEntry } from './audit.js';
import type { ApprovalDesk } from '../approval/desk.js';
import { CARD, confirm, type ConfirmOutcome, type ConfirmRequest, type HumanChannel } from './confirm.js';
import { requestHash, type IdempotencyRecord, type IdempotencyStore } from './idempotency.js';
import type { Ledger } from './ledger.js';
import { leaseHours, type LeaseStore } from './leases.js';
import { currentUsage, needsUsage } from './limits.js';
import type { Mutex } from './mutex.js';
import { decideCreate, decideDelete, type Decision } from './policy.js';
import { makeQuote, quoteSummary, shown, type Quote } from './quote.js';
import type { ConfirmationTokens } from './token.js';

export interface GateDeps {
  policy: Policy;
  tokens: ConfirmationTokens;
  idempotency: IdempotencyStore;
  ledger: Ledger;
  leases: LeaseStore;
  audit: { write(e: AuditEntry): Promise<void> };
  human: HumanChannel;
  /** The approval pages of this process (URL-mode elicitation and confirm.fallback "url"). */
  desk?: ApprovalDesk;
  /** One call at a time in this process and across every process on the state store. */
  spendLock: Mutex;
  /** Runs a step's records as one unit of the store (all or none); absent: one after another. */
  atomic?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Every enabled cloud, for the total limits. */
  clouds: () => Provider[];
  log: Logger;
  signal?: AbortSignal;
  /** After a create whose answer was lost: how often and how far apart to look for the VM it may have made. */
  lostCreateLookup?: { attempts: number; delayMs: number };
}

/** A create as the gate takes it: the request (domain/create.ts, all of it bound and sent) and how to go about it. */
export interface CreateArgs {
  provider: Provider['id'];
  request: CreateRequest;
  lifetime_hours?: number;
  idempotency_key?: string;
  confirmation_token?: string;
  dry_run?: boolean;
}

export type CreateOutcome =
  | {
      status: 'created' | 'existing';
      instance: Instance;
      quote?: Quote;
      approved_by?: 'elicitation' | 'token' | 'url' | 'policy';
      message?: string;
    }
  | { status: 'dry_run'; quote: Quote; summary: string; request: CreatePlan['request']; preparatory_steps: string[] }
  | { status: 'declined'; quote: Quote; summary: string; message: string }
  | (Asked<'confirmation_required'> & { quote: Quote })
  | (Asked<'approval_pending'> & { quote: Quote });

const TOOL = 'create_vm';
const RESERVED_KEY = /^(token|create|resume):/i;
/** How many times a price rise or a changed plan may send the request back to the human within one call. */
const MAX_ASKS = 2;
/** Default look-ups for the VM of a create whose answer was lost: a listing can lag a create by seconds. */
const LOST_CREATE_LOOKUP = { attempts: 4, delayMs: 3_000 };
/**
 * Longer than any create can take (one POST: 5 s to connect, 30 s to answer; a plan's few requests before it). A key
 * left pending for less than this, by a call that has not ended, may be a create still running in a process that lost
 * the spend lock (a database connection that broke, a lock file broken while its holder was stalled): it is not
 * settled, let alone created again, until this has passed.
 */
export const IN_FLIGHT_MS = 3 * 60_000;

export async function guardedCreate(p: Provider, args: CreateArgs, deps: GateDeps): Promise<CreateOutcome> {
  const req = args.request;
  const token = args.confirmation_token;
  // Keys of the server's own making (a token's or an approval's nonce, a random create id) are not the caller's to use:
  // a caller key `token:<nonce>` would take over the records and lease of the create that nonce approves.
  if (args.idempotency_key && RESERVED_KEY.test(args.idempotency_key))
    throw new ComputeError('INVALID_INPUT', 'idempotency_key may not start with "token:", "create:" or "resume:"', {
      provider: p.id,
      hint: 'Choose another key, e.g. a UUID.',
    });
  // What decides what gets created and what it costs: exactly what the adapter gets, and how long and under which key.
  // dry_run and the token change neither.
  const bound = {
    provider: args.provider,
    ...req,
    lifetime_hours: args.lifetime_hours,
    idempotency_key: args.idempotency_key,
  };
  const hash = requestHash({
    tool: TOOL,
    provider: args.provider,
    request: req,
    lifetime_hours: args.lifetime_hours,
    idempotency_key: args.idempotency_key,
  });
  const audited = redactArgs(bound);

  // Outside the lock only a finished create is replayed; an unfinished one is settled under the lock, where no other
  // create is in flight.
  if (args.idempotency_key && !args.dry_run) {
    const rec = await knownKey(p, args.idempotency_key, hash, deps);
    if (rec?.status === 'created') return replayCreated(p, rec, deps);
  }

  // The lease: the hours asked for, else the policy's (guardrails/leases.ts); the cloud's to keep where it ends VMs.
  const lifetimeHours = leaseHours(args.lifetime_hours, deps.policy);
  const plan = await p.planCreate(req, { signal: deps.signal, ...(lifetimeHours ? { lifetimeHours } : {}) });
  let quote = makeQuote(plan, lifetimeHours, leaseThen(p, deps));
  if (args.dry_run)
    return {
      status: 'dry_run',
      quote,
      summary: quoteSummary(quote, req),
      request: plan.request,
      preparatory_steps: plan.preparatory_steps,
    };

  const first = await approve(p, quote, req, token, hash, bound, deps, undefined);
  if ('status' in first) return first;
  let approval: Approval = first;

  for (let asks = 1; ; asks++) {
    const outcome = await deps.spendLock.run(() => createLocked(p, req, args, hash, audited, quote, approval, deps));
    if (!('again' in outcome)) return outcome;
    if (asks >= MAX_ASKS)
      throw new ComputeError('CONFLICT', `the offer keeps changing (${outcome.again}); no VM was created`, {
        provider: p.id,
        hint: 'Call list_instance_types and create_vm again.',
      });
    quote = outcome.quote;
    const next = await approve(
      p,
      quote,
      req,
      undefined,
      hash,
      bound,
      deps,
      `${outcome.again}; nothing was created yet. Ask again:`,
    );
    if ('status' in next) return next;
    approval = next;
  }
}

/** The spending part of a create, run under the spend lock: nothing another call or process does can interleave. */
async function createLocked(
  p: Provider,
  req: CreateRequest,
  args: CreateArgs,
  hash: string,
  audited: Record<string, unknown>,
  quote: Quote,
  approval: Approval,
  deps: GateDeps,
): Promise<CreateOutcome | { again: string; quote: Quote }> {
  // Re-plan and re-price just before spending: the human approved `quote`, not whatever the cloud says now. The plan
  // carries the key, for clouds that label the VM with it.
  const key = args.idempotency_key ?? (approval.nonce ? `token:${approval.nonce}` : undefined);
  const lifetimeHours = quote.lifetime_hours ?? undefined;
  const plan = await p.planCreate(req, {
    signal: deps.signal,
    ...(key ? { idempotencyKey: key } : {}),
    ...(lifetimeHours ? { lifetimeHours } : {}),
  });
  const now = makeQuote(plan, quote.lifetime_hours, leaseThen(p, deps));
  const change = changed(quote, now);
  if (change) return { again: change, quote: now };
  const usage = needsUsage(deps.policy) ? await currentUsage(deps.clouds(), deps.ledger, deps.signal) : undefined;
  const decision = decideCreate(now, deps.policy, usage);
  if (decision.kind === 'deny')
    throw await denied(TOOL, p, decision, deps, { request: audited, quote: now }, 'no VM was created');

  // A key seen before: the same VM, or (after a lost answer) the VM found by looking, or a note that none appeared.
  let note: string | undefined;
  if (args.idempotency_key) {
    const settled = await settleKey(p, args.idempotency_key, hash, deps);
    if (typeof settled === 'object') return settled;
    note = settled;
  }
  const claimKey = key ?? `create:${randomBytes(9).toString('base64url')}`;
  // The key, the claim, the lease and the intent are stored as one unit before the cloud is called: a VM this create
  // makes is never without them, and a store that fails stores none of them and creates nothing.
  const sentAt = deps.leases.now();
  await unit(deps, async () => {
    if (key)
      await deps.idempotency.put({
        key,
        hash,
        provider: p.id,
        status: 'pending',
        name: req.name,
        instance_type: now.instance_type,
        region: now.region,
        at: Date.now(),
      });
    await deps.ledger.claim({
      key: claimKey,
      kind: 'create',
      provider: p.id,
      gpus: now.gpu?.count ?? 0,
      usd_per_hour: now.usd_per_hour,
    });
    if (now.lifetime_hours !== null)
      await deps.leases.open({
        key: claimKey,
        provider: p.id,
        name: req.name,
        instance_type: now.instance_type,
        region: now.region,
        usd_per_hour: now.usd_per_hour,
        created_at: sentAt,
        expires_at: sentAt + now.lifetime_hours * 3_600_000,
        on_expiry: deps.policy.leases.onExpiry,
        enforced_by: p.endsOnTime ? 'cloud' : 'server',
      });
    await deps.audit.write({
      tool: TOOL,
      provider: p.id,
      phase: 'send',
      request: audited,
      quote: now,
      how: approval.how,
    });
  });
  let instance: Instance;
  try {
    instance = await p.create(plan, { signal: deps.signal });
  } catch (e) {
    // A refusal (4xx) made nothing; anything else (5xx, timeout) may have: keep the key pending and the claim counted.
    // Recording the refusal is best effort: left pending, a key is settled by looking before it is used again.
    await recorded(deps, 'the refused create', () =>
      unit(deps, async () => {
        if (e instanceof ComputeError && e.status !== undefined && e.status < 500) {
          if (key) await deps.idempotency.put({ ...(await deps.idempotency.get(key))!, status: 'failed' });
          await deps.ledger.release(claimKey);
          await deps.leases.drop(claimKey);
        } else if (key) await deps.idempotency.put({ ...(await deps.idempotency.get(key))!, ended_at: Date.now() });
        await deps.audit.write({ tool: TOOL, provider: p.id, phase: 'cloud', request: audited, error: errorOf(e) });
      }),
    );
    throw e;
  }
  // The VM exists: a store that fails now must not hide it. What was stored before the create (the pending key, the
  // claim, the lease) still counts it, and a pending key finds it by looking.
  const unrecorded = await recorded(deps, 'the created VM', () =>
    unit(deps, async () => {
      if (key)
        await deps.idempotency.put({
          ...(await deps.idempotency.get(key))!,
          status: 'created',
          instance_id: instance.id,
        });
      await deps.ledger.settle(claimKey, instance.id);
      await deps.leases.settle(claimKey, instance.id);
      await deps.audit.write({
        tool: TOOL,
        provider: p.id,
        phase: 'cloud',
        request: audited,
        quote: now,
        instance_id: instance.id,
        status: instance.status,
      });
    }),
  );
  if (unrecorded) note = note ? `${note} ${unrecorded}` : unrecorded;
  deps.log.info(
    {
      provider: p.id,
      instance: instance.id,
      type: now.instance_type,
      usd_per_hour: now.usd_per_hour,
      approvedBy: approval.how,
    },
    'vm created',
  );
  return { status: 'created', instance, quote: now, approved_by: approval.how, ...(note ? { message: note } : {}) };
}

type Approval = { how: 'elicitation' | 'token' | 'url' | 'policy'; nonce?: string };

/** A step's records as one unit of the store (all or none), where the store has units. */
export const unit = <T>(deps: Pick<GateDeps, 'atomic'>, fn: () => Promise<T>): Promise<T> =>
  deps.atomic ? deps.atomic(fn) : fn();

/**
 * Runs what records a cloud's answer. A store that fails here (the database went away) cannot undo what the cloud
 * did: the failure is logged and returned in words for the caller's answer instead of hiding the VM behind an error.
 */
async function recorded(deps: GateDeps, what: string, fn: () => Promise<void>): Promise<string | undefined> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    deps.log.error({ err }, `the state store could not record ${what}`);
    return `The state store could not record ${what} (${(err as Error).message}); it is counted by what was stored before the cloud was called.`;
  }
}

/** What ends a lease on this cloud: the cloud itself where it ends VMs on time, else the policy's action. */
const leaseThen = (p: Provider, deps: GateDeps) => (p.endsOnTime ? 'cloud_ends' : deps.policy.leases.onExpiry);

/** Writes the refusal to the audit log and returns the error that says which rule and what is allowed instead. */
export async function denied(
  tool: string,
  p: Provider,
  decision: Extract<Decision, { kind: 'deny' }>,
  deps: GateDeps,
  what: Pick<AuditEntry, 'request' | 'quote'>,
  nothing: string,
): Promise<ComputeError> {
  await deps.audit.write({
    tool,
    provider: p.id,
    phase: 'decision',
    ...what,
    decision: 'deny',
    how: 'policy',
    reason: `${decision.rule}: ${decision.reason}`,
  });
  return new ComputeError('POLICY_DENIED', `${decision.reason} (${decision.rule}); ${nothing}`, {
    provider: p.id,
    hint: decision.instead,
  });
}

/** Policy, then (if needed) a human: returns an approval, or the answer to give the agent instead. */
async function approve(
  p: Provider,
  quote: Quote,
  req: CreateRequest,
  token: string | undefined,
  hash: string,
  bound: Record<string, unknown>,
  deps: GateDeps,
  again: string | undefined,
): Promise<Approval | CreateOutcome> {
  const audited = redactArgs(bound);
  const usage = needsUsage(deps.policy) ? await currentUsage(deps.clouds(), deps.ledger, deps.signal) : undefined;
  const decision = decideCreate(quote, deps.policy, usage);
  const summary = quoteSummary(quote, req);
  if (decision.kind === 'deny')
    throw await denied(TOOL, p, decision, deps, { request: audited, quote }, 'no VM was created');
  if (decision.kind === 'allow') {
    await deps.audit.write({
      tool: TOOL,
      provider: p.id,
      phase: 'decision',
      request: audited,
      quote,
      decision: 'allow',
      how: 'policy',
      reason: decision.reason,
    });
    return { how: 'policy' };
  }
  const asked = `${summary} Needs a yes because ${decision.reasons.join(' and ')}.`;
  const answer = await askHuman(p, TOOL, deps, {
    summary: asked,
    // The quote without its end time, which moves with the clock: the token binds what is bought, not when.
    binding: { request: { tool: TOOL, hash }, quote: { ...quote, expires_at: null }, usd_per_hour: quote.usd_per_hour },
    token,
    again,
    action: 'create',
    audit: { request: audited, quote },
    retry: 'call create_vm again with the same arguments plus confirmation_token',
  });
  if (answer.approved) return { how: answer.how, ...(answer.nonce ? { nonce: answer.nonce } : {}) };
  if ('used' in answer) {
    // The same confirmation token again: the VM it created is the answer (once that create has finished, which the
    // lock waits for); it never creates twice.
    const used = answer.used;
    const replay = await deps.spendLock.run(async () => {
      const rec = await deps.idempotency.get(`token:${used}`);
      return rec?.status === 'created' ? replayCreated(p, rec, deps) : undefined;
    });
    if (replay) return replay;
    throw tokenUsed(
      p,
      "Call again without confirmation_token to get a new summary and token, and create only with the human's yes.",
    );
  }
  return { ...answer.answer, quote };
}

/** What the agent is told when the human has not (yet) said yes. */
export type NotYet =
  | { status: 'declined'; summary: string; message: string }
  | Asked<'confirmation_required'>
  /** The approval page is with the human; confirmation_token holds the approval id to wait on. */
  | Asked<'approval_pending'>;

/** A question with the human: a confirmation token to pass back, or an approval id to wait on. */
export type Asked<S extends 'confirmation_required' | 'approval_pending'> = {
  status: S;
  summary: string;
  confirmation_token: string;
  expires_at: string;
  message: string;
};

/**
 * Asks the human (elicitation, or a confirmation token) about an action that spends or destroys, and writes the
 * answer to the audit log. Returns the yes, the answer to give the agent, or (`used`) a token that was spent already.
 */
export async function askHuman(
  p: Provider,
  tool: string,
  deps: GateDeps,
  ask: Omit<ConfirmRequest, 'channel' | 'tokens' | 'fallback'> & {
    audit: Pick<AuditEntry, 'request' | 'quote'>;
    /** What the agent does after the yes, e.g. "call delete_vm again with confirmation_token". */
    retry: string;
  },
): Promise<
  | { approved: true; how: 'elicitation' | 'token' | 'url'; nonce?: string }
  | { approved: false; used: string }
  | { approved: false; answer: NotYet }
> {
  const { audit, retry, ...request } = ask;
  const outcome: ConfirmOutcome = await confirm({
    ...request,
    channel: deps.human,
    tokens: deps.tokens,
    fallback: deps.policy.confirm.fallback,
    tool,
    provider: p.id,
    ...(deps.desk ? { desk: deps.desk } : {}),
  });
  const write = (e: Pick<AuditEntry, 'decision' | 'how' | 'reason'>) =>
    deps.audit.write({ tool, provider: p.id, phase: 'decision', ...audit, ...e });
  if (outcome.approved) {
    // Who approved from where: the page's POST (remote address and browser), for a yes on the approval page.
    await write({
      decision: 'approved',
      how: outcome.how,
      ...(outcome.how === 'url' ? { reason: outcome.by } : {}),
    });
    return { approved: true, how: outcome.how, ...(outcome.nonce ? { nonce: outcome.nonce } : {}) };
  }
  if (outcome.kind === 'token_used') return { approved: false, used: outcome.nonce };
  if (outcome.kind === 'approval_pending') {
    await write({
      decision: 'confirmation_required',
      how: 'url',
      reason: `approval ${outcome.approval_id} is with the human`,
    });
    return {
      approved: false,
      answer: {
        status: 'approval_pending',
        summary: ask.summary,
        confirmation_token: outcome.approval_id,
        expires_at: outcome.expires_at,
        message: outcome.message,
        ...(outcome.card ? { [CARD]: outcome.card } : {}),
      },
    };
  }
  if (outcome.kind === 'declined') {
    await write({
      decision: 'declined',
      how: deps.desk && outcome.message.includes('approval page') ? 'url' : 'elicitation',
      reason: outcome.reason,
    });
    return { approved: false, answer: { status: 'declined', summary: ask.summary, message: outcome.message } };
  }
  await write({ decision: 'confirmation_required', how: 'token' });
  return {
    approved: false,
    answer: {
      status: 'confirmation_required',
      summary: outcome.message ? `${outcome.message} ${ask.summary}` : ask.summary,
      confirmation_token: outcome.confirmation_token,
      expires_at: outcome.expires_at,
      message: `Nothing was ${DONE[ask.action] ?? 'done'}. Show the summary to the human; if they approve, ${retry}.`,
    },
  };
}

const DONE: Record<string, string> = {
  create: 'created',
  delete: 'deleted',
  resume: 'resumed',
  snapshot: 'snapshotted',
};

/** A confirmation token spent already: refused, with what to do instead. */
export const tokenUsed = (p: Provider, hint: string) =>
  new ComputeError('CONFIRMATION_INVALID', 'the confirmation_token was already used; nothing was done', {
    provider: p.id,
    hint,
  });

/** The record of a key, refusing it when it was used with other arguments; undefined when the key is new. */
async function knownKey(
  p: Provider,
  key: string,
  hash: string,
  deps: GateDeps,
): Promise<IdempotencyRecord | undefined> {
  const rec = await deps.idempotency.get(key);
  if (!rec || rec.status === 'failed') return undefined;
  if (rec.hash !== hash)
    throw new ComputeError(
      'CONFLICT',
      `idempotency_key ${JSON.stringify(key)} was already used with other arguments; nothing was created`,
      {
        provider: p.id,
        hint: 'Use a new idempotency_key for a different VM, or repeat the original arguments exactly.',
      },
    );
  return rec;
}

/**
 * Under the lock: a key seen before answers with its VM; a key left pending by a create whose answer was lost is
 * settled by looking for the VM that create may have made, several times, since the cloud may show it late.
 * Returns the answer, or undefined (a new key), or a note to pass on when nothing appeared and a create may go ahead.
 */
async function settleKey(
  p: Provider,
  key: string,
  hash: string,
  deps: GateDeps,
): Promise<CreateOutcome | string | undefined> {
  const rec = await knownKey(p, key, hash, deps);
  if (!rec) return undefined;
  if (rec.status === 'created') return replayCreated(p, rec, deps);
  const until = rec.at + IN_FLIGHT_MS;
  if (rec.ended_at === undefined && Date.now() < until)
    throw new ComputeError(
      'CONFLICT',
      `a create with idempotency_key ${JSON.stringify(key)} started at ${new Date(rec.at).toISOString()} may still be running; nothing was created`,
      {
        provider: p.id,
        hint: `Call create_vm again with the same arguments after ${new Date(until).toISOString()}: it then answers with that VM, or creates one if there is none.`,
      },
    );
  const { attempts, delayMs } = deps.lostCreateLookup ?? LOST_CREATE_LOOKUP;
  for (let i = 1; i <= attempts; i++) {
    const inst = await findUnclaimed(p, rec, deps);
    if (inst) {
      await deps.idempotency.put({ ...rec, status: 'created', instance_id: inst.id });
      await deps.leases.settle(key, inst.id);
      await auditExisting(p, deps, inst.id, 'found the VM of an unfinished create');
      return {
        status: 'existing',
        instance: inst,
        message: `An earlier call with this key created ${inst.id} (its answer was lost); no new VM was created.`,
      };
    }
    if (i < attempts)
      await sleep(delayMs, deps.signal).catch(() => {
        throw new ComputeError('CANCELLED', 'The request was cancelled; nothing was created');
      });
  }
  await deps.idempotency.put({ ...rec, status: 'failed' });
  await deps.leases.mark(key, 'lost', 'the create got no answer and no VM of it was found; a new create replaces it');
  const waited = Math.round(((attempts - 1) * delayMs) / 100) / 10;
  return `An earlier call with this key got no answer from the cloud, and no VM of it appeared in ${attempts} looks over ${waited} s; a new one was created.`;
}

/**
 * The VM a lost create made: found by its key where the cloud labels VMs; elsewhere, the one with the same name, type
 * and region, made after the send, and claimed by no other key.
 */
async function findUnclaimed(p: Provider, rec: IdempotencyRecord, deps: GateDeps): Promise<Instance | undefined> {
  if (p.findByIdempotencyKey) return p.findByIdempotencyKey(rec.key, { signal: deps.signal });
  return findByShape(p, { ...rec, sent_at: rec.at }, deps);
}

/**
 * On a cloud without labels, the VM a create made: the oldest with its name, type and region, made after the send
 * (a minute of clock skew allowed), that no key, lease or claim of this server already stands for.
 */
export async function findByShape(
  p: Provider,
  made: { name: string; instance_type: string; region: string; sent_at: number },
  deps: Pick<GateDeps, 'idempotency' | 'leases' | 'ledger' | 'signal'>,
): Promise<Instance | undefined> {
  const claimed = await claimedIds(deps);
  const all = await collectPages(p.id, undefined as string | undefined, async (cursor) => {
    const page = await p.listInstances({ cursor, limit: 100, signal: deps.signal });
    return { items: page.items, next: page.next_cursor };
  });
  const found = all.filter(
    (i) =>
      !claimed.has(i.id) &&
      i.name === made.name &&
      i.instance_type === made.instance_type &&
      (!i.region || i.region === made.region) &&
      (!i.created_at || Date.parse(i.created_at) >= made.sent_at - 60_000),
  );
  return found.sort((a, b) => (a.created_at ?? '').localeCompare(b.created_at ?? ''))[0];
}

/** The audit line of an idempotent answer: the VM a key already made, so nothing is created. */
function auditExisting(p: Provider, deps: GateDeps, id: string, reason?: string): Promise<void> {
  return deps.audit.write({
    tool: TOOL,
    provider: p.id,
    phase: 'decision',
    decision: 'existing',
    how: 'idempotency',
    instance_id: id,
    ...(reason ? { reason } : {}),
  });
}

async function replayCreated(p: Provider, rec: IdempotencyRecord, deps: GateDeps): Promise<CreateOutcome> {
  try {
    const inst = await p.getInstance(rec.instance_id!, { signal: deps.signal });
    await auditExisting(p, deps, inst.id);
    return {
      status: 'existing',
      instance: inst,
      message: `This key already created ${inst.id}; no new VM was created.`,
    };
  } catch (e) {
    if (e instanceof ComputeError && e.code === 'NOT_FOUND')
      throw new ComputeError(
        'CONFLICT',
        `idempotency_key ${JSON.stringify(rec.key)} created ${rec.instance_id}, which no longer exists; nothing was created`,
        {
          provider: p.id,
          hint: 'Use a new idempotency_key to create another VM.',
        },
      );
    throw e;
  }
}

export type DeleteOutcome =
  | {
      status: 'deleted';
      instance?: Instance;
      already_gone: boolean;
      /** Clouds that bill by period: when billing actually stops. */
      billing_ends_at?: string;
      approved_by?: 'elicitation' | 'token' | 'url' | 'policy';
      message?: string;
    }
  | { status: 'declined'; instance: Instance; summary: string; message: string }
  | (Asked<'confirmation_required'> & { instance: Instance })
  | (Asked<'approval_pending'> & { instance: Instance });

export async function guardedDelete(
  p: Provider,
  id: string,
  token: string | undefined,
  deps: GateDeps,
): Promise<DeleteOutcome> {
  const tool = 'delete_vm';
  const decision = decideDelete(deps.policy);
  if (decision.kind === 'deny') throw await denied(tool, p, decision, deps, { request: { id } }, 'nothing was deleted');
  let instance: Instance;
  try {
    instance = await p.getInstance(id, { signal: deps.signal });
  } catch (e) {
    if (e instanceof ComputeError && e.code === 'NOT_FOUND')
      return {
        status: 'deleted',
        already_gone: true,
        message: `${id} does not exist (already deleted, or a wrong id); nothing was done.`,
      };
    throw e;
  }
  const billing = instance.billing_ends_at ? ` Billing ends at ${shown(instance.billing_ends_at)}, not now.` : '';
  const summary = `Delete on ${p.id}: ${shown(instance.instance_type)} ${shown(instance.id)}, ${instance.status}; its boot disk is lost.${billing} Name: ${shown(instance.name, true)}.`;
  let how: 'elicitation' | 'token' | 'url' | 'policy' = 'policy';
  if (decision.kind === 'confirm') {
    // Bound to the instance's identity too: a token for one VM never deletes another that reused the id.
    const identity = { id, name: instance.name, created_at: instance.created_at ?? null };
    const answer = await askHuman(p, tool, deps, {
      summary,
      binding: { request: { tool, provider: p.id, id }, quote: identity },
      token,
      action: 'delete',
      audit: { request: { id } },
      retry: 'call delete_vm again with confirmation_token',
    });
    if (!answer.approved) {
      if ('used' in answer) throw tokenUsed(p, 'Call delete_vm again without confirmation_token.');
      return { ...answer.answer, instance };
    }
    how = answer.how;
  }
  // A human's yes was written by askHuman; a policy's allow is written here.
  if (how === 'policy')
    await deps.audit.write({ tool, provider: p.id, phase: 'decision', request: { id }, decision: 'allow', how });
  await deps.audit.write({ tool, provider: p.id, phase: 'send', request: { id }, how });
  let r: Awaited<ReturnType<Provider['delete']>>;
  try {
    r = await p.delete(id, { signal: deps.signal });
  } catch (e) {
    await recorded(deps, 'the failed delete', () =>
      deps.audit.write({ tool, provider: p.id, phase: 'cloud', request: { id }, error: errorOf(e) }),
    );
    throw e;
  }
  // Deleted: a store that fails now leaves a claim counted a little longer (never too little), and says so.
  const unrecorded = await recorded(deps, 'the delete', () =>
    unit(deps, async () => {
      await deps.ledger.releaseInstance(p.id, id);
      const lease = await deps.leases.forInstance(p.id, id);
      if (lease && lease.state !== 'done') await deps.leases.mark(lease.key, 'done', 'deleted through delete_vm');
      await deps.audit.write({
        tool,
        provider: p.id,
        phase: 'cloud',
        request: { id },
        instance_id: id,
        status: r.already_gone ? 'already_gone' : 'deleting',
      });
    }),
  );
  deps.log.info({ provider: p.id, instance: id, approvedBy: how }, 'vm deleted');
  const ends = r.billing_ends_at ?? instance.billing_ends_at;
  const said = [
    ends ? `Deleted; the cloud keeps billing until ${ends} (the end of the paid period).` : undefined,
    unrecorded,
  ].filter(Boolean);
  return {
    status: 'deleted',
    instance,
    already_gone: r.already_gone,
    approved_by: how,
    ...(ends ? { billing_ends_at: ends } : {}),
    ...(said.length ? { message: said.join(' ') } : {}),
  };
}

/** What changed between the approved quote and the one just before spending, in words; undefined if nothing did. */
function changed(a: Quote, b: Quote): string | undefined {
  if (a.region !== b.region || a.image !== b.image || a.instance_type !== b.instance_type)
    return `the plan changed (${shown(b.instance_type)} in ${shown(b.region)}, image ${shown(b.image)})`;
  const pa = a.usd_per_hour;
  const pb = b.usd_per_hour;
  if (pb === null && pa !== null) return `the price is no longer known (it was $${pa.toFixed(2)}/hour)`;
  if (pa === null && pb !== null) return `the price became known: $${pb.toFixed(2)}/hour`;
  if (pa !== null && pb !== null && pb > pa)
    return `the price rose from $${pa.toFixed(2)}/hour to $${pb.toFixed(2)}/hour`;
  return undefined;
}

export const errorOf = (e: unknown) =>
  e instanceof ComputeError ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: 'internal error' };

/** Every VM id this server already accounts for: by idempotency records, leases and ledger claims. */
export async function claimedIds(deps: Pick<GateDeps, 'idempotency' | 'leases' | 'ledger'>): Promise<Set<string>> {
  const ids = await deps.idempotency.claimedIds();
  for (const l of await deps.leases.all()) if (l.instance_id) ids.add(l.instance_id);
  for (const c of await deps.ledger.active()) if (c.instance_id) ids.add(c.instance_id);
  return ids;
}
