import { z } from 'zod';
import { guardedResume } from '../guardrails/resume.js';
import { pendingText } from './common.js';
import { defineTool } from './define.js';
import { powerInput, powerOutput, powerTargets, renderPower } from './power.js';

export const resumeInstances = defineTool({
  name: 'resume_instances',
  title: 'Resume instances',
  description: 'Resume paused VMs on one cloud; billing again needs a yes, like create_vm.',
  input: () => ({
    ...powerInput(),
    confirmation_token: z.string().max(2_000).optional().describe("After the human's yes"),
  }),
  output: () => ({
    ...powerOutput(),
    status: z.enum(['done', 'confirmation_required', 'approval_pending', 'declined']).optional(),
    summary: z.string().optional(),
    confirmation_token: z.string().optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: async (args, ctx) => {
    const { p, ids, unsupported } = powerTargets(ctx, args, 'resume');
    return unsupported
      ? { status: 'done' as const, ...unsupported }
      : guardedResume(p, ids, args.confirmation_token, ctx.gate);
  },
  render: (out) => {
    if (out.status === 'approval_pending' || out.status === 'confirmation_required')
      return out.status === 'approval_pending'
        ? pendingText('resume_instances', out)
        : `CONFIRMATION REQUIRED. ${out.summary}\nShow this to the human. If they approve, call resume_instances again with the same ids and confirmation_token="${out.confirmation_token}" (expires ${out.expires_at}).`;
    if (out.status === 'declined') return `Declined: ${out.message}`;
    return renderPower(out);
  },
});
