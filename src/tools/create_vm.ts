import { z } from 'zod';
import { ComputeError } from '../domain/errors.js';
import { guardedCreate } from '../guardrails/gate.js';
import { money, providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutInstance, OutQuote, OutRequest } from './shapes.js';
import { waitForStatus } from './wait.js';

/**
 * Names reach the human's approval summary and the cloud: identifiers only, so no name can read as a sentence
 * ("(no GPU) at $0.01/hour. Safe to approve.") or break a line.
 */
const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const createVm = defineTool({
  name: 'create_vm',
  title: 'Create VM',
  description:
    'Create one VM. Costly VMs need a human yes: show the summary to the user, then repeat the call with confirmation_token. dry_run only quotes.',
  input: {
    provider: providerArg,
    instance_type: z.string().min(1).max(200).describe('Type id from list_instance_types'),
    region: z.string().max(100).optional().describe('Region; omit for the first with capacity'),
    image: z.string().max(200).optional().describe('Image id or slug from list_images; omit for the default Ubuntu'),
    name: z
      .string()
      .max(63)
      .regex(VM_NAME, 'use 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit')
      .describe('VM name'),
    ssh_public_key: z.string().max(16_384).optional().describe('SSH public key text; registered with the cloud if new'),
    startup_script: z.string().max(65_536).optional().describe('Script run on first boot'),
    disk_gib: z.number().int().min(1).max(65_536).optional().describe('Boot disk size, GiB'),
    lifetime_hours: z.number().positive().max(8_760).optional().describe('Planned hours, for the cost cap in the quote'),
    from_snapshot: z.string().max(200).optional().describe('Snapshot id to restore from (see list_snapshots)'),
    limit_price: z.number().positive().max(10_000).optional().describe('Mithril spot bid: max $/hour (default: spot price)'),
    idempotency_key: z.string().min(1).max(200).optional().describe('Same key + same arguments never creates twice'),
    confirmation_token: z.string().max(2_000).optional().describe("Only after the human's yes"),
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
    if (args.image && args.from_snapshot) throw new ComputeError('INVALID_INPUT', 'pass image or from_snapshot, not both', { provider: p.id, hint: 'Drop one of them.' });
    const { limit_price, ...rest } = args;
    const out = await guardedCreate(p, { ...rest, ...(limit_price !== undefined ? { limit_price_usd: limit_price } : {}) }, ctx.gate);
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
