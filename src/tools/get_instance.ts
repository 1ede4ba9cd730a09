import { instanceIdArg, leaseText, money, providerArg, withLeases } from './common.js';
import { defineTool } from './define.js';
import { OutInstance } from './shapes.js';

export const getInstance = defineTool({
  name: 'get_instance',
  title: 'Get instance',
  description: 'Get one VM: status, type, region, IPs, SSH command, price and lease.',
  input: () => ({ provider: providerArg(), id: instanceIdArg() }),
  output: () => ({ instance: OutInstance() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: async (args, ctx) => {
    const one = await ctx.providers.get(args.provider).getInstance(args.id, { signal: ctx.signal });
    const [instance] = await withLeases(ctx, [one]);
    return { instance: instance! };
  },
  render: ({ instance: i }) =>
    `${i.provider} ${i.id} "${i.name}": ${i.status} (${i.provider_status}), ${i.instance_type}${i.region ? ` in ${i.region}` : ''}, ${money(i.price_usd_per_hour)}${i.expires_at ? `, ends by itself at ${i.expires_at}` : ''}${i.billing_ends_at ? `, billed until ${i.billing_ends_at}` : ''}${leaseText(i)}${i.ssh ? `\nSSH: ${i.ssh}` : ''}`,
});
