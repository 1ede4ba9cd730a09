/** A canary API key never appears in logs, tool results or errors, while it is really sent to the cloud. */
import { afterEach, describe, expect, it } from 'vitest';
import { CPU2, H100, SSH_KEY, startHarness, type Harness } from '../helpers/harness.js';

const CANARY = 'gc_canary_7f3a9d2e1b8c4a6f';
let h: Harness;
afterEach(async () => h?.close());

describe('secrets', () => {
  it('the cloud key is used on the wire but never shows in logs, results or errors', async () => {
    h = await startHarness({
      live: { token: CANARY },
      emulator: { token: CANARY },
      config: { prices: { genesiscloud: { [CPU2]: 0.04 } } },
    });
    const results: unknown[] = [];
    const call = async (name: string, args: Record<string, unknown> = {}) => {
      const r = await h.call(name, args);
      results.push(r);
      return r.structuredContent as Record<string, unknown>;
    };
    expect((await call('list_providers')).items).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'genesiscloud', enabled: true, mode: 'live' })]),
    );
    await call('list_instance_types', { gpu: 'h100' });
    await call('create_vm', {
      provider: 'genesiscloud',
      instance_type: H100,
      name: 'g',
      ssh_public_key: SSH_KEY,
      dry_run: true,
    });
    const ask = await call('create_vm', {
      provider: 'genesiscloud',
      instance_type: H100,
      name: 'g',
      ssh_public_key: SSH_KEY,
    });
    const made = await call('create_vm', {
      provider: 'genesiscloud',
      instance_type: H100,
      name: 'g',
      ssh_public_key: SSH_KEY,
      confirmation_token: ask.confirmation_token,
    });
    const id = (made.instance as { id: string }).id;
    await call('get_instance', { provider: 'genesiscloud', id });
    await call('get_console', { provider: 'genesiscloud', id });
    for (const [status, path] of [
      [401, '/compute/v1/instances'],
      [500, '/compute/v1/instances'],
      [422, '/compute/v1/instances'],
    ] as const) {
      h.emulator.http.injectFault({
        method: 'GET',
        path,
        status,
        body: { code: 'x', message: `echo ${status}` },
        times: 0,
      });
      await call('list_instances', { provider: 'genesiscloud' });
      h.emulator.http.clearFaults();
    }
    h.emulator.http.injectFault({ method: 'GET', path: '/compute/v1/instances', malformed: true, times: 1 });
    await call('list_instances', { provider: 'genesiscloud' });
    await call('delete_vm', { provider: 'genesiscloud', id });
    results.push(await h.client.readResource({ uri: 'compute://policy' }));

    // It was really sent: the emulator saw it in the Authorization header.
    expect(h.emulator.http.requests.some((r) => r.headers.authorization === `Bearer ${CANARY}`)).toBe(true);
    expect(h.logLines.length).toBeGreaterThan(10); // trace-level logging ran
    expect(h.logLines.join('\n')).not.toContain(CANARY);
    expect(JSON.stringify(results)).not.toContain(CANARY);
    expect(JSON.stringify(results)).toContain('[PROVIDER_AUTH]');
  });
});
