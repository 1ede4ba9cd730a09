import { z } from 'zod';
import { ComputeError } from '../domain/errors.js';
import { createInputShape, requestOf } from '../domain/create.js';
import { guardedCreate } from '../guardrails/gate.js';
import { money, pendingText, providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutInstance, OutQuote, OutRequest } from './shapes.js';
import { waitForStatus } from './wait.js';

export const createVm = defineTool({
  name: 'create_vm',
  title: 'Create VM',
  description:
    "Create one VM. Costly VMs need a human's yes: show the summary, then call again with confirmation_token. dry_run only quotes.",
  input: () => ({
    provider: providerArg(),
    ...createInputShape(),
    lifetime_hours: z.number().positive().max(8_760).optional().describe("Lease hours; default: the policy's"),
    idempotency_key: z.string().min(1).max(200).optional().describe('Same key and args never create twice'),
    confirmation_token: z.string().max(2_000).optional().describe("After the human's yes"),
    dry_run: z.boolean().default(false).describe('Quote only; create nothing'),
    wait_seconds: z.number().int().min(0).max(50).default(0).describe('Seconds to wait for running'),
  }),
  output: () => ({
    status: z.enum(['created', 'existing', 'confirmation_required', 'approval_pending', 'dry_run', 'declined']),
    instance: OutInstance().optional(),
    quote: OutQuote().optional(),
    summary: z.string().optional(),
    confirmation_token: z.string().optional(),
    request: OutRequest().optional(),
    preparatory_steps: z.array(z.string()).optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: async (args, ctx) => {
    const p = ctx.providers.get(args.provider);
    const request = requestOf(args);
    if (request.image && request.from_snapshot)
      throw new ComputeError('INVALID_INPUT', 'pass image or from_snapshot, not both', {
        provider: p.id,
        hint: 'Drop one of them.',
      });
    const { provider, lifetime_hours, idempotency_key, confirmation_token, dry_run } = args;
    const out = await guardedCreate(
      p,
      { provider, request, lifetime_hours, idempotency_key, confirmation_token, dry_run },
      ctx.gate,
    );
    if (out.status === 'created' && args.wait_seconds > 0) {
      const w = await waitForStatus(ctx, p, out.instance.id, 'running', args.wait_seconds);
      if (w.instance) return { ...out, instance: w.instance };
    }
    return out;
  },
  render: (out) => {
    switch (out.status) {
      case 'dry_run':
        return `Dry run, nothing created. ${out.summary}\nWould send: ${out.request?.method} ${out.request?.path} ${JSON.stringify(out.request?.body)}`;
      case 'approval_pending':
        return pendingText('create_vm', out);
      case 'confirmation_required':
        return `CONFIRMATION REQUIRED. ${out.summary}\nShow this to the human. If they approve, call create_vm again with the same arguments and confirmation_token="${out.confirmation_token}" (expires ${out.expires_at}).`;
      case 'declined':
        return `Declined: ${out.message} ${out.summary ?? ''}`.trim();
      default: {
        const i = out.instance;
        const line = `${i.provider} ${i.id} "${i.name}": ${i.status}, ${i.instance_type} in ${i.region ?? '?'}, ${money(i.price_usd_per_hour)}${i.ssh ? `. SSH: ${i.ssh}` : ''}`;
        return out.status === 'existing' ? `${out.message ?? 'Already created.'}\n${line}` : `Created ${line}`;
      }
    }
  },
});
