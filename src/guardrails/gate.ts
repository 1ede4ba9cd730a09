/**
 * The spend gate: everything between "an agent asked for a VM" and "the cloud was called", once, for every cloud.
 * Idempotency replay → plan and quote → policy (deny / allow / confirm) → a human's yes → under one lock: re-plan,
 * re-price and re-check the limits → record the key and the intent → create → record the result.
 * Deletes go through the same confirmation and audit.
 */
import type { Logger } from 'pino';
import type { Policy } from '../config.js';
import { ComputeError } from '../domain/errors.js';
import type { CreatePlan, CreateRequest, Instance } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import { collectPages } from '../providers/paging.js';
import { AuditLog, redactArgs } from './audit.js';
import { confirm, type ConfirmOutcome, type HumanChannel } from './confirm.js';
import { requestHash, type IdempotencyStore } from './idempotency.js';
import { currentUsage, needsUsage, type Usage } from './limits.js';
import type { Mutex } from './mutex.js';
import { decideCreate, decideDelete } from './policy.js';
import { makeQuote, quoteSummary, type Quote } from './quote.js';
import type { ConfirmationTokens } from './token.js';

export interface GateDeps {
  policy: Policy;
  tokens: ConfirmationTokens;
  idempotency: IdempotencyStore;
  audit: AuditLog;
  human: HumanChannel;
  spendLock: Mutex;
  /** Every enabled cloud, for the total limits. */
  clouds: () => Provider[];
  log: Logger;
  signal?: AbortSignal;
}

export interface CreateArgs extends CreateRequest {
  provider: Provider['id'];
  lifetime_hours?: number;
  idempotency_key?: string;
  confirmation_token?: string;
  dry_run?: boolean;
  wait_seconds?: number;
}

export type CreateOutcome =
  | { status: 'created' | 'existing'; instance: Instance; quote?: Quote; approved_by?: 'elicitation' | 'token' | 'policy'; message?: string }
  | { status: 'dry_run'; quote: Quote; summary: string; request: CreatePlan['request']; preparatory_steps: string[] }
  | { status: 'declined'; quote: Quote; summary: string; message: string }
  | { status: 'confirmation_required'; quote: Quote; summary: string; confirmation_token: string; expires_at: string; message: string };

const TOOL = 'create_vm';
/** How many times a price rise or a changed plan may send the request back to the human within one call. */
const MAX_ASKS = 2;

