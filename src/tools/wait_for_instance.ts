import { z } from 'zod';
import { InstanceStatusSchema } from '../domain/model.js';
import { instanceIdArg, providerArg } from './common.js';
import { defineTool } from './define.js';
import { OutInstance } from './shapes.js';
import { waitForStatus } from './wait.js';

export const waitForInstance = defineTool({
  name: 'wait_for_instance',
  title: 'Wait for instance',
  description: 'Wait (≤ 50 s) for a VM to reach a status; returns its state either way.',
  input: () => ({
    provider: providerArg(),
    id: instanceIdArg(),
    status: InstanceStatusSchema.default('running').describe('"terminated" also matches a deleted VM'),
    timeout_seconds: z.number().int().min(1).max(50).default(30).describe('Seconds to wait, at most 50'),
  }),
  output: () => ({
    reached: z.boolean(),
    instance: OutInstance().nullable(),
    waited_seconds: z.number(),
    message: z.string().optional(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: async (args, ctx) =>
    waitForStatus(ctx, ctx.providers.get(args.provider), args.id, args.status, args.timeout_seconds),
  render: (out) =>
    `${out.reached ? 'Reached' : 'Not reached'} after ${out.waited_seconds}s: ${out.instance ? `${out.instance.id} is ${out.instance.status}` : 'instance gone'}${out.message ? `. ${out.message}` : ''}`,
});
