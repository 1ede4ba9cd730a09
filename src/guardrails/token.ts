/**
 * Confirmation tokens for clients that cannot elicit: an HMAC-SHA256 over the canonical request and quote, valid for
 * 10 minutes, usable once. Any changed argument gives another binding hash, so the token is refused.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from './canonical.js';

export const TOKEN_TTL_MS = 10 * 60 * 1000;
const PREFIX = 'cmt1';

export type TokenCheck =
  | { ok: true; nonce: string }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' | 'mismatch' | 'used' };

export class ConfirmationTokens {
  private readonly used = new Map<string, number>();

  constructor(
    private readonly secret: Buffer = randomBytes(32),
    private readonly now: () => number = Date.now,
    private readonly ttlMs: number = TOKEN_TTL_MS,
  ) {}

  issue(binding: unknown): { token: string; expires_at: string } {
    const exp = this.now() + this.ttlMs;
    const payload = Buffer.from(JSON.stringify({ b: bindingHash(binding), e: exp, n: randomBytes(12).toString('base64url') })).toString('base64url');
    return { token: `${PREFIX}.${payload}.${this.mac(payload)}`, expires_at: new Date(exp).toISOString() };
  }

  /** Verifies and, when valid, spends the token (single use). Synchronous, so two parallel calls cannot both spend it. */
  redeem(token: string, binding: unknown): TokenCheck {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed' };
    const [, payload, mac] = parts as [string, string, string];
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature' };
    let body: { b: string; e: number; n: string };
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    this.prune();
    if (this.used.has(body.n)) return { ok: false, reason: 'used' };
    if (this.now() > body.e) return { ok: false, reason: 'expired' };
    if (body.b !== bindingHash(binding)) return { ok: false, reason: 'mismatch' };
    this.used.set(body.n, body.e);
    return { ok: true, nonce: body.n };
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }

  private prune(): void {
    const now = this.now();
    for (const [n, exp] of this.used) if (exp < now) this.used.delete(n);
  }
}

const bindingHash = (binding: unknown) => createHash('sha256').update(canonicalJson(binding)).digest('base64url');

export const TOKEN_REFUSALS: Record<Exclude<TokenCheck, { ok: true }>['reason'], string> = {
  malformed: 'the confirmation_token is not one this server issued',
  signature: 'the confirmation_token is not one this server issued',
  expired: 'the confirmation_token has expired (they last 10 minutes)',
  mismatch: 'the confirmation_token was issued for different arguments',
  used: 'the confirmation_token was already used',
};
