/** InstaVM ⇄ domain mapping: statuses (undocumented ones → unknown), sizes, lifetimes, snapshots, and redaction. */
import { describe, expect, it } from 'vitest';
import { fastapiError } from '../../src/providers/instavm/index.js';
import {
  META,
  REDACTED,
  SIZES,
  expiresAt,
  priceOf,
  redactBody,
  toImage,
  toInstance,
  toSnapshot,
  toStatus,
  typeOf,
} from '../../src/providers/instavm/map.js';
import type { WireVm } from '../../src/providers/instavm/wire.js';

const VM: WireVm = {
  vm_id: 'vm_1',
  session_id: 's',
  status: 'running',
  vcpu_count: 4,
  memory_mb: 8192,
  metadata: { [META.name]: 'box' },
  created_at: '2026-01-01T00:00:00.000Z',
  vm_lifetime_seconds: 3600,
};

describe('InstaVM mapping', () => {
  it('maps the assumed statuses (providers.md §6.1) and anything else to unknown', () => {
    expect(
      ['provisioning', 'running', 'active', 'terminating', 'terminated', 'killed', 'failed'].map(toStatus),
    ).toEqual(['pending', 'running', 'running', 'terminating', 'terminated', 'terminated', 'error']);
    expect(toStatus('paused')).toBe('unknown');
    expect(toInstance({ ...VM, status: 'weird' }, {})).toMatchObject({ status: 'unknown', provider_status: 'weird' });
  });

  it('names sizes: the grid name, else vcpu/memory, else the metadata label', () => {
    expect(typeOf(VM)).toBe('4vcpu-8gb');
    expect(typeOf({ ...VM, vcpu_count: 3, memory_mb: 3000 })).toBe('3vcpu-3000mb');
    expect(typeOf({ metadata: { [META.type]: '2vcpu-2gb' } })).toBe('2vcpu-2gb');
    expect(SIZES.every((s) => s.vcpu >= 1 && s.vcpu <= 8)).toBe(true);
  });

  it('prices come from the table only; unknown is null/null, never api', () => {
    expect(priceOf({}, '1vcpu-1gb')).toEqual({ usd_per_hour: null, source: null });
    expect(priceOf({ '1vcpu-1gb': { usd_per_hour: 0.07, source: 'config' } }, '1vcpu-1gb')).toEqual({
      usd_per_hour: 0.07,
      source: 'config',
    });
  });

  it('expires_at: the cloud’s own, else creation + lifetime', () => {
    expect(expiresAt(VM)).toBe('2026-01-01T01:00:00.000Z');
    expect(expiresAt({ ...VM, expires_at: '2026-02-02T00:00:00.000Z' })).toBe('2026-02-02T00:00:00.000Z');
    expect(expiresAt({ created_at: null, vm_lifetime_seconds: 5 })).toBeUndefined();
    expect(toInstance(VM, {})).toMatchObject({
      name: 'box',
      region: 'global',
      gpu: null,
      ssh: 'ssh vm_1@instavm.dev',
      expires_at: '2026-01-01T01:00:00.000Z',
    });
    expect(toInstance({ ...VM, status: 'provisioning' }, {}).ssh).toBeUndefined();
  });

  it('snapshots: snapshot_id or id, ready → available, failed → error; ready ones are images', () => {
    expect(toSnapshot({ id: 'snap_a', status: 'ready', size_bytes: 2 ** 31 })).toMatchObject({
      id: 'snap_a',
      name: 'snap_a',
      status: 'available',
      size_gib: 2,
    });
    expect(toSnapshot({ snapshot_id: 'snap_b', status: 'failed', vm_id: 'vm_1' })).toMatchObject({
      status: 'error',
      instance_id: 'vm_1',
    });
    expect(toSnapshot({ snapshot_id: 'snap_c', status: 'odd' }).status).toBe('unknown');
    expect(toImage({ snapshot_id: 'snap_d', name: 'py', status: 'ready', oci_image: 'python:3.11' })).toEqual({
      provider: 'instavm',
      id: 'snap_d',
      name: 'py',
      kind: 'snapshot',
      regions: ['global'],
      os: 'python:3.11',
    });
  });

  it('redacts env values, DNS credentials and vault ids, keeping what is set visible', () => {
    const body = {
      vm_lifetime_seconds: 60,
      env: { API_TOKEN: 'sk-secret-1' },
      vault_ids: ['vault-secret-2'],
      custom_domain: { domain: 'a.example', dns_provider: 'cloudflare', dns_credentials: { token: 'cf-secret-3' } },
    };
    const shown = redactBody(body);
    const text = JSON.stringify(shown);
    for (const s of ['sk-secret-1', 'vault-secret-2', 'cf-secret-3']) expect(text).not.toContain(s);
    expect(shown).toEqual({
      vm_lifetime_seconds: 60,
      env: { API_TOKEN: REDACTED },
      vault_ids: [REDACTED],
      custom_domain: { domain: 'a.example', dns_provider: 'cloudflare', dns_credentials: { token: REDACTED } },
    });
    expect(body.env.API_TOKEN).toBe('sk-secret-1'); // the body sent is untouched
  });

  it('reads FastAPI errors: a detail string, or 422 items field by field', () => {
    expect(fastapiError({ detail: 'VM not found' })).toEqual({ message: 'VM not found' });
    expect(
      fastapiError({
        detail: [
          { loc: ['body', 'memory_mb'], msg: 'Input should be a valid integer', type: 'int_type' },
          { loc: ['body', 'env', 'A'], msg: 'Input should be a valid string', type: 'string_type' },
        ],
      }),
    ).toEqual({
      code: 'int_type',
      message: 'memory_mb: Input should be a valid integer; env.A: Input should be a valid string',
    });
    expect(fastapiError('nope')).toEqual({});
  });
});
