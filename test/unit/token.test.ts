import { describe, expect, it } from 'vitest';
import { ConfirmationTokens } from '../../src/guardrails/token.js';
import { canonicalJson } from '../../src/guardrails/canonical.js';

const binding = { tool: 'create_vm', args: { provider: 'genesiscloud', name: 'a', lifetime_hours: 2 }, quote: { usd_per_hour: 17.92 } };

describe('confirmation tokens', () => {
  it('redeems once for the same binding, whatever the key order', () => {
    const t = new ConfirmationTokens();
    const { token } = t.issue(binding);
    expect(t.redeem(token, { quote: { usd_per_hour: 17.92 }, args: { lifetime_hours: 2, name: 'a', provider: 'genesiscloud' }, tool: 'create_vm' })).toEqual({ ok: true, nonce: expect.any(String) });
    expect(t.redeem(token, binding)).toEqual({ ok: false, reason: 'used' });
  });

  it('refuses a changed argument and keeps the token usable for the original', () => {
    const t = new ConfirmationTokens();
    const { token } = t.issue(binding);
    expect(t.redeem(token, { ...binding, args: { ...binding.args, lifetime_hours: 3 } })).toEqual({ ok: false, reason: 'mismatch' });
    expect(t.redeem(token, binding).ok).toBe(true);
  });

  it('refuses after 10 minutes', () => {
    let now = 1_000_000;
    const t = new ConfirmationTokens(undefined, () => now);
    const { token, expires_at } = t.issue(binding);
    expect(Date.parse(expires_at) - 1_000_000).toBe(600_000);
    now += 600_001;
    expect(t.redeem(token, binding)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses tokens from another secret, tampered payloads and junk', () => {
    const a = new ConfirmationTokens(Buffer.alloc(32, 1));
    const b = new ConfirmationTokens(Buffer.alloc(32, 2));
    const { token } = a.issue(binding);
    expect(b.redeem(token, binding)).toEqual({ ok: false, reason: 'signature' });
    const [p, payload, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), e: 9e15 })).toString('base64url');
    expect(a.redeem(`${p}.${forged}.${mac}`, binding)).toEqual({ ok: false, reason: 'signature' });
    expect(a.redeem('nonsense', binding)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('canonicalJson', () => {
  it('sorts keys deeply and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [{ y: 1, x: 2 }] } })).toBe('{"a":{"c":[{"x":2,"y":1}]},"b":1}');
  });
});
