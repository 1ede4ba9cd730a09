import { z } from 'zod';
import { guardedExtend } from '../guardrails/extend.js';
import { instanceIdArg, pendingText, providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutQuote } from './shapes.js';

export const extendLease = defineTool({
  name: 'extend_lease',
  title: 'Extend lease',
  description:
    "Give a VM created here more hours before its lease ends; it is spending, so like create_vm it may need a human's yes.",
  input: () => ({
    provider: providerArg(),
    id: instanceIdArg(),
    hours: z.number().positive().max(8_760).describe('Hours to add'),
    confirmation_token: z.string().max(2_000).optional().describe("After the human's yes"),
  }),
  output: () => ({
    status: z.enum(['extended', 'confirmation_required', 'approval_pending', 'declined']),
    instance_id: z.string(),
    lease: z.looseObject({ expires_at: z.string() }).optional(),
    quote: OutQuote(),
    summary: z.string().optional(),
    confirmation_token: z.string().optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: (args, ctx) =>
    guardedExtend(ctx.providers.get(args.provider), args.id, args.hours, args.confirmation_token, ctx.gate),
  render: (out) => {
    if (out.status === 'approval_pending' || out.status === 'confirmation_required')
      return out.status === 'approval_pending'
        ? pendingText('extend_lease', out)
        : `CONFIRMATION REQUIRED. ${out.summary}\nShow this to the human. If they approve, call extend_lease again with confirmation_token="${out.confirmation_token}" (expires ${out.expires_at}).`;
    if (out.status === 'declined') return `Declined: ${out.message}`;
    return `Lease of ${out.instance_id} extended: it ends at ${out.lease?.expires_at}, then ${out.lease?.then.replace('_', ' ')}.`;
  },
});
