/** Clouds that bill by period: a delete says, before the yes and after, when billing really stops. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Instance } from '../../src/domain/model.js';
import type { Provider } from '../../src/domain/provider.js';
import { CPU2, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const END = '2026-12-31T23:59:59Z';

describe('a delete on a cloud that bills by period', () => {
  it('names the end of the paid period in the summary the human approves and in the answer', async () => {
    h = await startHarness();
    const real = h.providers.get('genesiscloud');
    const periodic: Provider = Object.assign(Object.create(Object.getPrototypeOf(real)), real, {
      getInstance: async (id: string, o?: object): Promise<Instance> => ({
        ...(await real.getInstance(id, o)),
        billing_ends_at: END,
      }),
    });
    h.providers.replace(periodic);
    const made = await h.call('create_vm', {
      provider: 'genesiscloud',
      instance_type: CPU2,
      name: 'periodic',
      ssh_public_key: SSH_KEY,
    });
    const id = sc<{ instance: { id: string } }>(made).instance.id;
    const ask = sc<{ summary: string; confirmation_token: string }>(
      await h.call('delete_vm', { provider: 'genesiscloud', id }),
    );
    expect(ask.summary).toContain(`Billing ends at ${END}, not now.`);
    const done = await h.call('delete_vm', {
      provider: 'genesiscloud',
      id,
      confirmation_token: ask.confirmation_token,
    });
    expect(sc(done)).toMatchObject({ status: 'deleted', billing_ends_at: END });
    expect(text(done)).toContain(`Billing continues until ${END}.`);
  });
});
