/**
 * Every audit line carries the id of the tool call that wrote it, the spend gate's lines included. Regression: lines
 * had no call id, so two concurrent creates interleaved into one unreadable sequence.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/guardrails/audit.js';
import { CPU2, SSH_KEY, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const audit = () => h.state.lines<AuditEntry & { time: string }>('audit.jsonl');
const step = (e: AuditEntry) => [e.phase, e.decision ?? e.status ?? e.error?.code ?? ''].join(':');

/** The audit lines grouped by call id, in the order each call wrote them. */
function byCall(lines: AuditEntry[]): Map<string, AuditEntry[]> {
  const out = new Map<string, AuditEntry[]>();
  for (const l of lines) out.set(l.call_id!, [...(out.get(l.call_id!) ?? []), l]);
  return out;
}

describe('audit call ids', () => {
  it('two parallel creates: each call id groups one complete call → decision → send → cloud → result sequence', async () => {
    h = await startHarness({ emulator: { latencyMs: 5 } });
    const create = (name: string) =>
      h.call('create_vm', { provider: 'genesiscloud', instance_type: CPU2, name, ssh_public_key: SSH_KEY });
    const made = (await Promise.all([create('p1'), create('p2')])).map((r) =>
      sc<{ status: string; instance: { id: string } }>(r),
    );
    expect(made.map((m) => m.status)).toEqual(['created', 'created']);

    const lines = audit();
    for (const l of lines) expect(l.call_id, JSON.stringify(l)).toMatch(/^[0-9a-f-]{36}$/);
    const calls = byCall(lines);
    expect(calls.size).toBe(2);
    for (const seq of calls.values()) {
      expect(seq.map(step)).toEqual(['call:', 'decision:allow', 'send:', 'cloud:running', 'result:created']);
      // One call, one VM: the cloud's answer and the tool's answer name the same instance.
      expect(seq[3]!.instance_id).toBe(seq[4]!.instance_id);
    }
    const ids = [...calls.values()].map((seq) => seq[4]!.instance_id);
    expect(ids.sort()).toEqual(made.map((m) => m.instance.id).sort());
  });

  it("the gate's decision lines of a delete carry the call id of the delete that wrote them; every call gets its own", async () => {
    h = await startHarness();
    const id = sc<{ instance: { id: string } }>(
      await h.call('create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'd', ssh_public_key: SSH_KEY }),
    ).instance.id;
    const ask = sc<{ confirmation_token: string }>(await h.call('delete_vm', { provider: 'genesiscloud', id }));
    await h.call('delete_vm', { provider: 'genesiscloud', id, confirmation_token: ask.confirmation_token });
    await h.call('list_instances', {}); // reads write nothing

    const calls = [...byCall(audit()).values()];
    expect(calls.map((seq) => `${seq[0]!.tool} ${seq.map(step).join(' ')}`)).toEqual([
      'create_vm call: decision:allow send: cloud:running result:created',
      'delete_vm call: decision:confirmation_required result:confirmation_required',
      'delete_vm call: decision:approved send: cloud:deleting result:deleted',
    ]);
  });
});