export async function guardedCreate(p: Provider, args: CreateArgs, d: GateDeps): Promise<CreateOutcome> {
  const req: CreateRequest = pickRequest(args);
  // What decides what gets created and what it costs; wait_seconds, dry_run and the token change neither.
  const { confirmation_token: token, wait_seconds: _w, dry_run: _d, ...bound } = args;
  const hash = requestHash({ tool: TOOL, ...bound });
  const audited = redactArgs(bound as Record<string, unknown>);

  if (args.idempotency_key && !args.dry_run) {
    const replay = await replayKey(p, args.idempotency_key, hash, d);
    if (replay) return replay;
  }

  const plan = await p.planCreate(req, { signal: d.signal });
  let quote = makeQuote(plan, args.lifetime_hours ?? d.policy.limits.maxLifetimeHours ?? null);
  if (args.dry_run)
    return { status: 'dry_run', quote, summary: quoteSummary(quote, args.name), request: plan.request, preparatory_steps: plan.preparatory_steps };

  const first = await approve(p, quote, args.name, token, hash, bound, d, undefined);
  if ('status' in first) return first;
  let approval: Approval = first;

  for (let asks = 1; ; asks++) {
    const outcome = await d.spendLock.run(async (): Promise<CreateOutcome | { again: string; quote: Quote }> => {
      // Re-plan and re-price just before spending: the human approved `quote`, not whatever the cloud says now.
      const plan2 = await p.planCreate(req, { signal: d.signal });
      const quote2 = makeQuote(plan2, quote.lifetime_hours);
      const change = changed(quote, quote2);
      if (change) return { again: change, quote: quote2 };
      const usage = needsUsage(d.policy) ? await currentUsage(d.clouds(), d.signal) : undefined;
      const decision = decideCreate(quote2, d.policy, usage);
      if (decision.kind === 'deny') {
        d.audit.write({ tool: TOOL, provider: p.id, phase: 'decision', request: audited, quote: quote2, decision: 'deny', how: 'policy', reason: `${decision.rule}: ${decision.reason}` });
        throw new ComputeError('POLICY_DENIED', `${decision.reason} (${decision.rule}); no VM was created`, { provider: p.id, hint: decision.instead });
      }
      // Calls with the same key wait here for each other: the second finds the first one's VM.
      if (args.idempotency_key) {
        const replay = await replayKey(p, args.idempotency_key, hash, d);
        if (replay) return replay;
      }
      const key = args.idempotency_key ?? (approval.nonce ? `token:${approval.nonce}` : undefined);
      if (key) d.idempotency.put({ key, hash, provider: p.id, status: 'pending', name: args.name, instance_type: quote2.instance_type, region: quote2.region, at: Date.now() });
      d.audit.write({ tool: TOOL, provider: p.id, phase: 'send', request: audited, quote: quote2, how: approval.how });
      let instance: Instance;
      try {
        instance = await p.create(plan2, { signal: d.signal });
      } catch (e) {
        // A refusal (4xx) made nothing; anything else (5xx, timeout) may have: keep the key pending for a lookup.
        const refused = e instanceof ComputeError && e.status !== undefined && e.status < 500;
        if (key && refused) d.idempotency.put({ ...d.idempotency.get(key)!, status: 'failed' });
        d.audit.write({ tool: TOOL, provider: p.id, phase: 'cloud', request: audited, error: errorOf(e) });
        throw e;
      }
      if (key) d.idempotency.put({ ...d.idempotency.get(key)!, status: 'created', instance_id: instance.id });
      d.audit.write({ tool: TOOL, provider: p.id, phase: 'cloud', request: audited, quote: quote2, instance_id: instance.id, status: instance.status });
      d.log.info({ provider: p.id, instance: instance.id, type: quote2.instance_type, usd_per_hour: quote2.usd_per_hour, approvedBy: approval.how }, 'vm created');
      return { status: 'created', instance, quote: quote2, approved_by: approval.how };
    });
    if (!('again' in outcome)) return outcome;
    if (asks >= MAX_ASKS)
      throw new ComputeError('CONFLICT', `the offer keeps changing (${outcome.again}); no VM was created`, { provider: p.id, hint: 'Call list_instance_types and create_vm again.' });
    quote = outcome.quote;
    const next = await approve(p, quote, args.name, undefined, hash, bound, d, `${outcome.again}; nothing was created yet. Ask again:`);
    if ('status' in next) return next;
    approval = next;
  }
}

type Approval = { how: 'elicitation' | 'token' | 'policy'; nonce?: string };

/** Policy, then (if needed) a human: returns an approval, or the answer to give the agent instead. */
async function approve(
  p: Provider, quote: Quote, name: string, token: string | undefined, hash: string, bound: Record<string, unknown>, d: GateDeps, again: string | undefined,
): Promise<Approval | CreateOutcome> {
  const audited = redactArgs(bound);
  const usage = needsUsage(d.policy) ? await currentUsage(d.clouds(), d.signal) : undefined;
  const decision = decideCreate(quote, d.policy, usage);
  const summary = quoteSummary(quote, name);
  if (decision.kind === 'deny') {
    d.audit.write({ tool: TOOL, provider: p.id, phase: 'decision', request: audited, quote, decision: 'deny', how: 'policy', reason: `${decision.rule}: ${decision.reason}` });
    throw new ComputeError('POLICY_DENIED', `${decision.reason} (${decision.rule}); no VM was created`, { provider: p.id, hint: decision.instead });
  }
  if (decision.kind === 'allow') {
    d.audit.write({ tool: TOOL, provider: p.id, phase: 'decision', request: audited, quote, decision: 'allow', how: 'policy', reason: decision.reason });
    return { how: 'policy' };
  }
  const asked = decision.kind === 'confirm' ? `${summary} Needs a yes because ${decision.reasons.join(' and ')}.` : summary;
  const outcome: ConfirmOutcome = await confirm({
    summary: asked, binding: { request: { tool: TOOL, hash }, quote, usd_per_hour: quote.usd_per_hour }, token, again,
    action: 'create', channel: d.human, tokens: d.tokens, fallback: d.policy.confirm.fallback,
  });
  if (outcome.approved) {
    d.audit.write({ tool: TOOL, provider: p.id, phase: 'decision', request: audited, quote, decision: 'approved', how: outcome.how });
    return { how: outcome.how, ...(outcome.nonce ? { nonce: outcome.nonce } : {}) };
  }
  if (outcome.kind === 'token_used') {
    // The same confirmation token again: the VM it created is the answer; it never creates twice.
    const rec = d.idempotency.get(`token:${outcome.nonce}`);
    const replay = rec ? await replayKey(p, rec.key, rec.hash, d) : undefined;
    if (replay) return replay;
    throw new ComputeError('CONFIRMATION_INVALID', 'the confirmation_token was already used; nothing was done', {
      provider: p.id, hint: 'Call again without confirmation_token to get a new summary and token, and create only with the human\'s yes.',
    });
  }
  if (outcome.kind === 'declined') {
    d.audit.write({ tool: TOOL, provider: p.id, phase: 'decision', request: audited, quote, decision: 'declined', how: 'elicitation', reason: outcome.reason });
    return { status: 'declined', quote, summary: asked, message: outcome.message };
  }
  d.audit.write({ tool: TOOL, provider: p.id, phase: 'decision', request: audited, quote, decision: 'confirmation_required', how: 'token' });
  return {
    status: 'confirmation_required', quote, summary: outcome.message ? `${outcome.message} ${asked}` : asked,
    confirmation_token: outcome.confirmation_token, expires_at: outcome.expires_at,
    message: 'Nothing was created. Show the summary to the human; if they approve, call create_vm again with the same arguments plus confirmation_token.',
  };
}

