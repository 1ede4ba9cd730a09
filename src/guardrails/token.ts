/**
 * Confirmation tokens for clients that cannot elicit: an HMAC-SHA256 over the canonical request and the quote the
 * human approved, valid for 10 minutes, usable once. The secret is made once per state store, and spent tokens
 * are recorded there too, so tokens survive a restart and still cannot be replayed. Redeeming re-reads the spent list
 * under a lock that holds across processes, so a token is spent once however many servers share the store.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { StreamView, type StateStore } from '../state/store.js';
import { canonicalJson } from './canonical.js';
import { Mutex } from './mutex.js';

export const TOKEN_TTL_MS = 10 * 60 * 1000;
const PREFIX = 'cmt1';

/** What a token is bound to: the request (tool + arguments) and the quote the human saw. */
export interface TokenBinding {
  request: unknown;
  quote: unknown;
  /** The approved $/hour, carried in the token so a price rise can be named. */
  usd_per_hour?: number | null;
}

export type TokenCheck =
  | { ok: true; nonce: string }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' | 'mismatch' }
  | { ok: false; reason: 'used'; nonce: string }
  | { ok: false; reason: 'quote_changed'; approved_usd_per_hour: number | null };

/** A spent token: its nonce and when it would have expired (ms). */
interface Spent {
  n: string;
  e: number;
}

interface Payload {
  r: string; // request hash
  q: string; // quote hash
  p: number | null; // approved $/hour
  e: number; // expiry, ms
  n: string; // nonce
}

export class ConfirmationTokens {
  private readonly secret: Buffer;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly lock: Mutex;
  /** Spent tokens (nonce and expiry) that have not expired, as every process on the store spent them. */
  private readonly spent: StreamView<Spent>;

  /** Without a store: a secret and a spent list of this process alone (tests). */
  constructor(opts: { state?: StateStore; secret?: Buffer; now?: () => number; ttlMs?: number } = {}) {
    this.spent = new StreamView<Spent>(opts.state, 'tokens-spent', (t) => (t.e >= this.now() ? t.n : undefined));
    this.secret = opts.secret ?? randomBytes(32);
    this.now = opts.now ?? Date.now;
    this.ttlMs = opts.ttlMs ?? TOKEN_TTL_MS;
    this.lock = new Mutex(opts.state ? opts.state.lock('tokens') : undefined);
  }

  /** Tokens on a store: its secret (made once, shared by every process on it) and its spent list. */
  static async open(state: StateStore, opts: { now?: () => number; ttlMs?: number } = {}): Promise<ConfirmationTokens> {
    const secret = await state.secret('token-secret', () => randomBytes(32));
    return new ConfirmationTokens({ ...opts, state, secret });
  }

  issue(b: TokenBinding): { token: string; expires_at: string } {
    const exp = this.now() + this.ttlMs;
    const body: Payload = {
      r: hash(b.request),
      q: hash(b.quote),
      p: b.usd_per_hour ?? null,
      e: exp,
      n: randomBytes(12).toString('base64url'),
    };
    const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
    return { token: `${PREFIX}.${payload}.${this.mac(payload)}`, expires_at: new Date(exp).toISOString() };
  }

  /**
   * Verifies and, when valid, spends the token (single use). The check and the spend run under the lock, after
   * reading what other processes spent, so two calls anywhere cannot both spend it.
   */
  redeem(token: string, b: TokenBinding): Promise<TokenCheck> {
    return this.lock.run(async () => {
      await this.spent.refresh();
      return this.check(token, b);
    });
  }

  private async check(token: string, b: TokenBinding): Promise<TokenCheck> {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed' };
    const [, payload, mac] = parts as [string, string, string];
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, reason: 'signature' };
    let body: Payload;
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Payload;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    this.prune();
    if (this.spent.items.has(body.n)) return { ok: false, reason: 'used', nonce: body.n };
    if (this.now() > body.e) return { ok: false, reason: 'expired' };
    if (body.r !== hash(b.request)) return { ok: false, reason: 'mismatch' };
    if (body.q !== hash(b.quote)) return { ok: false, reason: 'quote_changed', approved_usd_per_hour: body.p };
    // Recorded before it counts as spent here: a store that cannot record it refuses the token (fail closed).
    await this.spent.append({ n: body.n, e: body.e });
    return { ok: true, nonce: body.n };
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }

  private prune(): void {
    const now = this.now();
    for (const [n, t] of this.spent.items) if (t.e < now) this.spent.items.delete(n);
  }
}

const hash = (v: unknown) => createHash('sha256').update(canonicalJson(v)).digest('base64url');

export const TOKEN_REFUSALS: Record<'malformed' | 'signature' | 'expired' | 'mismatch' | 'used', string> = {
  malformed: 'the confirmation_token is not one this server issued',
  signature: 'the confirmation_token is not one this server issued',
  expired: 'the confirmation_token has expired (they last 10 minutes)',
  mismatch: 'the confirmation_token was issued for different arguments',
  used: 'the confirmation_token was already used',
};
