/**
 * Approvals on a page the human opens (src/approval/page.ts): a yes the model cannot give. Each approval has three
 * values: an id the agent may hold (it can only wait on the answer), a link secret (256 bits, only in the link that
 * goes to the human, never in a tool result) and a CSRF token (in the page's form). A link decides once and lives 10
 * minutes; a decision is consumed once by the action it approved. Kept in the memory of the process whose tool call
 * asked: the call waits on it, or a later call of the same process with the id.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const APPROVAL_TTL_MS = 10 * 60 * 1000;

export interface Decision {
  action: 'approve' | 'decline';
  at: number;
  /** Where the answer came from: the remote address and browser of the page's POST, or the app card's tool call. */
  from: string;
}

export interface Approval {
  id: string;
  tool: string;
  provider: string;
  summary: string;
  /** What the approval is for (the request's hash): a later call with the id must ask for exactly this. */
  binding: string;
  created_at: number;
  expires_at: number;
  decision?: Decision;
  /** The approved action happened (or was refused): the approval is spent. */
  consumed?: boolean;
}

export type LinkState = 'open' | 'decided' | 'expired' | 'unknown';

interface Entry {
  approval: Approval;
  secretHash: Buffer;
  csrf: string;
  waiters: Set<() => void>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class Approvals {
  private readonly byId = new Map<string, Entry>();
  private readonly bySecret = new Map<string, Entry>();

  constructor(readonly now: () => number = Date.now) {}

  /** A new approval and its link secret (to go only to the human). */
  create(a: Pick<Approval, 'tool' | 'provider' | 'summary' | 'binding'>): { approval: Approval; secret: string } {
    this.prune();
    const secret = randomBytes(32).toString('base64url');
    const now = this.now();
    const approval: Approval = {
      ...a,
      id: `apr_${randomBytes(16).toString('base64url')}`,
      created_at: now,
      expires_at: now + APPROVAL_TTL_MS,
    };
    const e: Entry = {
      approval,
      secretHash: digest(secret),
      csrf: randomBytes(16).toString('base64url'),
      waiters: new Set(),
    };
    this.byId.set(approval.id, e);
    this.bySecret.set(e.secretHash.toString('hex'), e);
    return { approval, secret };
  }

  get(id: string): Approval | undefined {
    return this.byId.get(id)?.approval;
  }

  /** The approval a link secret opens, with its CSRF token and whether it can still decide. */
  open(secret: string): { approval: Approval; csrf: string; state: LinkState } | undefined {
    const e = this.bySecret.get(digest(secret).toString('hex'));
    if (!e) return undefined;
    return { approval: e.approval, csrf: e.csrf, state: this.stateOf(e.approval) };
  }

  /** The human's answer through the link: only with the page's CSRF token, once, before it expires. */
  decide(secret: string, csrf: string, action: Decision['action'], from: string): LinkState | 'bad_csrf' {
    const e = this.bySecret.get(digest(secret).toString('hex'));
    if (!e) return 'unknown';
    const state = this.stateOf(e.approval);
    if (state !== 'open') return state;
    const given = Buffer.from(csrf);
    const want = Buffer.from(e.csrf);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return 'bad_csrf';
    this.settle(e, { action, at: this.now(), from });
    return 'open';
  }

  /**
   * The app card's answer (its app-only tool): the approval id and the link secret together, as the card got them in
   * the result's `_meta`; an id alone, or a secret of another approval, decides nothing.
   */
  decideWithSecret(id: string, secret: string, action: Decision['action'], from: string): LinkState {
    const e = this.bySecret.get(digest(secret).toString('hex'));
    if (!e || e.approval.id !== id) return 'unknown';
    const state = this.stateOf(e.approval);
    if (state === 'open') this.settle(e, { action, at: this.now(), from });
    return state;
  }

  /** Withdrawn by the asking side (the client declined to open the link, the call was cancelled). */
  withdraw(id: string): void {
    const e = this.byId.get(id);
    if (e && !e.approval.decision)
      this.settle(e, { action: 'decline', at: this.now(), from: 'withdrawn by the server' });
  }

  /** Marks an approval spent: its yes is used once. */
  consume(id: string): void {
    const e = this.byId.get(id);
    if (e) e.approval.consumed = true;
  }

  /**
   * Waits for the human's answer, up to `ms` (or the approval's expiry): the approval as it then is. `tick` runs every
   * `tickMs` while waiting (progress notifications); an aborted `signal` stops the wait.
   */
  async wait(
    id: string,
    opts: { ms: number; signal?: AbortSignal; tick?: () => void; tickMs?: number },
  ): Promise<Approval | undefined> {
    const e = this.byId.get(id);
    if (!e) return undefined;
    if (e.approval.decision) return e.approval;
    const ms = Math.min(opts.ms, Math.max(0, e.approval.expires_at - this.now()));
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        clearInterval(ticker);
        e.waiters.delete(done);
        opts.signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const ticker = opts.tick ? setInterval(opts.tick, opts.tickMs ?? 5_000) : undefined;
      e.waiters.add(done);
      opts.signal?.addEventListener('abort', done, { once: true });
    });
    return e.approval;
  }

  stateOf(a: Approval): LinkState {
    if (a.decision) return 'decided';
    return this.now() >= a.expires_at ? 'expired' : 'open';
  }

  private settle(e: Entry, d: Decision): void {
    e.approval.decision = d;
    for (const w of [...e.waiters]) w();
  }

  /** Drops approvals an hour past their expiry. */
  private prune(): void {
    const before = this.now() - 60 * 60 * 1000;
    for (const [id, e] of this.byId)
      if (e.approval.expires_at < before) {
        this.byId.delete(id);
        this.bySecret.delete(e.secretHash.toString('hex'));
      }
  }
}
