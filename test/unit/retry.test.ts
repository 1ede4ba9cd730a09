import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, backoffDelay, parseRetryAfter } from '../../src/http/retry.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-27T10:00:00Z');
  it.each([
    ['delay-seconds', '12', 12_000],
    ['zero seconds', '0', 0],
    ['HTTP-date in the future', 'Fri, 27 Nov 2026 10:00:30 GMT', 30_000],
    ['HTTP-date in the past clamps to 0', 'Fri, 27 Nov 2026 09:59:00 GMT', 0],
  ])('reads %s', (_n, value, ms) => expect(parseRetryAfter(value, now)).toBe(ms));

  it.each([[null], [undefined], [''], ['soon'], ['-5']])('ignores %j', (v) =>
    expect(parseRetryAfter(v as string, now)).toBeUndefined(),
  );
});

describe('backoffDelay', () => {
  it('grows exponentially and stays within the cap', () => {
    const p = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, p, () => 1)).toBe(100);
    expect(backoffDelay(3, p, () => 1)).toBe(400);
    expect(backoffDelay(10, p, () => 1)).toBe(1000);
    expect(backoffDelay(2, p, () => 0)).toBe(100); // half the ceiling at least
  });
});

describe('collectPages', () => {
  it('reads the first page even without a cursor, then follows next until it ends', async () => {
    const { collectPages } = await import('../../src/domain/paging.js');
    const pages: Record<string, { items: number[]; next?: string }> = {
      start: { items: [1, 2], next: 'b' },
      b: { items: [3], next: 'c' },
      c: { items: [4] },
    };
    expect(
      await collectPages('genesiscloud', undefined as string | undefined, async (c) => pages[c ?? 'start']!),
    ).toEqual([1, 2, 3, 4]);
    expect(
      await collectPages('genesiscloud', 1, async (p) => ({ items: [p], next: p < 3 ? p + 1 : undefined })),
    ).toEqual([1, 2, 3]);
  });
  it('stops a listing that never ends', async () => {
    const { collectPages } = await import('../../src/domain/paging.js');
    await expect(collectPages('genesiscloud', 1, async (p) => ({ items: [p], next: p + 1 }))).rejects.toMatchObject({
      code: 'PROVIDER_BAD_RESPONSE',
    });
  });
});
