import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENESIS_TYPES } from '../../src/providers/genesiscloud/catalog.js';
import { toHostname, toInstance, toStatus } from '../../src/providers/genesiscloud/map.js';
import { byPrice, gpuMatches } from '../../src/tools/list_instance_types.js';
import type { InstanceType } from '../../src/domain/model.js';

// The documented type table, copied from shared/seeds/genesiscloud-instances.txt (seed 002).
const SEED = join(import.meta.dirname, '../../src/providers/genesiscloud/fixtures/instance-types.txt');

describe('Genesis status map', () => {
  it.each([
    ['creating', 'pending'], ['pending_payment', 'pending'], ['active', 'running'], ['stopping', 'stopping'],
    ['stopped', 'paused'], ['starting', 'starting'], ['resetting', 'starting'], ['error', 'error'], ['deleting', 'terminating'],
    // legacy statuses named in the seed are not in the documented list
    ['enqueued', 'unknown'], ['shutoff', 'unknown'], ['copying', 'unknown'],
  ])('maps %s to %s', (raw, status) => expect(toStatus(raw)).toBe(status));

  it('keeps the raw value next to unknown', () => {
    const i = toInstance({ id: 'x', name: 'n', type: 't', region: 'r', status: 'build' }, () => ({ usd_per_hour: null, source: null }));
    expect(i).toMatchObject({ status: 'unknown', provider_status: 'build', price_usd_per_hour: null });
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
  it.each([['My H100 box!', 'my-h100-box'], ['---', 'vm'], ['a'.repeat(80), 'a'.repeat(63)]])('%s → %s', (n, h) => expect(toHostname(n)).toBe(h));
});

describe('GPU matching and price order', () => {
  it.each([
    ['H100', 'h100', true], ['H100', 'NVIDIA H100', true], ['RTX 3090', '3090', true], ['RTX 3090', 'rtx-3090', true],
    ['GTX 1080 Ti', '1080ti', true], ['Gaudi2', 'gaudi', true], ['H100', 'a100', false], ['RTX 3080', '3090', false], ['H100', '', false],
  ])('%s matches %s: %s', (model, q, r) => expect(gpuMatches(model, q)).toBe(r));

  it('sorts by price with unknown prices last', () => {
    const t = (id: string, usd: number | null) => ({ provider: 'genesiscloud', id, price: { usd_per_hour: usd, source: usd === null ? null : 'config' } }) as InstanceType;
    expect([t('a', null), t('b', 2), t('c', 0.5), t('d', null), t('e', 0.5)].sort(byPrice).map((x) => x.id)).toEqual(['c', 'e', 'b', 'a', 'd']);
  });
});
