/**
 * Resuming is spending (SPEC §5.9): a paused VM that starts again bills again, so a resume goes through the gate as a
 * create of what it resumes would — the allow-lists, the per-VM and total limits (its GPUs and price come back; it is
 * already counted as a VM), a human's yes where a create would need one, the ledger and the audit. One decision and at
 * most one question covers the whole batch.
 */
import { randomBytes } from 'node:crypto';
import { ComputeError } from '../domain/errors.js';
import type { Instance, PowerResult } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import { askHuman, denied, errorOf, tokenUsed, unit, type Asked, type GateDeps } from './gate.js';
import type { Claim } from './ledger.js';
import { leaseHours } from './leases.js';
import { checkTotals, currentUsage, needsUsage, type Addition } from './limits.js';
import { decideCreate } from './policy.js';
import { fromMicros, shown, toMicros, type Quote } from './quote.js';

const TOOL = 'resume_instances';
/** Statuses in which a VM already bills: resuming it changes nothing. */
const BILLING = new Set(['running', 'pending', 'starting']);

export type ResumeOutcome =
  | { status: 'done'; results: PowerResult[]; approved_by?: 'elicitation' | 'token' | 'url' | 'policy' }
  | (Asked<'confirmation_required'> & { results: PowerResult[] })
  | (Asked<'approval_pending'> & { results: PowerResult[] })
  | { status: 'declined'; results: PowerResult[]; summary: string; message: string };

interface Target {
  instance: Instance;
  quote: Quote;
}

export async function guardedResume(
  p: Provider,
  ids: string[],
  token: string | undefined,
  deps: GateDeps,
): Promise<ResumeOutcome> {
  const { settled, targets } = await lookUp(p, ids, deps);
  if (targets.length === 0) return { status: 'done', results: settled };
  const request = { tool: TOOL, provider: p.id, ids: targets.map((t) => t.instance.id).sort() };
  const add = additionOf(targets);
  const reasons = new Set<string>();
  for (const t of targets) {
    const decision = decideCreate(t.quote, deps.policy, undefined, { instances: 0, gpus: 0, usd_per_hour: 0 });
    if (decision.kind === 'deny')
      throw await denied(TOOL, p, decision, deps, { request, quote: t.quote }, 'nothing was resumed');
    if (decision.kind === 'confirm') for (const r of decision.reasons) reasons.add(r);
    if (t.instance.gpu === undefined) reasons.add('its GPUs are unknown');
  }
  await checkLimits(p, add, request, deps);

  let how: 'elicitation' | 'token' | 'url' | 'policy' = 'policy';
  const summary = summarize(p, targets, add);
  if (reasons.size > 0) {
    const asked = `${summary} Needs a yes because ${[...reasons].join(' and ')}.`;
    const identity = targets.map((t) => ({
      id: t.instance.id,
      name: t.instance.name,
      created_at: t.instance.created_at ?? null,
      quote: t.quote,
    }));
    const answer = await askHuman(p, TOOL, deps, {
      summary: asked,
      binding: { request, quote: identity, usd_per_hour: add.usd_per_hour },
      token,
      action: 'resume',
      audit: { request },
      retry: 'call resume_instances again with the same ids plus confirmation_token',
    });
    if (!answer.approved) {
      if ('used' in answer) throw tokenUsed(p, 'Call resume_instances again without confirmation_token.');
      return { ...answer.answer, results: settled };
    }
    how = answer.how;
  }
  // A human's yes was written by askHuman; a policy's allow is written here.
  if (how === 'policy')
    await deps.audit.write({ tool: TOOL, provider: p.id, phase: 'decision', request, decision: 'allow', how });
  const { results, more } = await deps.spendLock.run(() => resumeLocked(p, targets, request, how, deps));
  return { status: 'done', results: [...settled, ...more, ...results], approved_by: how };
}

/**
 * Under the spend lock: each VM read again (the human may have taken minutes; a bid's price may have changed), the
 * limits once more (another call may have started billing since), claim, resume.
 */
