/** Injected faults and bad input through the tools: the clear error, and nothing lost or duplicated. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CPU2, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const CREATE = { provider: 'genesiscloud', instance_type: CPU2, name: 'f', ssh_public_key: SSH_KEY };

describe('faults', () => {
  it('a read that gets 429 + Retry-After is retried after the delay and succeeds', async () => {
    h = await startHarness();
    await h.call('create_vm', CREATE);
    h.emulator.http.injectFault({
      method: 'GET',
      path: '/compute/v1/instances',
      status: 429,
      headers: { 'retry-after': '1' },
      times: 1,
    });
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
    expect(text(r)).toMatch(
      /^\[PROVIDER_UNAVAILABLE\] genesiscloud: POST \/compute\/v1\/instances failed with HTTP 503.*not re-sent, so nothing was duplicated/,
    );
    expect(h.emulator.http.count('POST', '/compute/v1/instances')).toBe(1);
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });

  it('a create whose answer is lost to a timeout is reported and not re-sent: the one VM is not duplicated', async () => {
    h = await startHarness({ timeouts: { requestMs: 150 } });
    // The cloud creates the VM but answers after the client gave up.
    h.emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, delayMs: 400, times: 1 });
    const r = await h.call('create_vm', CREATE);
    expect(text(r)).toMatch(
      /^\[TIMEOUT\] genesiscloud: POST \/compute\/v1\/instances timed out\. The request may have reached the cloud and was not re-sent; check list_instances/,
    );
    // The late answer is written after the client gave up; wait for the cloud to have made the VM, not for a clock.
    await vi.waitFor(() => expect(h.emulator.liveInstances()).toHaveLength(1), { timeout: 2_000, interval: 20 });
    expect(h.emulator.http.count('POST', '/compute/v1/instances')).toBe(1);
  });

  it('a malformed body is a clear error, and the server keeps answering', async () => {
    h = await startHarness();
    h.emulator.http.injectFault({ method: 'GET', path: '/compute/v1/instances', malformed: true, times: 0 });
    const r = await h.call('list_instances', { provider: 'genesiscloud' });
    expect(text(r)).toMatch(
      /^\[PROVIDER_BAD_RESPONSE\] genesiscloud: unexpected answer to GET \/compute\/v1\/instances: the body is not JSON/,
    );
    h.emulator.http.clearFaults();
    expect((await h.call('list_instances', { provider: 'genesiscloud' })).isError).toBeFalsy();
  });

  it('one failing cloud becomes an entry in errors of a cross-cloud list', async () => {
    h = await startHarness({ retry: { maxAttempts: 2 } });
    h.emulator.http.injectFault({ method: 'GET', path: '/compute/v1/instances', status: 500, times: 0 });
    const r = sc<{ items: unknown[]; errors: { provider: string; code: string }[] }>(
      await h.call('list_instances', {}),
    );
    expect(r.items).toEqual([]);
    expect(r.errors).toEqual([expect.objectContaining({ provider: 'genesiscloud', code: 'PROVIDER_UNAVAILABLE' })]);
  });

  it('without the availability endpoint, the catalog still answers (availability unknown)', async () => {
    h = await startHarness({ retry: { maxAttempts: 1 } });
    h.emulator.http.injectFault({ method: 'GET', path: /\/availability\//, status: 503, times: 0 });
    const r = sc<{ items: { available?: boolean; regions: string[] }[] }>(
      await h.call('list_instance_types', { gpu: 'h100' }),
    );
    expect(r.items).toHaveLength(1);
    expect(r.items[0]!.available).toBeUndefined();
    expect(r.items[0]!.regions).toContain('ARC-IS-HAF-1'); // the documented table, and every region the images name
  });

  it('a wrong token says which variable to check', async () => {
    h = await startHarness({ emulator: { token: 'right' }, env: {} });
    h.emulator.http.injectFault({ method: 'GET', path: '/compute/v1/instances', status: 401, times: 0 });
    const r = await h.call('list_instances', { provider: 'genesiscloud' });
    expect(text(r)).toMatch(/^\[PROVIDER_AUTH\].*check GENESISCLOUD_API_TOKEN/);
  });
});

describe('a cloud that echoes the key', () => {
  const KEY = 'gc_echo_5d1e9b7a3c2f4e60';
  const b64 = (s: string) => Buffer.from(s).toString('base64').replace(/=+$/, '');
  // The key as a cloud might send it back: bare, in the header, URL-encoded, and base64.
  const ECHO = `token ${KEY} rejected (got "Bearer ${KEY}", ${encodeURIComponent(`Bearer ${KEY}`)}, ${b64(KEY)})`;
  const LEAKS = [KEY, b64(KEY), b64(`Bearer ${KEY}`)];
  const LIST_FAULT = { method: 'GET', path: '/compute/v1/instances', times: 0 };

  const start = () => startHarness({ emulator: { token: KEY }, retry: { maxAttempts: 1 } });

  /** Every file under `dir`, read. */
  const filesUnder = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [readFileSync(join(dir, e.name), 'utf8')] : [],
    );

  /** What anyone can see of the calls: the results (text, `_meta`, structuredContent), the log, the state files. */
  function expectNoLeak(results: unknown[]): void {
    // Not vacuous: the key really went to the cloud.
    expect(h.emulator.http.requests.some((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
    const seen = [JSON.stringify(results), ...h.logLines, ...filesUnder(h.state.dir)].join('\n');
    for (const leak of LEAKS) expect(seen).not.toContain(leak);
  }

  it.each([400, 401, 422, 500])('HTTP %i whose message echoes the key: told without the key', async (status) => {
    h = await start();
    h.emulator.http.injectFault({ ...LIST_FAULT, status, body: { code: 'echo', message: ECHO } });
    const r = await h.call('list_instances', { provider: 'genesiscloud' });
    expect(r.isError).toBe(true);
    const scrubbed = 'token [redacted] rejected (got "[redacted]", [redacted], [redacted])';
    expect(text(r)).toContain(`failed with HTTP ${status} (echo): ${scrubbed}`);
    expectNoLeak([r]);
  });

  it('an echoing cloud in a cross-cloud list becomes an error entry without the key', async () => {
    h = await start();
    h.emulator.http.injectFault({ ...LIST_FAULT, status: 500, body: { code: 'echo', message: ECHO } });
    const r = await h.call('list_instances', {});
    expect(sc<{ errors: { message: string }[] }>(r).errors[0]!.message).toContain('token [redacted] rejected');
    expectNoLeak([r]);
  });

  it('a refused create that echoes the key: not in the result, the log or the audit', async () => {
    h = await start();
    const onCreate = { method: 'POST', path: /^\/compute\/v1\/instances$/ };
    h.emulator.http.injectFault({ ...onCreate, status: 400, body: { code: 'echo', message: ECHO } });
    const r = await h.call('create_vm', CREATE);
    expect(text(r)).toMatch(/^\[INVALID_INPUT] genesiscloud: POST \S+ failed with HTTP 400 \(echo\): token \[redacted/);
    expectNoLeak([r]);
  });

  it('a 200 whose body is not JSON and echoes the key: a clear error, and the raw body logged scrubbed', async () => {
    h = await start();
    h.emulator.http.injectFault({ ...LIST_FAULT, status: 200, raw: `<html>proxy error for ${ECHO}</html>` });
    const r = await h.call('list_instances', { provider: 'genesiscloud' });
    const notJson = /^\[PROVIDER_BAD_RESPONSE] genesiscloud: unexpected answer to GET \S+: the body is not JSON/;
    expect(text(r)).toMatch(notJson);
    expect(h.logLines.join('\n')).toContain('proxy error for token [redacted] rejected');
    expectNoLeak([r]);
  });

  it('a 200 whose JSON does not match the format and holds the key: neither the error nor the log has it', async () => {
    h = await start();
    h.emulator.http.injectFault({ ...LIST_FAULT, status: 200, body: { instances: ECHO } });
    const r = await h.call('list_instances', { provider: 'genesiscloud' });
    expect(text(r)).toMatch(/^\[PROVIDER_BAD_RESPONSE\] .*does not match the documented format/);
    expectNoLeak([r]);
  });
});
