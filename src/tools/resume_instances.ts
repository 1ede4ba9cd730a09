import { defineTool } from './define.js';
import { power, powerInput, powerOutput, renderPower } from './power.js';

export const resumeInstances = defineTool({
  name: 'resume_instances',
  title: 'Resume instances',
  description: 'Resume (start) paused VMs on one cloud; one result per id.',
  input: powerInput,
  output: powerOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: (args, ctx) => power(ctx, args, 'resume'),
  render: renderPower,
});