async function resumeLocked(
  p: Provider,
  approved: Target[],
  request: Record<string, unknown>,
  how: 'elicitation' | 'token' | 'url' | 'policy',
  deps: GateDeps,
): Promise<{ results: PowerResult[]; more: PowerResult[] }> {
  const now = await lookUp(
    p,
    approved.map((t) => t.instance.id),
    deps,
  );
  for (const t of now.targets) {
    const was = approved.find((a) => a.instance.id === t.instance.id)!;
    const why = changedSince(was.quote, t.quote);
    if (why)
      throw new ComputeError(
        'CONFLICT',
        `${shown(t.instance.id)} changed since the human approved it (${why}); nothing was resumed`,
        {
          provider: p.id,
          hint: 'Call resume_instances again without confirmation_token, and resume only with a new yes.',
        },
      );
  }
  const targets = now.targets;
  if (targets.length === 0) return { results: [], more: now.settled };
  await checkLimits(p, additionOf(targets), request, deps);
  const claims: Claim[] = [];
  await unit(deps, async () => {
    for (const t of targets)
      claims.push(
        await deps.ledger.claim({
          key: `resume:${t.instance.id}:${randomBytes(6).toString('base64url')}`,
          kind: 'resume',
          provider: p.id,
          instance_id: t.instance.id,
          gpus: t.quote.gpu?.count ?? 0,
          usd_per_hour: t.quote.usd_per_hour,
        }),
      );
    await deps.audit.write({ tool: TOOL, provider: p.id, phase: 'send', request, how });
  });
  let results: PowerResult[];
  try {
    if (!p.resume)
      throw new ComputeError('UNSUPPORTED', `${p.displayName} cannot resume instances`, { provider: p.id });
    results = await p.resume(
      targets.map((t) => t.instance.id),
      { signal: deps.signal },
    );
  } catch (e) {
    await deps.audit.write({ tool: TOOL, provider: p.id, phase: 'cloud', request, error: errorOf(e) });
    throw e;
  }
  // What did not resume bills nothing new: its claim goes.
  for (const r of results)
    if (r.result !== 'resumed' && r.result !== 'already_running')
      for (const c of claims) if (c.instance_id === r.id) await deps.ledger.release(c.key);
  // A VM created here bills again: its lease counts down again, for the policy's hours from now.
  const hours = leaseHours(undefined, deps.policy);
  for (const r of results) {
    // already_running too: the cloud may have started it between the check and the call; it bills either way.
    const lease =
      r.result === 'resumed' || r.result === 'already_running' ? await deps.leases.forInstance(p.id, r.id) : undefined;
    const renewFor = hours ?? (lease ? (lease.expires_at - lease.created_at) / 3_600_000 : null);
    if (lease && lease.state !== 'open' && renewFor) await deps.leases.renew(lease.key, renewFor);
  }
  await deps.audit.write({
    tool: TOOL,
    provider: p.id,
    phase: 'cloud',
    request,
    status: results.map((r) => `${r.id}: ${r.result}`).join(', '),
  });
  return { results, more: now.settled };
}

/** What makes an approved resume no longer the one approved: more GPUs, a higher or unknown price, another type. */
function changedSince(a: Quote, b: Quote): string | undefined {
  if (a.instance_type !== b.instance_type) return `its type is now ${shown(b.instance_type)}`;
  if ((b.gpu?.count ?? 0) > (a.gpu?.count ?? 0)) return `it now has ${b.gpu?.count} GPUs`;
  if (b.usd_per_hour === null && a.usd_per_hour !== null) return 'its price is no longer known';
  if (a.usd_per_hour !== null && b.usd_per_hour !== null && b.usd_per_hour > a.usd_per_hour)
    return `its price rose to $${b.usd_per_hour.toFixed(2)}/hour`;
  return undefined;
}

