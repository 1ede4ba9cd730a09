import { z } from 'zod';
import { ComputeError } from '../domain/errors.js';
import { defineTool } from './define.js';

const RESULT = {
  open: 'approved',
  decided: 'already answered',
  expired: 'expired',
  unknown: 'unknown',
} as const;

/** The approval card's buttons (src/approval/card.ts): app-only, with the secret the card got outside the model. */
export const approveInApp = defineTool({
  name: 'approve_in_app',
  title: 'Answer an approval',
  description: 'For the approval card only: the human approves or declines.',
  input: () => ({
    approval_id: z.string().max(100).describe('The approval'),
    secret: z.string().max(100).describe("The card's secret"),
    action: z.enum(['approve', 'decline']).describe('The answer'),
  }),
  output: () => ({ status: z.enum(['approved', 'declined', 'already answered', 'expired', 'unknown']) }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  appOnly: true,
  handler: async (args, ctx) => {
    const desk = ctx.gate.desk;
    if (!desk) throw new ComputeError('NOT_FOUND', 'this server has no approvals', {});
    const from = `in the approval card (${ctx.clientName ?? 'an MCP Apps host'})`;
    const state = desk.approvals.decideWithSecret(args.approval_id, args.secret, args.action, from);
    if (state === 'open') {
      ctx.log.info({ approval: args.approval_id, action: args.action, from }, 'approval answered');
      return { status: args.action === 'approve' ? ('approved' as const) : ('declined' as const) };
    }
    return { status: RESULT[state] };
  },
  render: (out) =>
    ({
      approved: 'Approved. The agent goes ahead when it calls again.',
      declined: 'Declined. Nothing will be done.',
      'already answered': 'This approval was already answered.',
      expired: 'This approval expired; nothing was done.',
      unknown: 'No such approval.',
    })[out.status],
});
