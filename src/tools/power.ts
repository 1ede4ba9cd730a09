/** pause_instances and resume_instances share one shape: validate every target, then act, one result per id. */
import { z } from 'zod';
import { isUnsupported, type PowerResult } from '../domain/model.js';
import { need } from '../providers/toolkit.js';
import { providerArg } from './common.js';
import type { ToolContext } from './define.js';

export const powerInput = () => ({
  provider: providerArg(),
  ids: z.array(z.string().min(1).max(200)).min(1).max(50).describe('Instance ids (1-50)'),
});
export const powerOutput = () => ({
  results: z.array(
    z.object({ id: z.string(), result: z.string(), status: z.string().optional(), message: z.string().optional() }),
  ),
});

/** The ids once each, or the capability's sentence for every id when the cloud cannot do it. */
export function powerTargets(ctx: ToolContext, args: { provider: string; ids: string[] }, kind: 'pause' | 'resume') {
  const p = ctx.providers.get(args.provider);
  const ids = [...new Set(args.ids)];
  const cap = p.capabilities[kind];
  const op = p[kind];
  const why = isUnsupported(cap) ? cap.unsupported : op ? undefined : 'this version has no way to do it';
  const unsupported = why
    ? { results: ids.map((id) => ({ id, result: 'unsupported' as const, message: why })) }
    : undefined;
  return { p, ids, unsupported };
}

/** Pausing stops billing: no gate, and the ledger stops counting those VMs' GPUs and price. */
export async function pause(
  ctx: ToolContext,
  args: { provider: string; ids: string[] },
): Promise<{ results: PowerResult[] }> {
  const { p, ids, unsupported } = powerTargets(ctx, args, 'pause');
  if (unsupported) return unsupported;
  const results = await need(p, 'pause', 'pause instances', p.pause)(ids, { signal: ctx.signal });
  // Paused whatever the store says: a claim it could not release only counts a little longer (never too little).
  for (const r of results)
    if (r.result === 'paused' || r.result === 'already_paused')
      await ctx.gate.ledger
        .pausedInstance(p.id, r.id)
        .catch((err: unknown) => ctx.log.warn({ err }, 'the ledger could not record a pause'));
  return { results };
}

export const renderPower = (out: { results: PowerResult[] }) =>
  out.results
    .map((r) => `${r.id}: ${r.result}${r.status ? ` (${r.status})` : ''}${r.message ? ` — ${r.message}` : ''}`)
    .join('\n');
