/** The adapter toolkit: offer choice, numeric cursors, per-id power results, the TTL cache. */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ComputeError } from '../../src/domain/errors.js';
import { TtlCache, chooseOffer, eachId, numericCursor } from '../../src/providers/toolkit.js';

describe('chooseOffer', () => {
  const offers = [
    { region: 'B', usd: 1 },
    { region: 'A', usd: 2 },
  ];
  it('takes the wanted region when it has capacity, else the first in the cloud’s order', () => {
    expect(chooseOffer({ provider: 'c', type: 't', wanted: 'A', offers })).toEqual({ region: 'A', usd: 2 });
    expect(chooseOffer({ provider: 'c', type: 't', offers })).toEqual({ region: 'B', usd: 1 });
  });
  it('refuses a wanted region without capacity, saying where there is; and no capacity anywhere', () => {
    expect(() => chooseOffer({ provider: 'c', type: 't', wanted: 'Z', offers })).toThrow(
      expect.objectContaining({
        code: 'CAPACITY',
        message: 't is not available in Z',
        hint: 'Regions with capacity for t now: B, A.',
      }),
    );
    expect(() => chooseOffer({ provider: 'c', type: 't', offers: [] })).toThrow(
      expect.objectContaining({ code: 'CAPACITY', message: 't is not available in any region' }),
    );
  });
});

describe('numericCursor, eachId, TtlCache', () => {
  it('reads back its own cursors and refuses others', () => {
    expect(numericCursor('c', undefined, 1)).toBe(1);
    expect(numericCursor('c', '3', 1)).toBe(3);
    expect(() => numericCursor('c', 'x', 0)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => numericCursor('c', '0', 1)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
  it('turns a ComputeError of one id into that id’s failure, leaving the others', async () => {
    const send = eachId(async (id) => {
      if (id === 'bad') throw new ComputeError('NOT_FOUND', 'gone', { provider: 'c' });
      return { id, result: 'paused' as const };
    });
    const r = await send([{ id: 'ok' }, { id: 'bad' }]);
    expect(r.get('ok')).toEqual({ id: 'ok', result: 'paused' });
    expect(r.get('bad')).toMatchObject({ id: 'bad', result: 'failed', message: expect.stringContaining('gone') });
  });
  it('loads once within the TTL, again after it, and forgets a failed load', async () => {
    let t = 0;
    let loads = 0;
    const c = new TtlCache<number>(100, () => t);
    const load = async () => ++loads;
    expect(await c.get(load)).toBe(1);
    expect(await c.get(load)).toBe(1);
    t = 150;
    expect(await c.get(load)).toBe(2);
    t = 300;
    await expect(c.get(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await Promise.resolve();
    expect(await c.get(load)).toBe(3);
  });
  it('TtlCache: one caller giving up (its signal) does not fail the shared load for the others', async () => {
    const c = new TtlCache<string>(1000);
    let finish!: (v: string) => void;
    let loads = 0;
    const load = () => {
      loads++;
      return new Promise<string>((r) => (finish = r));
    };
    const first = new AbortController();
    const second = new AbortController();
    const a = c.get(load, first.signal);
    const b = c.get(load, second.signal);
    first.abort();
    await expect(a).rejects.toMatchObject({ code: 'CANCELLED' });
    finish('catalog');
    expect(await b).toBe('catalog');
    expect(loads).toBe(1);
    // The value was kept; a caller whose signal has already fired is refused at once; no listener is left behind.
    expect(await c.get(load)).toBe('catalog');
    await expect(c.get(load, first.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(getEventListeners(second.signal, 'abort')).toHaveLength(0);
  });
  it('TtlCache: a load still under way is shared past the TTL, never doubled; the TTL counts from when it ended', async () => {
    let t = 0;
    const c = new TtlCache<number>(100, () => t);
    let finish!: (v: number) => void;
    let loads = 0;
    const load = () => {
      loads++;
      return new Promise<number>((r) => (finish = r));
    };
    const a = c.get(load);
    t = 500; // the cloud is slow: the first load is still running long past the TTL
    const b = c.get(load);
    expect(loads).toBe(1);
    finish(7);
    expect([await a, await b]).toEqual([7, 7]);
    t = 550;
    expect(await c.get(load)).toBe(7); // 50 ms after the load ended: still fresh
    t = 601;
    void c.get(load);
    expect(loads).toBe(2);
  });
});
