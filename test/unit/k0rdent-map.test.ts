/** k0rdent ⇄ domain: statuses, error codes, URIs, ids, SSH metadata lines, address choice. Pure functions only. */
import { describe, expect, it } from 'vitest';
import {
  chooseAddress,
  codeName,
  instanceId,
  keyDigest,
  parseError,
  sshKeyLine,
  gpuModel,
  toGpu,
  toHostname,
  toStatus,
} from '../../src/providers/k0rdent/map.js';
import { ID_PATTERN, Uri } from '../../src/providers/k0rdent/wire.js';

describe('k0rdent map', () => {
  it('maps the (assumed) lifecycle statuses; anything else is unknown', () => {
    expect(
      ['PROVISIONING', 'RUNNING', 'STOPPING', 'STOPPED', 'STARTING', 'DELETING', 'FAILED', 'REPAIRING'].map(toStatus),
    ).toEqual(['pending', 'running', 'stopping', 'paused', 'starting', 'terminating', 'error', 'unknown']);
  });

  it('turns the int error code into a string code and reads both envelopes', () => {
    expect([codeName(5), codeName(6), codeName(404), codeName(409), codeName(418)]).toEqual([
      'NOT_FOUND',
      'ALREADY_EXISTS',
      'NOT_FOUND',
      'ALREADY_EXISTS',
      '418',
    ]);
    expect(parseError({ error: { code: 409, message: 'exists', details: [] } })).toEqual({
      code: 'ALREADY_EXISTS',
      message: 'exists',
    });
    expect(parseError({ success: false, error: { code: 'NOT_FOUND', message: 'gone' }, meta: {} })).toEqual({
      code: 'NOT_FOUND',
      message: 'gone',
    });
    expect(parseError('<html>')).toEqual({});
  });

  it('builds and reads URIs in one place', () => {
    const t = Uri.instanceType('us-texas-1', 'us1-a', 'g1-xlarge');
    expect(t).toBe('/v1/regions/us-texas-1/zones/us1-a/instance-types/g1-xlarge');
    expect(Uri.name(t)).toBe('g1-xlarge');
    expect(Uri.place(t)).toEqual({ region: 'us-texas-1', zone: 'us1-a' });
    expect(Uri.image('us-texas-1', 'ubuntu-24.04-20260202-3')).toBe(
      '/v1/regions/us-texas-1/compute/images/ubuntu-24.04-20260202-3',
    );
    expect(Uri.name('https://api.k0rdent.ai/v1/regions/r/zones/z/gpu-types/nvidia-a100?x=1')).toBe('nvidia-a100');
    expect(Uri.name('http://example.com')).toBe('');
    expect(toGpu([{ type: 'http://example.com', count: 1 }])).toBeNull();
    expect(
      toGpu([
        { type: '/g/nvidia-h100', count: 4 },
        { type: '/g/nvidia-h100', count: 4 },
      ]),
    ).toEqual({
      model: 'H100',
      count: 8,
    });
    expect(gpuModel('nvidia-a100-40gb')).toEqual({ model: 'A100', memory_gib: 40 });
    expect(gpuModel('nvidia-l40s')).toEqual({ model: 'L40S' });
    expect(toGpu([])).toBeNull();
  });

  it('derives valid, stable ids from the name and key; random without a key', () => {
    const a = instanceId('Train Box #1', 'k');
    expect(a).toMatch(/^train-box-1-[0-9a-f]{10}$/);
    expect(instanceId('Train Box #1', 'k')).toBe(a);
    expect(instanceId('Train Box #1', 'other')).not.toBe(a);
    expect(instanceId('x')).not.toBe(instanceId('x'));
    for (const name of ['9lives', '---', 'ÉTÉ', 'a'.repeat(200), 'UPPER_case.name', ''])
      for (const key of [undefined, 'k']) {
        const id = instanceId(name, key);
        expect(id, name).toMatch(ID_PATTERN);
        expect(id.length, name).toBeLessThanOrEqual(63);
      }
    expect(keyDigest('k')).toMatch(/^[0-9a-f]{32}$/);
    expect(toHostname('9 My Host!')).toBe('my-host');
  });

  it('writes ssh-keys lines in GCE format (user:key comment)', () => {
    expect(sshKeyLine('ssh-ed25519 AAAA me@host')).toBe('admin:ssh-ed25519 AAAA me@host');
    expect(sshKeyLine('  ssh-rsa BBBB  ')).toBe('admin:ssh-rsa BBBB admin');
  });

  it('chooses an address and says why: public-looking first, else private, else none', () => {
    expect(chooseAddress([{ ipv4Address: '10.0.0.2' }, { ipv4Address: '203.0.113.9' }])).toMatchObject({
      public_ip: '203.0.113.9',
      private_ip: '10.0.0.2',
      ssh_ip: '203.0.113.9',
      why: expect.stringContaining('NIC 1'),
    });
    expect(chooseAddress([{ ipv4Address: '100.64.1.1' }])).toMatchObject({
      private_ip: '100.64.1.1',
      ssh_ip: '100.64.1.1',
      why: expect.stringContaining('every IPv4 address of this VM is private'),
    });
    expect(chooseAddress([])).toEqual({ why: 'the VM has no IPv4 address yet' });
  });
});