/**
 * An idempotency key seen before: the same VM (created), a lookup for the VM a lost answer may have made (pending),
 * or a refusal when the arguments differ. Returns undefined when the key may be used to create.
 */
async function replayKey(p: Provider, key: string, hash: string, d: GateDeps): Promise<CreateOutcome | undefined> {
  const rec = d.idempotency.get(key);
  if (!rec || rec.status === 'failed') return undefined;
  if (rec.hash !== hash)
    throw new ComputeError('CONFLICT', `idempotency_key ${JSON.stringify(key)} was already used with other arguments; nothing was created`, {
      provider: p.id, hint: 'Use a new idempotency_key for a different VM, or repeat the original arguments exactly.',
    });
  if (rec.status === 'pending') {
    const claimed = d.idempotency.claimedIds();
    const all = await collectPages(p.id, undefined as string | undefined, async (cursor) => {
      const page = await p.listInstances({ cursor, limit: 100, signal: d.signal });
      return { items: page.items, next: page.next_cursor };
    });
    // The VM is tagged by its name (Genesis Cloud has no labels): same name, type and region, made after the send.
    const found = all.filter(
      (i) => !claimed.has(i.id) && i.name === rec.name && i.instance_type === rec.instance_type && (!i.region || i.region === rec.region) &&
        (!i.created_at || Date.parse(i.created_at) >= rec.at - 60_000),
    );
    if (found.length === 0) {
      d.idempotency.put({ ...rec, status: 'failed' });
      return undefined;
    }
    const inst = found.sort((a, b) => (a.created_at ?? '').localeCompare(b.created_at ?? ''))[0]!;
    d.idempotency.put({ ...rec, status: 'created', instance_id: inst.id });
    d.audit.write({ tool: TOOL, provider: p.id, phase: 'decision', decision: 'existing', how: 'idempotency', instance_id: inst.id, reason: 'found the VM of an unfinished create' });
    return { status: 'existing', instance: inst, message: `An earlier call with this key created ${inst.id} (its answer was lost); no new VM was created.` };
  }
  try {
    const inst = await p.getInstance(rec.instance_id!, { signal: d.signal });
    d.audit.write({ tool: TOOL, provider: p.id, phase: 'decision', decision: 'existing', how: 'idempotency', instance_id: inst.id });
    return { status: 'existing', instance: inst, message: `This key already created ${inst.id}; no new VM was created.` };
  } catch (e) {
    if (e instanceof ComputeError && e.code === 'NOT_FOUND')
      throw new ComputeError('CONFLICT', `idempotency_key ${JSON.stringify(key)} created ${rec.instance_id}, which no longer exists; nothing was created`, {
        provider: p.id, hint: 'Use a new idempotency_key to create another VM.',
      });
    throw e;
  }
}

export type DeleteOutcome =
  | { status: 'deleted'; instance?: Instance; already_gone: boolean; approved_by?: 'elicitation' | 'token' | 'policy'; message?: string }
  | { status: 'declined'; instance: Instance; summary: string; message: string }
  | { status: 'confirmation_required'; instance: Instance; summary: string; confirmation_token: string; expires_at: string; message: string };

