/**
 * A snapshot that may be billed (a cloud that sells snapshots as an addon) is spending: the human says yes first, as for
 * a create of unknown price, and the audit records it. Snapshots that cost nothing extra go straight through.
 */
import type { Snapshot } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import { askHuman, denied, errorOf, tokenUsed, type GateDeps, type NotYet } from './gate.js';
import { shown } from './quote.js';

const TOOL = 'snapshot';

export type SnapshotOutcome =
  { status: 'created'; snapshot: Snapshot; approved_by?: 'elicitation' | 'token' | 'url' } | NotYet;

export async function guardedSnapshot(
  p: Provider,
  args: { id: string; name: string; confirmation_token?: string },
  take: (id: string, name: string, opts?: { signal?: AbortSignal }) => Promise<Snapshot>,
  deps: GateDeps,
): Promise<SnapshotOutcome> {
  const request = { tool: TOOL, provider: p.id, id: args.id, name: args.name };
  if (deps.policy.readOnly)
    throw await denied(
      TOOL,
      p,
      {
        kind: 'deny',
        rule: 'policy.readOnly',
        reason: 'the server is in read-only mode',
        instead: 'Only read tools can be used.',
      },
      deps,
      { request },
      'nothing was done',
    );
  if (!p.snapshotSpends)
    return { status: 'created', snapshot: await take(args.id, args.name, { signal: deps.signal }) };
  const summary = `Snapshot on ${p.id}: instance ${shown(args.id)}, price unknown: ${p.snapshotSpends} Name: ${shown(args.name, true)}.`;
  const answer = await askHuman(p, TOOL, deps, {
    summary: `${summary} Needs a yes because it may be billed.`,
    binding: { request, quote: { spends: p.snapshotSpends } },
    token: args.confirmation_token,
    action: 'snapshot',
    audit: { request },
    retry: 'call snapshot again with the same arguments plus confirmation_token',
  });
  if (!answer.approved) {
    if ('used' in answer) throw tokenUsed(p, 'Call snapshot again without confirmation_token.');
    return answer.answer;
  }
  await deps.audit.write({ tool: TOOL, provider: p.id, phase: 'send', request, how: answer.how });
  try {
    const snapshot = await take(args.id, args.name, { signal: deps.signal });
    await deps.audit.write({
      tool: TOOL,
      provider: p.id,
      phase: 'cloud',
      request,
      status: snapshot.status,
      reason: `snapshot ${snapshot.id}`,
    });
    return { status: 'created', snapshot, approved_by: answer.how };
  } catch (e) {
    await deps.audit.write({ tool: TOOL, provider: p.id, phase: 'cloud', request, error: errorOf(e) });
    throw e;
  }
}
