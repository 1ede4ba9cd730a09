/** Injected faults and bad input through the tools: the clear error, and nothing lost or duplicated. */
import { afterEach, describe, expect, it } from 'vitest';
import { CPU2, H100, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const CREATE = { provider: 'genesiscloud', instance_type: CPU2, name: 'f', ssh_public_key: SSH_KEY };

describe('faults', () => {
  it('a read that gets 429 + Retry-After is retried after the delay and succeeds', async () => {
    h = await startHarness();
    await h.call('create_vm', CREATE);
    h.emulator.http.injectFault({ method: 'GET', path: '/compute/v1/instances', status: 429, headers: { 'retry-after': '1' }, times: 1 });
    const started = Date.now();
    const r = await h.call('list_instances', { provider: 'genesiscloud' });
    expect(r.isError).toBeFalsy();
    expect(sc<{ items: unknown[] }>(r).items).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('a create that gets 503 is not re-sent: one POST, no VM, and the error says what to do', async () => {
    h = await startHarness();
    h.emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, status: 503, times: 0 });
    const r = await h.call('create_vm', CREATE);
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^\[PROVIDER_UNAVAILABLE\] genesiscloud: POST \/compute\/v1\/instances failed with HTTP 503.*not re-sent, so nothing was duplicated/);
    expect(h.emulator.http.count('POST', '/compute/v1/instances')).toBe(1);
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });

  it('a create whose answer is lost to a timeout is reported and not re-sent: the one VM is not duplicated', async () => {
    h = await startHarness({ timeouts: { requestMs: 150 } });
    // The cloud creates the VM but answers after the client gave up.
    h.emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, delayMs: 400, times: 1 });
    const r = await h.call('create_vm', CREATE);
    expect(text(r)).toMatch(/^\[TIMEOUT\] genesiscloud: POST \/compute\/v1\/instances timed out\. The request may have reached the cloud and was not re-sent; check list_instances/);
    await new Promise((res) => setTimeout(res, 400));
    expect(h.emulator.http.count('POST', '/compute/v1/instances')).toBe(1);
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });

  it('a malformed body is a clear error, and the server keeps answering', async () => {
    h = await startHarness();
    h.emulator.http.injectFault({ method: 'GET', path: '/compute/v1/instances', malformed: true, times: 0 });
    const r = await h.call('list_instances', { provider: 'genesiscloud' });
    expect(text(r)).toMatch(/^\[PROVIDER_BAD_RESPONSE\] genesiscloud: unexpected answer to GET \/compute\/v1\/instances: the body is not JSON/);
    h.emulator.http.clearFaults();
    expect((await h.call('list_instances', { provider: 'genesiscloud' })).isError).toBeFalsy();
  });

  it('one failing cloud becomes an entry in errors of a cross-cloud list', async () => {
    h = await startHarness({ retry: { maxAttempts: 2 } });
    h.emulator.http.injectFault({ method: 'GET', path: '/compute/v1/instances', status: 500, times: 0 });
    const r = sc<{ items: unknown[]; errors: { provider: string; code: string }[] }>(await h.call('list_instances', {}));
    expect(r.items).toEqual([]);
    expect(r.errors).toEqual([expect.objectContaining({ provider: 'genesiscloud', code: 'PROVIDER_UNAVAILABLE' })]);
  });

  it('without the availability endpoint, the catalog still answers (availability unknown)', async () => {
    h = await startHarness({ retry: { maxAttempts: 1 } });
    h.emulator.http.injectFault({ method: 'GET', path: /\/availability\//, status: 503, times: 0 });
    const r = sc<{ items: { available?: boolean; regions: string[] }[] }>(await h.call('list_instance_types', { gpu: 'h100' }));
    expect(r.items).toHaveLength(1);
    expect(r.items[0]!.available).toBeUndefined();
    expect(r.items[0]!.regions).toHaveLength(7);
  });

  it('a wrong token says which variable to check', async () => {
    h = await startHarness({ emulator: { token: 'right' }, env: {} });
    h.emulator.http.injectFault({ method: 'GET', path: '/compute/v1/instances', status: 401, times: 0 });
    const r = await h.call('list_instances', { provider: 'genesiscloud' });
    expect(text(r)).toMatch(/^\[PROVIDER_AUTH\].*check GENESISCLOUD_API_TOKEN/);
  });
});

describe('bad input corpus', () => {
  const corpus: [string, Record<string, unknown>][] = [
    ['create_vm', {}],
    ['create_vm', { provider: 'aws', instance_type: CPU2, name: 'x' }],
    ['create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: '' }],
    ['create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'x', disk_gib: -5 }],
    ['create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'x', wait_seconds: 500 }],
    ['create_vm', { provider: 'genesiscloud', instance_type: 'no-such-type', name: 'x', ssh_public_key: SSH_KEY }],
    ['create_vm', { provider: 'genesiscloud', instance_type: H100, name: 'x', ssh_public_key: SSH_KEY, region: 'NA-CA-PRG-1' }],
    ['create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'x', ssh_public_key: SSH_KEY, region: 'MARS-1' }],
    ['create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'x', ssh_public_key: SSH_KEY, disk_gib: 20 }],
    ['create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'x', ssh_public_key: 'not a key' }],
    ['create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'x', image: 'a', from_snapshot: 'b' }],
    ['create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'x' }], // no key given, none in the account
    ['get_instance', { provider: 'genesiscloud', id: '../../etc/passwd' }],
    ['get_instance', { provider: 'genesiscloud' }],
    ['list_instances', { limit: 0 }],
    ['list_instances', { cursor: '!!!' }],
    ['list_instance_types', { min_gpus: 'eight' }],
    ['pause_instances', { provider: 'genesiscloud', ids: [] }],
    ['wait_for_instance', { provider: 'genesiscloud', id: 'x', timeout_seconds: 3600 }],
    ['wait_for_instance', { provider: 'genesiscloud', id: 'x', status: 'happy' }],
    ['snapshot', { provider: 'genesiscloud', id: 'x' }],
    ['delete_vm', { provider: 'genesiscloud', id: '' }],
    ['no_such_tool', {}],
  ];

  it.each(corpus)('%s %j is a clear tool error and the server stays up', async (tool, args) => {
    h = await startHarness();
    const r = await h.call(tool, args);
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^(\[[A-Z_]+\]|MCP error -32602)/);
    expect(h.emulator.liveInstances()).toHaveLength(0);
    const alive = await h.call('list_providers');
    expect(alive.isError).toBeFalsy();
  });
});
