/**
 * The audit log: one JSON line per change and per confirmation decision, appended to `audit.jsonl` in the state
 * directory (0600), synced before the call goes on. A change is written before the cloud is called and again after,
 * so a crash mid-call leaves the intent on disk. Secrets never reach it: see `redactArgs`.
 */
import { createHash } from 'node:crypto';
import type { StateDir } from '../state/dir.js';

export const AUDIT_FILE = 'audit.jsonl';

export interface AuditEntry {
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
  how?: 'policy' | 'elicitation' | 'token' | 'idempotency';
  reason?: string;
  instance_id?: string;
  status?: string;
  error?: { code: string; message: string };
}

export class AuditLog {
  constructor(private readonly state: StateDir) {}

  write(e: AuditEntry): void {
    this.state.append(AUDIT_FILE, { time: new Date().toISOString(), ...e });
  }

  read(): (AuditEntry & { time: string })[] {
    return this.state.lines(AUDIT_FILE);
  }
}

/** Arguments as they may be written down: tokens dropped, keys and scripts reduced to a fingerprint or a size. */
export function redactArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (k === 'confirmation_token') out[k] = v === undefined ? undefined : '[redacted]';
    else if (k === 'ssh_public_key' && typeof v === 'string') out[k] = `sha256:${createHash('sha256').update(v.trim()).digest('hex').slice(0, 16)}`;
    else if (k === 'startup_script' && typeof v === 'string') out[k] = `<${Buffer.byteLength(v)} bytes>`;
    else out[k] = v;
  }
  return out;
}
