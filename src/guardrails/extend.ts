/**
 * Extending a lease is spending: the added hours are quoted ($/hour × hours) and go through the same policy and the
 * same human yes as a create (hard limits, allow-lists, maxLifetimeHours on the lease's whole length). The token is
 * bound to the lease as it is now, so it extends once; under the spend lock the lease is re-read, and a cloud that ends
 * VMs itself is told the new end before the lease changes.
 */
import { ComputeError } from '../domain/errors.js';
import type { Instance } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import { askHuman, denied, errorOf, tokenUsed, type GateDeps, type NotYet } from './gate.js';
import { leaseView, type Lease, type LeaseView } from './leases.js';
import { decideCreate } from './policy.js';
import { fromMicros, shown, toMicros, type Quote } from './quote.js';

const TOOL = 'extend_lease';
const HOUR = 3_600_000;

export type ExtendOutcome =
  | {
      status: 'extended';
      instance_id: string;
      lease: LeaseView;
      quote: Quote;
      approved_by: 'elicitation' | 'token' | 'url' | 'policy';
    }
  | (NotYet & { instance_id: string; quote: Quote });

export async function guardedExtend(
  p: Provider,
  id: string,
  hours: number,
  token: string | undefined,
  deps: GateDeps,
): Promise<ExtendOutcome> {
  const lease = await deps.leases.forInstance(p.id, id);
  if (!lease || lease.state === 'lost')
    throw new ComputeError('NOT_FOUND', `${id} has no lease: it was not created through this server`, {
      provider: p.id,
      hint: 'Only VMs created with create_vm here have leases; list_instances shows them.',
    });
  const inst = await p.getInstance(id, { signal: deps.signal });
  if (inst.status === 'terminated' || inst.status === 'terminating')
    throw new ComputeError('CONFLICT', `${id} is ${inst.status}; its lease cannot be extended`, { provider: p.id });
  const quote = extensionQuote(p, inst, lease, hours, deps.leases.now());
  const request = { id, hours, lease: lease.key };
  const decision = decideCreate(quote, deps.policy, undefined, { instances: 0, gpus: 0, usd_per_hour: 0 });
  if (decision.kind === 'deny')
    throw await denied(TOOL, p, decision, deps, { request, quote }, 'the lease was not extended');
  const added = quote.max_total_usd === null ? 'price unknown' : `about $${quote.max_total_usd.toFixed(2)}`;
  const summary = `Extend the lease of ${shown(inst.instance_type)} ${shown(id)} on ${p.id} by ${hours} h (${added}): it then ends at ${quote.expires_at}, ${quote.lifetime_hours} h in all, and is ${quote.on_expiry === 'delete' ? 'deleted' : quote.on_expiry === 'notify' ? 'reported' : 'paused'} then. Name: ${shown(inst.name, true)}.`;
  let how: 'elicitation' | 'token' | 'url' | 'policy' = 'policy';
  if (decision.kind === 'confirm') {
    const answer = await askHuman(p, TOOL, deps, {
      summary: `${summary} Needs a yes because ${decision.reasons.join(' and ')}.`,
      // Bound to the lease's current end: once extended, the same token matches no lease any more.
      binding: {
        request: { tool: TOOL, provider: p.id, ...request, from: lease.expires_at },
        // What is paid for, without the end time (which moves with the clock once a lease has run out).
        quote: { instance_type: quote.instance_type, gpu: quote.gpu, usd_per_hour: quote.usd_per_hour },
        usd_per_hour: quote.usd_per_hour,
      },
      token,
      action: 'extend',
      audit: { request, quote },
      retry: 'call extend_lease again with the same arguments plus confirmation_token',
    });
    if (!answer.approved) {
      if ('used' in answer) throw tokenUsed(p, 'Call extend_lease again without confirmation_token.');
      return { ...answer.answer, instance_id: id, quote };
    }
    how = answer.how;
  } else
    await deps.audit.write({
      tool: TOOL,
      provider: p.id,
      phase: 'decision',
      request,
      quote,
      decision: 'allow',
      how,
      reason: decision.reason,
    });

  return deps.spendLock.run(async () => {
    const now = await deps.leases.get(lease.key);
    if (!now || now.expires_at !== lease.expires_at)
      throw new ComputeError('CONFLICT', 'the lease changed while the human was asked; it was not extended', {
        provider: p.id,
        hint: 'Call extend_lease again for a new summary.',
      });
    const until = Math.max(now.expires_at, deps.leases.now()) + hours * HOUR;
    await deps.audit.write({ tool: TOOL, provider: p.id, phase: 'send', request, quote, how });
    try {
      if (p.setLifetime && now.enforced_by === 'cloud')
        await p.setLifetime(id, new Date(until), { signal: deps.signal });
    } catch (e) {
      await deps.audit.write({ tool: TOOL, provider: p.id, phase: 'cloud', request, error: errorOf(e) });
      throw e;
    }
    const extended = (await deps.leases.extend(lease.key, hours))!;
    await deps.audit.write({
      tool: TOOL,
      provider: p.id,
      phase: 'cloud',
      request,
      instance_id: id,
      status: `lease ends ${new Date(extended.expires_at).toISOString()}`,
    });
    return { status: 'extended' as const, instance_id: id, lease: leaseView(extended), quote, approved_by: how };
  });
}

/** The added hours as a quote: their price, and the lease's whole length for the maxLifetimeHours limit. */
function extensionQuote(p: Provider, i: Instance, l: Lease, hours: number, now: number): Quote {
  const perVm = i.price_usd_per_hour ?? l.usd_per_hour;
  const price = perVm === null ? null : fromMicros(toMicros(perVm) * (i.quantity ?? 1));
  const end = Math.max(l.expires_at, now) + hours * HOUR;
  return {
    provider: p.id,
    instance_type: i.instance_type,
    region: i.region ?? l.region,
    image: '',
    gpu: i.gpu ? { ...i.gpu, count: i.gpu.count * (i.quantity ?? 1) } : null,
    usd_per_hour: price,
    price_source: i.price_usd_per_hour != null ? 'api' : null,
    lifetime_hours: Math.round(((end - l.created_at) / HOUR) * 100) / 100,
    max_total_usd: price === null ? null : fromMicros(Math.round(toMicros(price) * hours)),
    expires_at: new Date(end).toISOString(),
    on_expiry: l.enforced_by === 'cloud' ? 'cloud_ends' : l.on_expiry,
  };
}
