/** pause_instances and resume_instances share one shape: validate every target, then act, one result per id. */
import { z } from 'zod';
import type { PowerResult } from '../domain/model.js';
import { providerArg } from './common.js';
import type { ToolContext } from './define.js';

export const powerInput = {
  provider: providerArg,
  ids: z.array(z.string().min(1).max(200)).min(1).max(50).describe('Instance ids (1-50)'),
};
export const powerOutput = {
  results: z.array(z.object({ id: z.string(), result: z.string(), status: z.string().optional(), message: z.string().optional() })),
};

export async function power(
  ctx: ToolContext,
  args: { provider: z.infer<typeof providerArg>; ids: string[] },
  kind: 'pause' | 'resume',
): Promise<{ results: PowerResult[] }> {
  const p = ctx.providers.get(args.provider);
  const ids = [...new Set(args.ids)];
  const cap = p.capabilities[kind];
  if (cap !== true) return { results: ids.map((id) => ({ id, result: 'unsupported' as const, message: cap })) };
  return { results: kind === 'pause' ? await p.pause(ids, { signal: ctx.signal }) : await p.resume(ids, { signal: ctx.signal }) };
}

export const renderPower = (out: { results: PowerResult[] }) =>
  out.results.map((r) => `${r.id}: ${r.result}${r.status ? ` (${r.status})` : ''}${r.message ? ` — ${r.message}` : ''}`).join('\n');
