import { z } from 'zod';
import { ComputeError } from '../domain/errors.js';
import { confirm } from '../guardrails/confirm.js';
import { decideDelete } from '../guardrails/policy.js';
import { instanceIdArg, providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutInstance } from './shapes.js';

export const deleteVm = defineTool({
  name: 'delete_vm',
  title: 'Delete VM',
  description: 'Delete one VM and its boot disk. Needs a human yes, like create_vm.',
  input: {
    provider: providerArg,
    id: instanceIdArg,
    confirmation_token: z.string().max(2_000).optional().describe('From confirmation_required, after the human said yes'),
  },
  output: {
    status: z.enum(['deleted', 'confirmation_required', 'declined']),
    instance: OutInstance.optional(),
    already_gone: z.boolean().optional(),
    summary: z.string().optional(),
    confirmation_token: z.string().optional(),
    expires_at: z.string().optional(),
    approved_by: z.enum(['elicitation', 'token', 'policy']).optional(),
    message: z.string().optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  handler: async (args, ctx) => {
    const p = ctx.providers.get(args.provider);
    const decision = decideDelete(ctx.config.policy);
    if (decision.kind === 'deny') throw new ComputeError('POLICY_DENIED', `${decision.reason} (${decision.rule}); nothing was deleted`, { provider: p.id, hint: decision.instead });
    let instance;
    try {
      instance = await p.getInstance(args.id, { signal: ctx.signal });
    } catch (e) {
      if (e instanceof ComputeError && e.code === 'NOT_FOUND')
        return { status: 'deleted' as const, already_gone: true, message: `${args.id} does not exist (already deleted, or a wrong id); nothing was done.` };
      throw e;
    }
    const summary = `Delete VM "${instance.name}" (${instance.id}) on ${p.id}: ${instance.instance_type}, ${instance.status}. Its boot disk is lost.`;
    let approvedBy: 'elicitation' | 'token' | 'policy' = 'policy';
    if (decision.kind === 'confirm') {
      const outcome = await confirm({
        summary,
        // Bound to the instance's identity too: a token for one VM never deletes another that reused the id.
        binding: { tool: 'delete_vm', provider: p.id, id: args.id, name: instance.name, created_at: instance.created_at ?? null },
        token: args.confirmation_token, action: 'delete', channel: ctx.human, tokens: ctx.tokens, fallback: ctx.config.policy.confirm.fallback,
      });
      if (!outcome.approved) {
        if (outcome.kind === 'declined') return { status: 'declined' as const, instance, summary, message: outcome.message };
        return {
          status: 'confirmation_required' as const, instance, summary, confirmation_token: outcome.confirmation_token, expires_at: outcome.expires_at,
          message: 'Nothing was deleted. Show the summary to the human; if they approve, call delete_vm again with confirmation_token.',
        };
      }
      approvedBy = outcome.how;
    }
    const r = await p.delete(args.id, { signal: ctx.signal });
    ctx.log.info({ provider: p.id, instance: args.id, approvedBy }, 'vm deleted');
    return { status: 'deleted' as const, instance, already_gone: r.already_gone, approved_by: approvedBy };
  },
  render: (out) => {
    if (out.status === 'confirmation_required')
      return `CONFIRMATION REQUIRED. ${out.summary}\nShow this to the human. If they approve, call delete_vm again with confirmation_token="${out.confirmation_token}" (expires ${out.expires_at}).`;
    if (out.status === 'declined') return `Declined: ${out.message}`;
    return out.already_gone && !out.instance ? out.message ?? 'Already gone.' : `Delete of ${out.instance?.id ?? ''} accepted by ${out.instance?.provider ?? 'the cloud'}; wait_for_instance with status "terminated" confirms it is gone.`;
  },
});
