import { z } from 'zod';
import { guardedDelete } from '../guardrails/gate.js';
import { instanceIdArg, pendingText, providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutInstance } from './shapes.js';

export const deleteVm = defineTool({
  name: 'delete_vm',
  title: 'Delete VM',
  description: 'Delete one VM and its boot disk. Needs a human yes, like create_vm.',
  input: () => ({
    provider: providerArg(),
    id: instanceIdArg(),
    confirmation_token: z.string().max(2_000).optional().describe("After the human's yes"),
  }),
  output: () => ({
    status: z.enum(['deleted', 'confirmation_required', 'approval_pending', 'declined']),
    instance: OutInstance().optional(),
    already_gone: z.boolean().optional(),
    summary: z.string().optional(),
    confirmation_token: z.string().optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  handler: (args, ctx) => guardedDelete(ctx.providers.get(args.provider), args.id, args.confirmation_token, ctx.gate),
  render: (out) => {
    if (out.status === 'approval_pending' || out.status === 'confirmation_required')
      return out.status === 'approval_pending'
        ? pendingText('delete_vm', out)
        : `CONFIRMATION REQUIRED. ${out.summary}\nShow this to the human. If they approve, call delete_vm again with confirmation_token="${out.confirmation_token}" (expires ${out.expires_at}).`;
    if (out.status === 'declined') return `Declined: ${out.message}`;
    return out.already_gone && !out.instance
      ? (out.message ?? 'Already gone.')
      : `Delete of ${out.instance?.id ?? ''} accepted by ${out.instance?.provider ?? 'the cloud'}; wait_for_instance with status "terminated" confirms it is gone.${'billing_ends_at' in out && out.billing_ends_at ? ` Billing continues until ${out.billing_ends_at}.` : ''}`;
  },
});