export async function guardedDelete(p: Provider, id: string, token: string | undefined, d: GateDeps): Promise<DeleteOutcome> {
  const tool = 'delete_vm';
  const decision = decideDelete(d.policy);
  if (decision.kind === 'deny') {
    d.audit.write({ tool, provider: p.id, phase: 'decision', request: { id }, decision: 'deny', how: 'policy', reason: `${decision.rule}: ${decision.reason}` });
    throw new ComputeError('POLICY_DENIED', `${decision.reason} (${decision.rule}); nothing was deleted`, { provider: p.id, hint: decision.instead });
  }
  let instance: Instance;
  try {
    instance = await p.getInstance(id, { signal: d.signal });
  } catch (e) {
    if (e instanceof ComputeError && e.code === 'NOT_FOUND')
      return { status: 'deleted', already_gone: true, message: `${id} does not exist (already deleted, or a wrong id); nothing was done.` };
    throw e;
  }
  const summary = `Delete VM "${instance.name}" (${instance.id}) on ${p.id}: ${instance.instance_type}, ${instance.status}. Its boot disk is lost.`;
  let how: 'elicitation' | 'token' | 'policy' = 'policy';
  if (decision.kind === 'confirm') {
    // Bound to the instance's identity too: a token for one VM never deletes another that reused the id.
    const identity = { id, name: instance.name, created_at: instance.created_at ?? null };
    const outcome = await confirm({
      summary, binding: { request: { tool, provider: p.id, id }, quote: identity }, token, action: 'delete',
      channel: d.human, tokens: d.tokens, fallback: d.policy.confirm.fallback,
    });
    if (!outcome.approved) {
      if (outcome.kind === 'token_used')
        throw new ComputeError('CONFIRMATION_INVALID', 'the confirmation_token was already used; nothing was done', { provider: p.id, hint: 'Call delete_vm again without confirmation_token.' });
      if (outcome.kind === 'declined') {
        d.audit.write({ tool, provider: p.id, phase: 'decision', request: { id }, decision: 'declined', how: 'elicitation', reason: outcome.reason });
        return { status: 'declined', instance, summary, message: outcome.message };
      }
      d.audit.write({ tool, provider: p.id, phase: 'decision', request: { id }, decision: 'confirmation_required', how: 'token' });
      return {
        status: 'confirmation_required', instance, summary: outcome.message ? `${outcome.message} ${summary}` : summary,
        confirmation_token: outcome.confirmation_token, expires_at: outcome.expires_at,
        message: 'Nothing was deleted. Show the summary to the human; if they approve, call delete_vm again with confirmation_token.',
      };
    }
    how = outcome.how;
  }
  d.audit.write({ tool, provider: p.id, phase: 'decision', request: { id }, decision: decision.kind === 'allow' ? 'allow' : 'approved', how });
  d.audit.write({ tool, provider: p.id, phase: 'send', request: { id }, how });
  try {
    const r = await p.delete(id, { signal: d.signal });
    d.audit.write({ tool, provider: p.id, phase: 'cloud', request: { id }, instance_id: id, status: r.already_gone ? 'already_gone' : 'deleting' });
    d.log.info({ provider: p.id, instance: id, approvedBy: how }, 'vm deleted');
    return { status: 'deleted', instance, already_gone: r.already_gone, approved_by: how };
  } catch (e) {
    d.audit.write({ tool, provider: p.id, phase: 'cloud', request: { id }, error: errorOf(e) });
    throw e;
  }
}

/** What changed between the approved quote and the one just before spending, in words; undefined if nothing did. */
function changed(a: Quote, b: Quote): string | undefined {
  if (a.region !== b.region || a.image !== b.image || a.instance_type !== b.instance_type) return `the plan changed (${b.instance_type} in ${b.region}, image ${b.image})`;
  const pa = a.usd_per_hour;
  const pb = b.usd_per_hour;
  if (pb === null && pa !== null) return `the price is no longer known (it was $${pa.toFixed(2)}/hour)`;
  if (pa === null && pb !== null) return `the price became known: $${pb.toFixed(2)}/hour`;
  if (pa !== null && pb !== null && pb > pa) return `the price rose from $${pa.toFixed(2)}/hour to $${pb.toFixed(2)}/hour`;
  return undefined;
}

function pickRequest(a: CreateArgs): CreateRequest {
  const r: CreateRequest = { instance_type: a.instance_type, name: a.name };
  for (const k of ['region', 'image', 'ssh_public_key', 'startup_script', 'disk_gib', 'from_snapshot', 'limit_price_usd'] as const) if (a[k] !== undefined) (r as unknown as Record<string, unknown>)[k] = a[k];
  return r;
}

const errorOf = (e: unknown) => (e instanceof ComputeError ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: 'internal error' });

export type { Usage };
