/**
 * Separate server processes on one state directory behave as one (SPEC §5.10): a token or an idempotency key is spent
 * once, and the hard limits count every process's creates. Each server is the built CLI, driven by a real client,
 * against one Genesis Cloud emulator.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN, GenesisEmulator } from '../../src/providers/genesiscloud/emulator.js';
import { configFile, requireBuilt, startCli, type CliServer } from '../helpers/cli.js';
import { CPU2, H100, SSH_KEY } from '../helpers/harness.js';

beforeAll(requireBuilt);

let emulator: GenesisEmulator;
let servers: CliServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  await emulator?.stop();
});

const PRICES = { genesiscloud: { [CPU2]: 0.1, [H100]: 17.92 } };
const CPU = { provider: 'genesiscloud', instance_type: CPU2, ssh_public_key: SSH_KEY };
const GPU = { provider: 'genesiscloud', instance_type: H100, ssh_public_key: SSH_KEY };
const sc = <T = Record<string, unknown>>(r: CallToolResult) => r.structuredContent as T;
const textOf = (r: CallToolResult) => r.content.map((c) => ('text' in c ? c.text : '')).join('\n');

/** Two servers sharing one state directory (and the emulator), each with its own config. */
async function twoServers(configA: object, configB: object = configA): Promise<[CliServer, CliServer]> {
  // A cloud that takes a moment to answer, as real ones do: the window between counting and creating is open.
  emulator = new GenesisEmulator({ latencyMs: 25 });
  await emulator.start();
  // The key is in the account already: no process registers it, so nothing but the gate can stop a create.
  const key = await fetch(`${emulator.baseUrl}/compute/v1/ssh-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${emulator.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'test', value: SSH_KEY }),
  });
  expect(key.status).toBe(201);
  // Creates take a while, as on a real cloud: the VM exists only once the answer comes, so a second process that
  // counts during that time sees nothing yet.
  emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, delayMs: 300, times: 0 });
  const stateDir = mkdtempSync(join(tmpdir(), 'compute-mcp-shared-'));
  const env = {
    GENESISCLOUD_API_TOKEN: DEFAULT_TOKEN,
    GENESISCLOUD_BASE_URL: emulator.baseUrl,
    COMPUTE_MCP_STATE_DIR: stateDir,
  };
  const [a, b] = await Promise.all([
    startCli(['--config', configFile({ prices: PRICES, ...configA })], env),
    startCli(['--config', configFile({ prices: PRICES, ...configB })], env),
  ]);
  servers.push(a, b);
  return [a, b];
}

/** `n` calls on each server at once. */
const burst = (ss: CliServer[], n: number, name: string, args: (i: number) => Record<string, unknown>) =>
  Promise.all(ss.flatMap((s, k) => Array.from({ length: n }, (_, i) => s.call(name, args(k * n + i)))));

describe('processes sharing a state directory', () => {
  it('2 processes × 10 parallel creates with room for one create exactly one VM', async () => {
    const ss = await twoServers({ policy: { limits: { maxInstances: 1 } } });
    const rs = await burst(ss, 10, 'create_vm', (i) => ({ ...CPU, name: `p${i}` }));
    for (const r of rs.filter((x) => x.isError)) expect(textOf(r)).toMatch(/^\[POLICY_DENIED\] .*maxInstances/);
    expect(rs.filter((r) => !r.isError).map((r) => sc(r).status)).toEqual(['created']);
    expect(emulator.liveInstances()).toHaveLength(1);
  }, 60_000);

  it('maxInstances 2 with 2 processes × 5 parallel creates: two VMs', async () => {
    const ss = await twoServers({ policy: { limits: { maxInstances: 2 } } });
    const rs = await burst(ss, 5, 'create_vm', (i) => ({ ...CPU, name: `q${i}` }));
    for (const r of rs.filter((x) => x.isError)) expect(textOf(r)).toMatch(/^\[POLICY_DENIED\] .*maxInstances/);
    expect(rs.filter((r) => !r.isError)).toHaveLength(2);
    expect(emulator.liveInstances()).toHaveLength(2);
  }, 60_000);

  it('one confirmation token redeemed in two processes at once creates one VM', async () => {
    const [a, b] = await twoServers({});
    const args = { ...GPU, name: 'one-yes' };
    const ask = sc<{ status: string; confirmation_token: string }>(await a.call('create_vm', args));
    expect(ask.status).toBe('confirmation_required');
    const rs = await Promise.all(
      [a, b, a, b].map((s) => s.call('create_vm', { ...args, confirmation_token: ask.confirmation_token })),
    );
    const created = rs.filter((r) => !r.isError && sc(r).status === 'created');
    expect(created).toHaveLength(1);
    const id = sc<{ instance: { id: string } }>(created[0]!).instance.id;
    // Every other answer is the same VM or a refusal: never a second VM.
    for (const r of rs.filter((x) => x !== created[0]))
      if (r.isError) expect(textOf(r)).toMatch(/^\[CONFIRMATION_INVALID\] the confirmation_token was already used/);
      else expect(sc(r)).toMatchObject({ status: 'existing', instance: { id } });
    expect(emulator.liveInstances()).toHaveLength(1);
  }, 60_000);

  it('one idempotency key used in two processes at once creates one VM, and every answer names it', async () => {
    const ss = await twoServers({});
    const rs = await burst(ss, 5, 'create_vm', () => ({ ...CPU, name: 'keyed', idempotency_key: 'shared-key' }));
    for (const r of rs) expect(r.isError, textOf(r)).toBeFalsy();
    const ids = new Set(rs.map((r) => sc<{ instance: { id: string } }>(r).instance.id));
    expect(ids.size).toBe(1);
    expect(rs.filter((r) => sc(r).status === 'created')).toHaveLength(1);
    expect(emulator.liveInstances()).toHaveLength(1);
  }, 60_000);

  it('a server with confirm.fallback "deny" honours no token, not even one another server on the directory signed', async () => {
    const [a, b] = await twoServers({}, { policy: { confirm: { fallback: 'deny' } } });
    const args = { ...GPU, name: 'denied' };
    const ask = sc<{ confirmation_token: string }>(await a.call('create_vm', args));
    const r = await b.call('create_vm', { ...args, confirmation_token: ask.confirmation_token });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/^\[CONFIRMATION_INVALID\] this server does not accept confirmation tokens/);
    expect(emulator.liveInstances()).toHaveLength(0);
    // The token is still good where it was issued: the refusal did not spend it.
    expect(sc(await a.call('create_vm', { ...args, confirmation_token: ask.confirmation_token })).status).toBe(
      'created',
    );
  }, 60_000);
});
