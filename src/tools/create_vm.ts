import { z } from 'zod';
import { ComputeError } from '../domain/errors.js';
import type { CreateRequest } from '../domain/model.js';
import { confirm } from '../guardrails/confirm.js';
import { decideCreate } from '../guardrails/policy.js';
import { makeQuote, quoteSummary } from '../guardrails/quote.js';
import { money, providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutInstance, OutQuote, OutRequest } from './shapes.js';
import { waitForStatus } from './wait.js';

export const createVm = defineTool({
  name: 'create_vm',
  title: 'Create VM',
  description:
    'Create one VM. Costly VMs need a human yes: show the returned summary to the user, then call again with the same arguments plus confirmation_token. dry_run quotes without creating.',
  input: {
    provider: providerArg,
    instance_type: z.string().min(1).max(200).describe('Type id from list_instance_types'),
    region: z.string().max(100).optional().describe('Region; omit for the first with capacity'),
    image: z.string().max(200).optional().describe('Image id or slug from list_images; omit for the default Ubuntu'),
    name: z.string().min(1).max(64).describe('VM name'),
    ssh_public_key: z.string().max(16_384).optional().describe('SSH public key text; registered with the cloud if new'),
    startup_script: z.string().max(65_536).optional().describe('Script run on first boot'),
    disk_gib: z.number().int().min(1).max(65_536).optional().describe('Boot disk size, GiB'),
    lifetime_hours: z.number().positive().max(8_760).optional().describe('Planned hours, for the cost cap in the quote'),
    from_snapshot: z.string().max(200).optional().describe('Snapshot id to restore from (see list_snapshots)'),
    idempotency_key: z.string().min(1).max(200).optional().describe('Same key + same arguments never creates twice'),
    confirmation_token: z.string().max(2_000).optional().describe('From confirmation_required, after the human said yes'),
    dry_run: z.boolean().default(false).describe('Only quote and show the request; create nothing'),
    wait_seconds: z.number().int().min(0).max(50).default(0).describe('Wait up to this long for running'),
  },
  output: {
    status: z.enum(['created', 'existing', 'confirmation_required', 'dry_run', 'declined']),
    instance: OutInstance.optional(),
    quote: OutQuote.optional(),
    summary: z.string().optional(),
    confirmation_token: z.string().optional(),
    expires_at: z.string().optional(),
    request: OutRequest.optional(),
    preparatory_steps: z.array(z.string()).optional(),
    approved_by: z.enum(['elicitation', 'token', 'policy']).optional(),
    message: z.string().optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: async (args, ctx) => {
    const p = ctx.providers.get(args.provider);
    const policy = ctx.config.policy;
    const req: CreateRequest = {
      instance_type: args.instance_type, name: args.name,
      ...pick(args, ['region', 'image', 'ssh_public_key', 'startup_script', 'disk_gib', 'from_snapshot']),
    };
    if (args.image && args.from_snapshot) throw new ComputeError('INVALID_INPUT', 'pass image or from_snapshot, not both', { provider: p.id, hint: 'Drop one of them.' });

    const plan = await p.planCreate(req, { signal: ctx.signal });
    const quote = makeQuote(plan, args.lifetime_hours ?? policy.limits.maxLifetimeHours ?? null);
    const summary = quoteSummary(quote, args.name);
    if (args.dry_run)
      return { status: 'dry_run' as const, quote, summary, request: plan.request, preparatory_steps: plan.preparatory_steps };

    const decision = decideCreate(quote, policy);
    if (decision.kind === 'deny')
      throw new ComputeError('POLICY_DENIED', `${decision.reason} (${decision.rule}); no VM was created`, { provider: p.id, hint: decision.instead });

    // Bound to everything that decides what gets created and what it costs; wait_seconds changes neither.
    const { confirmation_token: token, wait_seconds: _w, ...boundArgs } = args;
    let approvedBy: 'elicitation' | 'token' | 'policy' = 'policy';
    if (decision.kind === 'confirm') {
      const asked = `${summary} Needs a yes because ${decision.reasons.join(' and ')}.`;
      const outcome = await confirm({
        summary: asked,
        binding: { tool: 'create_vm', args: boundArgs, quote },
        token, action: 'create', channel: ctx.human, tokens: ctx.tokens, fallback: policy.confirm.fallback,
      });
      if (!outcome.approved) {
        if (outcome.kind === 'declined') return { status: 'declined' as const, quote, summary: asked, message: outcome.message };
        return {
          status: 'confirmation_required' as const, quote, summary: asked, confirmation_token: outcome.confirmation_token, expires_at: outcome.expires_at,
          message: 'Nothing was created. Show the summary to the human; if they approve, call create_vm again with the same arguments plus confirmation_token.',
        };
      }
      approvedBy = outcome.how;
    }

    const key = args.idempotency_key;
    if (key) {
      const claim = await ctx.idempotency.claim(key, p.id, { provider: p.id, ...req });
      if ('existing' in claim) {
        const instance = await p.getInstance(claim.existing, { signal: ctx.signal });
        return { status: 'existing' as const, instance, quote, message: `idempotency_key already created ${instance.id}; no new VM was created.` };
      }
    }
    let instance;
    try {
      instance = await p.create(plan, { signal: ctx.signal });
    } catch (e) {
      if (key) ctx.idempotency.settle(key, undefined);
      throw e;
    }
    if (key) ctx.idempotency.settle(key, instance.id);
    ctx.log.info({ provider: p.id, instance: instance.id, type: quote.instance_type, usd_per_hour: quote.usd_per_hour, approvedBy }, 'vm created');

    if (args.wait_seconds > 0) {
      const w = await waitForStatus(ctx, p, instance.id, 'running', args.wait_seconds);
      if (w.instance) instance = w.instance;
    }
    return { status: 'created' as const, instance, quote, approved_by: approvedBy };
  },
  render: (out) => {
    switch (out.status) {
      case 'dry_run':
        return `Dry run, nothing created. ${out.summary}\nWould send: ${out.request?.method} ${out.request?.path} ${JSON.stringify(out.request?.body)}`;
      case 'confirmation_required':
        return `CONFIRMATION REQUIRED. ${out.summary}\nShow this to the human. If they approve, call create_vm again with the same arguments and confirmation_token="${out.confirmation_token}" (expires ${out.expires_at}).`;
      case 'declined':
        return `Declined: ${out.message} ${out.summary ?? ''}`.trim();
      default: {
        const i = out.instance!;
        return `${out.status === 'existing' ? 'Already created' : 'Created'} ${i.provider} ${i.id} "${i.name}": ${i.status}, ${i.instance_type} in ${i.region ?? '?'}, ${money(i.price_usd_per_hour)}${i.ssh ? `. SSH: ${i.ssh}` : ''}`;
      }
    }
  },
});

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