/** Each id as it is now: gone or unreadable ids and VMs that already bill are answered here; the rest need the gate. */
async function lookUp(
  p: Provider,
  ids: string[],
  deps: GateDeps,
): Promise<{ settled: PowerResult[]; targets: Target[] }> {
  const settled: PowerResult[] = [];
  const targets: Target[] = [];
  const found = await Promise.all(
    ids.map((id) =>
      p.getInstance(id, { signal: deps.signal }).then(
        (i) => ({ id, i }),
        (e: unknown) => ({ id, e }),
      ),
    ),
  );
  for (const f of found) {
    if ('e' in f) {
      // Fail closed: what cannot be read is not resumed.
      const gone = f.e instanceof ComputeError && f.e.code === 'NOT_FOUND';
      settled.push({
        id: f.id,
        result: 'failed',
        message: gone
          ? 'not found; check the id with list_instances'
          : `could not be read, so it was not resumed (${f.e instanceof ComputeError ? f.e.message : 'error'})`,
      });
    } else if (BILLING.has(f.i.status)) settled.push({ id: f.id, result: 'already_running', status: f.i.status });
    else if (p.resumeRefusal?.(f.i))
      settled.push({ id: f.id, result: 'unsupported', status: f.i.status, message: p.resumeRefusal(f.i)! });
    else targets.push({ instance: f.i, quote: quoteOf(p, f.i) });
  }
  return { settled, targets };
}

async function checkLimits(
  p: Provider,
  add: Addition,
  request: Record<string, unknown>,
  deps: GateDeps,
): Promise<void> {
  if (!needsUsage(deps.policy)) return;
  const usage = await currentUsage(deps.clouds(), deps.ledger, deps.signal);
  const totals = checkTotals(add, usage, deps.policy);
  if (!totals.ok) throw await denied(TOOL, p, { kind: 'deny', ...totals }, deps, { request }, 'nothing was resumed');
}

/**
 * A paused VM as a quote: what it bills once it runs again, for every VM behind its id (a bid for several bills
 * several). An unknown GPU count stays unknown (see additionOf), never zero.
 */
function quoteOf(p: Provider, i: Instance): Quote {
  const n = i.quantity ?? 1;
  const usd =
    i.price_usd_per_hour === null || i.price_usd_per_hour === undefined
      ? null
      : fromMicros(toMicros(i.price_usd_per_hour) * n);
  return {
    provider: p.id,
    instance_type: i.instance_type,
    region: i.region ?? '',
    image: '',
    gpu: i.gpu ? { ...i.gpu, count: i.gpu.count * n } : null,
    usd_per_hour: usd,
    price_source: null,
    lifetime_hours: null,
    max_total_usd: null,
    expires_at: null,
    on_expiry: null,
  };
}

function additionOf(targets: Target[]): Addition {
  let micros = 0;
  let unknown = false;
  for (const t of targets) {
    if (t.quote.usd_per_hour === null) unknown = true;
    else micros += toMicros(t.quote.usd_per_hour);
  }
  // A VM whose GPUs are unknown could hold any number: under a GPU limit it cannot fit.
  const gpus = targets.some((t) => t.instance.gpu === undefined)
    ? Number.POSITIVE_INFINITY
    : targets.reduce((n, t) => n + (t.quote.gpu?.count ?? 0), 0);
  return { instances: 0, gpus, usd_per_hour: unknown ? null : fromMicros(micros) };
}

/** One line of facts first (cloud, count, GPUs, price), then each VM, names quoted last. */
function summarize(p: Provider, targets: Target[], add: Addition): string {
  const gpus = Number.isFinite(add.gpus) ? `${add.gpus} GPU(s)` : 'an unknown number of GPUs';
  const price = add.usd_per_hour === null ? 'price unknown' : `$${add.usd_per_hour.toFixed(2)}/hour`;
  const each = targets.map((t) => {
    const g = t.quote.gpu
      ? `${t.quote.gpu.count}× ${shown(t.quote.gpu.model)}`
      : t.instance.gpu === undefined
        ? 'GPUs unknown'
        : 'no GPU';
    const usd = t.quote.usd_per_hour === null ? 'price unknown' : `$${t.quote.usd_per_hour.toFixed(2)}/hour`;
    const n = (t.instance.quantity ?? 1) > 1 ? `${t.instance.quantity} VMs of ` : '';
    return `${shown(t.instance.id)}: ${n}${shown(t.instance.instance_type)} (${g}) in ${shown(t.quote.region || '?')}, ${usd}, name ${shown(t.instance.name, true)}`;
  });
  return `Resume on ${p.id}: ${targets.length} VM(s) bill again, ${gpus}, ${price} in total. ${each.join('; ')}.`;
}
