import { z } from 'zod';
import { guardedSnapshot } from '../guardrails/snapshot.js';
import { need } from '../providers/toolkit.js';
import { instanceIdArg, pendingText, providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutSnapshot } from './shapes.js';

export const snapshot = defineTool({
  name: 'snapshot',
  title: 'Snapshot instance',
  description: "Snapshot one VM's disk; a billed snapshot needs a human yes.",
  input: () => ({
    provider: providerArg(),
    id: instanceIdArg(),
    name: z.string().min(1).max(64).describe('Snapshot name'),
    confirmation_token: z.string().max(2_000).optional().describe("After the human's yes"),
  }),
  output: () => ({
    status: z.enum(['created', 'confirmation_required', 'approval_pending', 'declined']),
    snapshot: OutSnapshot().optional(),
    summary: z.string().optional(),
    confirmation_token: z.string().optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: (args, ctx) => {
    const p = ctx.providers.get(args.provider);
    return guardedSnapshot(p, args, need(p, 'snapshot', 'snapshot instances', p.snapshot), ctx.gate);
  },
  render: (out) => {
    if (out.status === 'approval_pending' || out.status === 'confirmation_required')
      return out.status === 'approval_pending'
        ? pendingText('snapshot', out)
        : `CONFIRMATION REQUIRED. ${out.summary}\nShow this to the human. If they approve, call snapshot again with the same arguments and confirmation_token="${out.confirmation_token}" (expires ${out.expires_at}).`;
    if (out.status === 'declined') return `Declined: ${out.message}`;
    const s = out.snapshot;
    return `Snapshot ${s.id} "${s.name}" of ${s.instance_id ?? '?'}: ${s.status}`;
  },
});
