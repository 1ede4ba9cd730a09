/** Re-check before spending: a price that rose after the human's yes sends the request back to the human. */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatePlan } from '../../src/domain/model.js';
import type { Provider } from '../../src/domain/provider.js';
import { H100, SSH_KEY, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const GPU = { provider: 'genesiscloud', instance_type: H100, name: 'train', ssh_public_key: SSH_KEY };

/** The Genesis adapter, but the price of every plan after the first `n` is `usd`. */
function priceRisesAfter(h: Harness, n: number, usd: number): void {
  const real = h.providers.get('genesiscloud');
  let plans = 0;
  const wrapped: Provider = Object.create(real);
  wrapped.planCreate = async (req, opts) => {
    const plan: CreatePlan = await real.planCreate(req, opts);
    return ++plans > n ? { ...plan, price: { usd_per_hour: usd, source: 'emulator' } } : plan;
  };
  h.providers.replace(wrapped);
}

describe('re-check before spending', () => {
  it('elicitation: a price rise after the yes asks again, and a second yes creates at the new price', async () => {
    const asked: string[] = [];
    h = await startHarness({
      elicit: (r) => (asked.push(r.params.message), { action: 'accept', content: { approve: true } }),
    });
    priceRisesAfter(h, 1, 19.5);
    const r = sc<{ status: string; quote: { usd_per_hour: number } }>(await h.call('create_vm', GPU));
    expect(asked).toHaveLength(2);
    expect(asked[1]).toContain('the price rose from $17.92/hour to $19.50/hour; nothing was created yet. Ask again:');
    expect(asked[1]).toContain('$19.50/hour');
    expect(r).toMatchObject({ status: 'created', quote: { usd_per_hour: 19.5 } });
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });

  it('elicitation: a "no" to the new price creates nothing', async () => {
    let n = 0;
    h = await startHarness({
      elicit: () => (++n === 1 ? { action: 'accept', content: { approve: true } } : { action: 'decline' }),
    });
    priceRisesAfter(h, 1, 19.5);
    expect(sc<{ status: string }>(await h.call('create_vm', GPU)).status).toBe('declined');
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });

  it('token: a price rise since the token was issued gives a new summary and token, and creates nothing', async () => {
    h = await startHarness();
    const ask = sc<{ confirmation_token: string }>(await h.call('create_vm', GPU));
    priceRisesAfter(h, 0, 21);
    const r = sc<{ status: string; summary: string; confirmation_token: string }>(
      await h.call('create_vm', { ...GPU, confirmation_token: ask.confirmation_token }),
    );
    expect(r.status).toBe('confirmation_required');
    expect(r.summary).toMatch(
      /^Changed since the human approved \$17\.92\/hour; nothing was done\. Ask again: .*\$21\.00\/hour/,
    );
    expect(r.confirmation_token).not.toBe(ask.confirmation_token);
    expect(h.emulator.liveInstances()).toHaveLength(0);
    const done = sc<{ status: string; quote: { usd_per_hour: number } }>(
      await h.call('create_vm', { ...GPU, confirmation_token: r.confirmation_token }),
    );
    expect(done).toMatchObject({ status: 'created', quote: { usd_per_hour: 21 } });
  });

  it('a price that fell does not ask again', async () => {
    const asked: string[] = [];
    h = await startHarness({
      elicit: (r) => (asked.push(r.params.message), { action: 'accept', content: { approve: true } }),
    });
    priceRisesAfter(h, 1, 10);
    expect(sc<{ status: string }>(await h.call('create_vm', GPU)).status).toBe('created');
    expect(asked).toHaveLength(1);
  });
});
