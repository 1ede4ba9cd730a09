/**
 * Fan-out across every built cloud, through a real SDK Client, counted in round trips rather than timed: with latency
 * injected into every emulator, a request that waited for another one's answer starts after that answer was sent, and
 * requests sent together overlap. The depth of a call is the longest chain of requests each of which started after
 * the one before it was answered (issue 13, item 4: list_instance_types in one round trip cold and none cached,
 * list_instances in at most two).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../src/emulator/server.js';
import { parseConfig } from '../../src/config.js';
import { ProviderSet } from '../../src/providers/index.js';
import { BUILT_CLOUDS } from '../../src/providers/clouds.js';
import { memoryLogger } from '../helpers/logsink.js';
import { startHarness, text, type Harness } from '../helpers/harness.js';

/** Large against the scheduling noise of one process, so requests sent together always overlap. */
const LATENCY_MS = 100;
const ALL = BUILT_CLOUDS.map((c) => c.id);

let h: Harness;
afterEach(async () => h?.close());

const sc = <T>(r: { structuredContent?: unknown }) => r.structuredContent as T;

/** The longest chain of requests in which each one started after the one before it was answered. */
export function roundTripDepth(requests: Pick<RecordedRequest, 'startedAt' | 'answeredAt'>[]): number {
  const byStart = [...requests].sort((a, b) => a.startedAt - b.startedAt);
  const chain: number[] = [];
  byStart.forEach((r, i) => {
    chain[i] = 1 + Math.max(0, ...byStart.slice(0, i).map((q, j) => (q.answeredAt <= r.startedAt ? chain[j]! : 0)));
  });
  return Math.max(0, ...chain);
}

/** Every cloud's emulator of the harness, by id. */
const emulators = () => Object.fromEntries(ALL.map((id) => [id, h.clouds[id]!.http]));

/** Runs `call` and returns what each cloud received meanwhile, and the depth of each and of all together. */
async function measured(call: () => Promise<unknown>) {
  const ems = emulators();
  const before = Object.fromEntries(Object.entries(ems).map(([id, e]) => [id, e.requests.length]));
  await call();
  const sent = Object.fromEntries(Object.entries(ems).map(([id, e]) => [id, e.requests.slice(before[id])]));
  const perCloud = Object.fromEntries(Object.entries(sent).map(([id, rs]) => [id, roundTripDepth(rs)]));
  return { sent, perCloud, total: roundTripDepth(Object.values(sent).flat()) };
}

/** Every cloud enabled and emulated; the server's adapters all cold. */
async function start() {
  h = await startHarness({ clouds: ALL });
}

/** LATENCY_MS on every answer of every emulator from now on. */
function slow() {
  for (const e of Object.values(emulators())) e.latencyMs = LATENCY_MS;
}

/**
 * VMs on every cloud, made by a second set of adapters pointed at the same emulators (so the server's own caches stay
 * cold): a create per cloud, and on Mithril a reserved instance as well (a spot VM is read with its bid).
 */
async function seedVms() {
  const { log } = memoryLogger('silent');
  const seeder = new ProviderSet({
    env: {},
    config: parseConfig({}),
    log,
    emulated: Object.fromEntries(
      Object.entries(h.clouds).map(([id, e]) => [id, { baseUrl: e.baseUrl, env: e.env, demoPrices: e.demoPrices }]),
    ),
  });
  try {
    for (const cloud of BUILT_CLOUDS) {
      const p = seeder.get(cloud.id);
      await p.create(await p.planCreate(cloud.contract.createRequest(`fanout-${cloud.id}`)));
    }
  } finally {
    await seeder.close();
  }
  (h.clouds.mithril!.instance as { seedReserved(name: string): string }).seedReserved('fanout-reserved');
}

describe('fan-out across every cloud, in round trips', () => {
  it('the depth of a chain counts only requests that waited for an answer', () => {
    const at = (startedAt: number, answeredAt: number) => ({ startedAt, answeredAt });
    expect(roundTripDepth([])).toBe(0);
    expect(roundTripDepth([at(0, 100), at(1, 101), at(2, 102)])).toBe(1);
    expect(roundTripDepth([at(0, 100), at(100, 200), at(1, 101)])).toBe(2);
    expect(roundTripDepth([at(0, 100), at(100, 200), at(201, 300), at(150, 250)])).toBe(3);
  });

  it('list_instance_types: every cloud in one round trip cold, none at all cached', async () => {
    await start();
    slow();
    const cold = await measured(async () => {
      const r = await h.call('list_instance_types', { limit: 100 });
      expect(r.isError, text(r)).toBeFalsy();
      expect(sc<{ errors: unknown[] }>(r).errors).toEqual([]);
    });
    // Every cloud with a catalog API was asked (InstaVM's sizes are documented, not listed by its API).
    for (const id of ALL.filter((c) => c !== 'instavm')) expect(cold.sent[id]!.length, id).toBeGreaterThan(0);
    expect(cold.perCloud).toEqual(Object.fromEntries(ALL.map((id) => [id, id === 'instavm' ? 0 : 1])));
    expect(cold.total).toBe(1);

    const cached = await measured(() => h.call('list_instance_types', { limit: 100 }));
    expect(cached.total).toBe(0);
    expect(Object.values(cached.sent).flat()).toEqual([]);
  });

  it('list_instance_types with a region: still one round trip cold', async () => {
    await start();
    slow();
    const r = await measured(() => h.call('list_instance_types', { region: 'ARC-IS-HAF-1' }));
    expect(r.total).toBe(1);
  });

  it('list_instances: at most two round trips on every cloud, with VMs everywhere and every cache cold', async () => {
    await start();
    await seedVms();
    slow();
    let items: { provider: string }[] = [];
    const m = await measured(async () => {
      const r = await h.call('list_instances', { limit: 100 });
      expect(r.isError, text(r)).toBeFalsy();
      expect(sc<{ errors: unknown[] }>(r).errors).toEqual([]);
      items = sc<{ items: { provider: string }[] }>(r).items;
    });
    expect(new Set(items.map((i) => i.provider))).toEqual(new Set(ALL));
    expect(items.filter((i) => i.provider === 'mithril')).toHaveLength(2);
    // Mithril: the catalog and its three listings at once, then the bids of the spot VMs listed.
    expect(m.perCloud).toEqual({ genesiscloud: 1, mithril: 2, onet: 1, k0rdent: 1, instavm: 1 });
    expect(m.total).toBe(2);
    const mithril = m.sent.mithril!.map((q) => `${q.method} ${q.path}`).sort();
    expect(mithril.filter((c) => !c.startsWith('GET /v2/spot/bids/'))).toEqual([
      'GET /v2/instance-types',
      'GET /v2/instances',
      'GET /v2/spot/availability',
      'GET /v2/spot/bids',
      'GET /v2/spot/bids',
    ]);
    expect(mithril.filter((c) => c.startsWith('GET /v2/spot/bids/'))).toHaveLength(1);
  });
});
