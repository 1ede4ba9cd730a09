/**
 * The audit log: one entry per change and per confirmation decision, appended to the store's `audit` stream
 * (`audit.jsonl`, 0600, in the state directory; an append-only table in PostgreSQL), durable before the call goes on.
 * A change is written before the cloud is called and again after, so a crash mid-call leaves the intent behind. A
 * change whose audit line cannot be written is not made. Secrets never reach it: see `redactArgs`.
 */
import { createHash } from 'node:crypto';
import type { StateStore } from '../state/store.js';

export interface AuditEntry {
  /** The tool call this line belongs to (one id per call, on every line it writes), so concurrent calls stay apart. */
  call_id?: string;
  tool: string;
  provider?: string;
  /**
   * call: a changing tool was called · decision: the policy or a human decided · send: the cloud is about to be called ·
   * cloud: what the cloud answered · result: what the tool answered.
   */
  phase: 'call' | 'decision' | 'send' | 'cloud' | 'result';
  request?: Record<string, unknown>;
  quote?: unknown;
  decision?: 'allow' | 'deny' | 'confirm' | 'approved' | 'declined' | 'confirmation_required' | 'existing';
  how?: 'policy' | 'elicitation' | 'token' | 'url' | 'idempotency';
  reason?: string;
  instance_id?: string;
  status?: string;
  error?: { code: string; message: string };
}

export class AuditLog {
  constructor(
    private readonly state: StateStore,
    private readonly callId?: string,
  ) {}

  /**
   * The same log, stamping `call_id` on every line. register.ts hands one to each call, the spend gate included, so
   * whatever writes during a call needs no id of its own. Still an AuditLog: the gate's type stays as it is.
   */
  forCall(callId: string): AuditLog {
    return new AuditLog(this.state, callId);
  }

  write(e: AuditEntry): Promise<void> {
    const { call_id = this.callId, ...rest } = e;
    return this.state.append('audit', { time: new Date().toISOString(), ...(call_id ? { call_id } : {}), ...rest });
  }

  async read(): Promise<(AuditEntry & { time: string })[]> {
    return (await this.state.tail<AuditEntry & { time: string }>('audit', 0)).lines;
  }
}

/** Arguments as they may be written down: tokens dropped, keys and scripts reduced to a fingerprint or a size. */
export function redactArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (k === 'confirmation_token' || k === 'secret') out[k] = v === undefined ? undefined : '[redacted]';
    else if (k === 'ssh_public_key' && typeof v === 'string')
      out[k] = `sha256:${createHash('sha256').update(v.trim()).digest('hex').slice(0, 16)}`;
    else if (k === 'startup_script' && typeof v === 'string') out[k] = `<${Buffer.byteLength(v)} bytes>`;
    else out[k] = v;
  }
  return out;
}
