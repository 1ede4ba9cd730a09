import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfirmationTokens } from '../../src/guardrails/token.js';
import { canonicalJson } from '../../src/guardrails/canonical.js';
import { StateDir } from '../../src/state/dir.js';

const binding = {
  request: { tool: 'create_vm', args: { provider: 'genesiscloud', name: 'a', lifetime_hours: 2 } },
  quote: { usd_per_hour: 17.92, region: 'R' },
  usd_per_hour: 17.92,
};
const tmpState = () => new StateDir(mkdtempSync(join(tmpdir(), 'tok-')));

describe('confirmation tokens', () => {
  it('redeems once for the same binding, whatever the key order', async () => {
    const t = new ConfirmationTokens();
    const { token } = t.issue(binding);
    const reordered = {
      quote: { region: 'R', usd_per_hour: 17.92 },
      request: { args: { lifetime_hours: 2, name: 'a', provider: 'genesiscloud' }, tool: 'create_vm' },
    };
    expect(await t.redeem(token, reordered)).toEqual({ ok: true, nonce: expect.any(String) });
    expect(await t.redeem(token, binding)).toEqual({ ok: false, reason: 'used', nonce: expect.any(String) });
  });

  it('refuses a changed request and keeps the token usable for the original', async () => {
    const t = new ConfirmationTokens();
    const { token } = t.issue(binding);
    expect(
      await t.redeem(token, {
        ...binding,
        request: { ...binding.request, args: { ...binding.request.args, lifetime_hours: 3 } },
      }),
    ).toEqual({ ok: false, reason: 'mismatch' });
    expect((await t.redeem(token, binding)).ok).toBe(true);
  });

  it('tells a changed quote apart from changed arguments, naming the approved price', async () => {
    const t = new ConfirmationTokens();
    const { token } = t.issue(binding);
    expect(await t.redeem(token, { ...binding, quote: { usd_per_hour: 19, region: 'R' } })).toEqual({
      ok: false,
      reason: 'quote_changed',
      approved_usd_per_hour: 17.92,
    });
  });

  it('refuses after 10 minutes', async () => {
    let now = 1_000_000;
    const t = new ConfirmationTokens({ now: () => now });
    const { token, expires_at } = t.issue(binding);
    expect(Date.parse(expires_at) - 1_000_000).toBe(600_000);
    now += 600_001;
    expect(await t.redeem(token, binding)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses tokens from another secret, tampered payloads and junk', async () => {
    const a = new ConfirmationTokens({ secret: Buffer.alloc(32, 1) });
    const b = new ConfirmationTokens({ secret: Buffer.alloc(32, 2) });
    const { token } = a.issue(binding);
    expect(await b.redeem(token, binding)).toEqual({ ok: false, reason: 'signature' });
    const [p, payload, mac] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), e: 9e15 }),
    ).toString('base64url');
    expect(await a.redeem(`${p}.${forged}.${mac}`, binding)).toEqual({ ok: false, reason: 'signature' });
    expect(await a.redeem('nonsense', binding)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('shares the secret and the spent list through the state directory, across restarts', async () => {
    const state = tmpState();
    const first = await ConfirmationTokens.open(state);
    const t1 = first.issue(binding).token;
    const t2 = first.issue(binding).token;
    expect((await first.redeem(t1, binding)).ok).toBe(true);
    const restarted = await ConfirmationTokens.open(state);
    expect(await restarted.redeem(t1, binding)).toMatchObject({ ok: false, reason: 'used' }); // no replay after a restart
    expect((await restarted.redeem(t2, binding)).ok).toBe(true); // an unspent token survives it
    expect(await (await ConfirmationTokens.open(tmpState())).redeem(t2, binding)).toEqual({
      ok: false,
      reason: 'signature',
    });
  });
});

describe('canonicalJson', () => {
  it('sorts keys deeply and drops undefined', async () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [{ y: 1, x: 2 }] } })).toBe('{"a":{"c":[{"x":2,"y":1}]},"b":1}');
  });
});
