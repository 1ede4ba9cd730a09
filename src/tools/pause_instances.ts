import { defineTool } from './define.js';
import { pause, powerInput, powerOutput, renderPower } from './power.js';

export const pauseInstances = defineTool({
  name: 'pause_instances',
  title: 'Pause instances',
  description: 'Pause (stop) VMs on one cloud; one result per id.',
  input: powerInput,
  output: powerOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: (args, ctx) => pause(ctx, args),
  render: renderPower,
});
