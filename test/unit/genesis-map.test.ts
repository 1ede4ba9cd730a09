import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENESIS_TYPES } from '../../src/providers/genesiscloud/catalog.js';
import {
  STATUS_MAP,
  isProtected,
  toHostname,
  toInstance,
  toSnapshot,
  toStatus,
} from '../../src/providers/genesiscloud/map.js';
import { byPrice, gpuMatches } from '../../src/tools/list_instance_types.js';
import type { InstanceType } from '../../src/domain/model.js';

// The documented type table, copied from shared/seeds/genesiscloud-instances.txt (seed 002).
const SEED = join(import.meta.dirname, '../../src/providers/genesiscloud/fixtures/instance-types.txt');

// The seed's sentences that list instance statuses, copied verbatim from shared/seeds/genesiscloud-instances.txt.
const STATUS_SEED = readFileSync(
  join(import.meta.dirname, '../../src/providers/genesiscloud/fixtures/instance-statuses.txt'),
  'utf8',
);
const listed = (re: RegExp) =>
  re
    .exec(STATUS_SEED)![1]!
    .split(/,\s*|\s+and\s+/)
    .map((v) => v.trim());
const DOCUMENTED = listed(/Possible values are (.+?)\./);
const LEGACY = [listed(/additional status (\w+)/)[0]!, ...listed(/not limited to (.+?)\./)];

describe('Genesis status map', () => {
  it('reads the documented lists from the seed', () => {
    expect(DOCUMENTED).toEqual([
      'creating',
      'pending_payment',
      'active',
      'stopping',
      'stopped',
      'starting',
      'resetting',
      'error',
      'deleting',
    ]);
    expect(LEGACY).toEqual(['enqueued', 'copying', 'build', 'restarting', 'shutoff', 'updating', 'unknown']);
  });

  // Every value the seed names has a domain status; only the cloud's own "unknown" maps to unknown.
  it.each([...DOCUMENTED, ...LEGACY].map((v) => [v]))('maps the documented value %s to a domain status', (raw) => {
    expect(STATUS_MAP).toHaveProperty(raw);
    expect(toStatus(raw)).toBe(STATUS_MAP[raw]);
    if (raw !== 'unknown') expect(toStatus(raw)).not.toBe('unknown');
  });

  it.each([
    ['creating', 'pending'],
    ['pending_payment', 'pending'],
    ['active', 'running'],
    ['stopping', 'stopping'],
    ['stopped', 'paused'],
    ['starting', 'starting'],
    ['resetting', 'starting'],
    ['error', 'error'],
    ['deleting', 'terminating'],
    // legacy values the seed names (genesiscloud-js Instance_Status lists them too); these were `unknown` before,
    // which was wrong: they are documented values
    ['enqueued', 'pending'],
    ['copying', 'pending'],
    ['build', 'pending'],
    ['updating', 'pending'],
    ['restarting', 'starting'],
    ['shutoff', 'paused'],
    ['unknown', 'unknown'],
  ])('maps %s to %s', (raw, status) => expect(toStatus(raw)).toBe(status));

  it('keeps the raw value next to unknown for a value no source lists', () => {
    const i = toInstance({ id: 'x', name: 'n', type: 't', region: 'r', status: 'migrating' }, () => ({
      usd_per_hour: null,
      source: null,
    }));
    expect(i).toMatchObject({ status: 'unknown', provider_status: 'migrating', price_usd_per_hour: null });
  });

  it('leaves the GPUs of a type it does not know unknown (absent), never "no GPU", so the GPU limit cannot be passed', () => {
    const i = toInstance(
      { id: 'x', name: 'n', type: 'vcpu-64_memory-512g_nvidia-b300-8', region: 'r', status: 'active' },
      () => ({ usd_per_hour: null, source: null }),
    );
    expect('gpu' in i).toBe(false);
    const known = toInstance({ id: 'y', name: 'n', type: GENESIS_TYPES[0]!.id, region: 'r', status: 'active' }, () => ({
      usd_per_hour: null,
      source: null,
    }));
    expect('gpu' in known).toBe(true);
  });
});

describe('Genesis snapshots and protection', () => {
  const base = { id: 's', name: 'n', status: 'created' };
  it.each([
    [{ resource_id: 'i-1' }, 'i-1'], // seed 002, genesiscloud-js
    [{ source_instance_id: 'i-2' }, 'i-2'], // genesiscloud-go
    [{ resource_id: null, source_instance_id: 'i-3' }, 'i-3'],
    [{}, undefined],
  ])('reads the source instance from %j', (fields, id) => {
    expect(toSnapshot({ ...base, ...fields }).instance_id).toBe(id);
  });

  it('maps the JS client snapshot status active to available', () => {
    expect(toSnapshot({ ...base, status: 'active' }).status).toBe('available');
  });

  it.each([
    [true, true],
    ['true', true],
    [false, false],
    ['false', false],
    [undefined, false],
  ])('is_protected %j → %s', (v, p) => {
    expect(isProtected({ is_protected: v })).toBe(p);
  });
});

describe('Genesis catalog', () => {
  const seed = readFileSync(SEED, 'utf8');
  it('has every documented type with its documented vCPUs and memory', () => {
    for (const t of GENESIS_TYPES) expect(seed).toContain(`${t.id}${t.vcpus}${t.memory_gib} GiB80 GiB`);
    expect(new Set(GENESIS_TYPES.map((t) => t.id)).size).toBe(GENESIS_TYPES.length);
    // 1 H100 + 8 Gaudi2 + 8+4 3090 + 8+4 3080 + 8 1080 Ti + 7 CPU rows in the seed
    expect(GENESIS_TYPES.length).toBe(48);
  });
});

describe('hostnames', () => {
  it.each([
    ['My H100 box!', 'my-h100-box'],
    ['---', 'vm'],
    ['a'.repeat(80), 'a'.repeat(63)],
  ])('%s → %s', (n, h) => expect(toHostname(n)).toBe(h));
});

describe('GPU matching and price order', () => {
  it.each([
    ['H100', 'h100', true],
    ['H100', 'NVIDIA H100', true],
    ['RTX 3090', '3090', true],
    ['RTX 3090', 'rtx-3090', true],
    ['GTX 1080 Ti', '1080ti', true],
    ['Gaudi2', 'gaudi', true],
    ['H100', 'a100', false],
    ['RTX 3080', '3090', false],
    ['H100', '', false],
  ])('%s matches %s: %s', (model, q, r) => expect(gpuMatches(model, q)).toBe(r));

  it('sorts by price with unknown prices last', () => {
    const t = (id: string, usd: number | null) =>
      ({
        provider: 'genesiscloud',
        id,
        price: { usd_per_hour: usd, source: usd === null ? null : 'config' },
      }) as InstanceType;
    expect([t('a', null), t('b', 2), t('c', 0.5), t('d', null), t('e', 0.5)].sort(byPrice).map((x) => x.id)).toEqual([
      'c',
      'e',
      'b',
      'a',
      'd',
    ]);
  });
});
