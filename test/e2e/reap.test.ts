/**
 * `compute-mcp reap` and `compute-mcp spend`, as cron or a terminal runs them: the built CLI on a state directory it
 * shares with the server that created the VM, against a cloud on loopback.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/providers/cloud.js';
import { BUILT_CLOUDS } from '../../src/providers/clouds.js';
import type { GenesisEmulator } from '../../src/providers/genesiscloud/emulator.js';
import { StateDir } from '../../src/state/dir.js';
import { CLI, configFile, requireBuilt } from '../helpers/cli.js';

let em: RunningEmulator;
let env: Record<string, string>;
let state: string;
beforeAll(async () => {
  requireBuilt();
  em = await BUILT_CLOUDS.find((c) => c.id === 'genesiscloud')!.emulator({ pace: 'instant' });
  state = mkdtempSync(join(tmpdir(), 'cm-reap-'));
  env = {
    PATH: process.env.PATH ?? '',
    HOME: mkdtempSync(join(tmpdir(), 'cm-home-')),
    ...em.env,
    GENESISCLOUD_BASE_URL: em.baseUrl,
    COMPUTE_MCP_STATE_DIR: state,
    COMPUTE_MCP_CONFIG: configFile({
      policy: { autoApprove: { maxUsdPerHour: 1 } },
      prices: { genesiscloud: { 'vcpu-2_memory-4g_disk-80g': 0.04 } },
    }),
    LOG_LEVEL: 'silent',
  };
});
afterAll(async () => em?.stop());

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const genesis = () => em.instance as GenesisEmulator;
const statusOf = async (id: string) =>
  (
    JSON.parse((await run(['call', 'get_instance', JSON.stringify({ provider: 'genesiscloud', id })])).stdout) as {
      instance: { status: string };
    }
  ).instance.status;

async function createShortLived(name: string): Promise<{ id: string; expiresAt: number }> {
  const made = await run([
    'call',
    'create_vm',
    JSON.stringify({
      provider: 'genesiscloud',
      instance_type: 'vcpu-2_memory-4g_disk-80g',
      name,
      ssh_public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReapKey0000000000000000000000000000000 reap',
      lifetime_hours: 0.0003, // about a second
    }),
  ]);
  expect(made.code, made.stdout + made.stderr).toBe(0);
  const id = (JSON.parse(made.stdout) as { instance: { id: string } }).instance.id;
  const lease = new StateDir(state).lines<{ expires_at: number; instance_id?: string }>('leases.jsonl').at(-1)!;
  expect(lease.instance_id).toBe(id);
  for (let i = 0; Date.now() <= lease.expires_at && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
  return { id, expiresAt: lease.expires_at };
}

describe('the server', () => {
  it('sweeps when it starts: a lease that ran out while no server ran is enforced without any tool call', async () => {
    const { id } = await createShortLived('overnight');
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI], env, stderr: 'ignore' });
    const client = new Client({ name: 'sweep', version: '0' });
    await client.connect(transport);
    try {
      const vm = () =>
        genesis()
          .liveInstances()
          .find((i) => i.id === id);
      for (let i = 0; i < 200 && vm()?.status === 'active'; i++) await new Promise((r) => setTimeout(r, 25));
      expect(vm()?.status).not.toBe('active');
    } finally {
      await client.close();
    }
  });
});

describe('compute-mcp reap', () => {
  it('enforces a lease that ran out, once; a dry run first changes nothing; a cloud that fails means exit 1', async () => {
    const { id } = await createShortLived('cron');

    const dry = await run(['reap', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dry_run: true,
      actions: [{ instance_id: id, result: 'would_stop' }],
    });
    expect(await statusOf(id)).toBe('running');

    genesis().http.injectFault({ method: 'POST', path: /actions$/, status: 503, times: 0 });
    const down = await run(['reap']);
    expect(down.code).toBe(1);
    expect(JSON.parse(down.stdout)).toMatchObject({ actions: [{ instance_id: id, result: 'retry' }] });
    genesis().http.clearFaults();

    const reaped = await run(['reap']);
    expect(reaped.code, reaped.stderr).toBe(0);
    expect(JSON.parse(reaped.stdout)).toMatchObject({
      dry_run: false,
      actions: [{ instance_id: id, result: 'stopped' }],
    });
    expect(['paused', 'stopping']).toContain(await statusOf(id));
    const again = await run(['reap']);
    expect(JSON.parse(again.stdout)).toEqual({ dry_run: false, actions: [] });
  });

  it('spend reports what runs, per cloud and per VM, as text and as JSON', async () => {
    await run([
      'call',
      'create_vm',
      JSON.stringify({
        provider: 'genesiscloud',
        instance_type: 'vcpu-2_memory-4g_disk-80g',
        name: 'spender',
        ssh_public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReapKey0000000000000000000000000000000 reap',
        lifetime_hours: 2,
      }),
    ]);
    const json = await run(['spend', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as {
      cost_basis: string;
      clouds: { provider: string; billing: number }[];
      vms: { name: string; usd_per_hour: number; lease?: { then: string; cost_to_end_usd: number } }[];
    };
    expect(report.cost_basis).toContain('estimate');
    const vm = report.vms.find((v) => v.name === 'spender')!;
    expect(vm.lease).toMatchObject({ then: 'stop' });
    expect(vm.lease!.cost_to_end_usd).toBeCloseTo(vm.usd_per_hour * 2, 1);
    expect(report.clouds.find((c) => c.provider === 'genesiscloud')!.billing).toBeGreaterThanOrEqual(1);
    const text = await run(['spend']);
    expect(text.stdout).toMatch(/^Spend at .*estimate/);
    expect(text.stdout).toContain('"spender"');
    expect((await run(['spend', '--dry-run'])).code).toBe(2); // an option of reap, not of spend
  });
});
