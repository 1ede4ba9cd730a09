/**
 * Pure policy decisions (SPEC §5.2): deny (with the rule and what would be allowed instead), allow, or confirm.
 * No I/O: the caller supplies the quote.
 */
import type { Policy } from '../config.js';
import { anyGlob } from './glob.js';
import { additionOf, checkTotals, type Addition, type Usage } from './limits.js';
import type { Quote } from './quote.js';

export type Decision =
  | { kind: 'allow'; reason: string }
  | { kind: 'deny'; rule: string; reason: string; instead: string }
  | { kind: 'confirm'; reasons: string[] };

/**
 * Whether to start billing for `q`: a create, or a resume (whose `add` is the GPUs and price of a VM already counted).
 * `usage` (what already runs) is needed when a total limit is set; without it the totals are not checked.
 */
export function decideCreate(q: Quote, p: Policy, usage?: Usage, add: Addition = additionOf(q)): Decision {
  if (p.readOnly)
    return deny(
      'policy.readOnly',
      'the server is in read-only mode',
      'Only read tools can be used; ask the operator to turn off readOnly.',
    );
  if (!anyGlob(p.allow.providers, q.provider))
    return deny(
      'policy.allow.providers',
      `provider ${q.provider} is not allowed`,
      `Allowed providers: ${p.allow.providers.join(', ')}.`,
    );
  if (!anyGlob(p.allow.regions, q.region))
    return deny(
      'policy.allow.regions',
      `region ${q.region} is not allowed`,
      `Allowed regions: ${p.allow.regions.join(', ')}; pass region.`,
    );
  if (!anyGlob(p.allow.instanceTypes, q.instance_type))
    return deny(
      'policy.allow.instanceTypes',
      `instance type ${q.instance_type} is not allowed`,
      `Allowed types: ${p.allow.instanceTypes.join(', ')}.`,
    );
  const l = p.limits;
  // A hard limit that cannot be checked denies: an unknown price is not "within" any limit.
  if (l.maxUsdPerHourPerVm !== undefined && q.usd_per_hour === null)
    return deny(
      'policy.limits.maxUsdPerHourPerVm',
      `the price of ${q.instance_type} on ${q.provider} is unknown, so the limit of $${l.maxUsdPerHourPerVm}/hour per VM cannot be checked`,
      `Ask the operator to set prices.${q.provider}["${q.instance_type}"] in the config file, or pick a type whose price is known (list_instance_types).`,
    );
  if (l.maxUsdPerHourPerVm !== undefined && q.usd_per_hour !== null && q.usd_per_hour > l.maxUsdPerHourPerVm)
    return deny(
      'policy.limits.maxUsdPerHourPerVm',
      `$${q.usd_per_hour}/hour is above the limit of $${l.maxUsdPerHourPerVm}/hour per VM`,
      'Pick a cheaper type with list_instance_types max_usd_per_hour.',
    );
  if (l.maxLifetimeHours !== undefined && q.lifetime_hours !== null && q.lifetime_hours > l.maxLifetimeHours)
    return deny(
      'policy.limits.maxLifetimeHours',
      `a lifetime of ${q.lifetime_hours} h is above the limit of ${l.maxLifetimeHours} h`,
      `Use lifetime_hours ≤ ${l.maxLifetimeHours}.`,
    );

  const totals = usage ? checkTotals(add, usage, p) : { ok: true as const };
  if (!totals.ok) return deny(totals.rule, totals.reason, totals.instead);

  const reasons: string[] = [];
  if (q.usd_per_hour === null) reasons.push('the price is unknown');
  if (
    q.usd_per_hour !== null &&
    reasons.length === 0 &&
    p.autoApprove.maxUsdPerHour > 0 &&
    q.usd_per_hour <= p.autoApprove.maxUsdPerHour
  )
    return { kind: 'allow', reason: `within autoApprove.maxUsdPerHour ($${p.autoApprove.maxUsdPerHour}/hour)` };
  if (q.gpu && p.confirm.gpu === 'always') reasons.push('it has GPUs');
  if (q.usd_per_hour !== null && q.usd_per_hour > p.confirm.aboveUsdPerHour)
    reasons.push(`it costs more than $${p.confirm.aboveUsdPerHour}/hour`);
  if (reasons.length) return { kind: 'confirm', reasons };
  return { kind: 'allow', reason: `CPU VM at or under confirm.aboveUsdPerHour ($${p.confirm.aboveUsdPerHour}/hour)` };
}

export function decideDelete(p: Policy): Decision {
  if (p.readOnly) return deny('policy.readOnly', 'the server is in read-only mode', 'Only read tools can be used.');
  if (p.disableDestructive)
    return deny(
      'policy.disableDestructive',
      'destructive tools are disabled',
      'Delete it in the cloud console, or ask the operator.',
    );
  return p.confirm.delete === 'always'
    ? { kind: 'confirm', reasons: ['deletes need confirmation'] }
    : { kind: 'allow', reason: 'confirm.delete is "never"' };
}

const deny = (rule: string, reason: string, instead: string): Decision => ({ kind: 'deny', rule, reason, instead });
