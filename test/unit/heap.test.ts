/**
 * The HTTP server's young generation stops at its ceiling (src/transport/heap.ts). Run in child processes: the flag
 * it sets is the process's own. The same churn, which keeps some of what it makes for a while as a server does,
 * grows the young generation past the ceiling without the cap.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { YOUNG_GENERATION_CEILING } from '../../src/transport/heap.js';

const LOAD = join(import.meta.dirname, '../../scripts/load.mjs');

/** The young generation's largest size under the churn, in bytes: without the cap, with it, with it and user flags. */
function youngGenerationUnderLoad(cap: false | true | string): number {
  const script = `
    import { loadSource } from ${JSON.stringify(LOAD)};
    const { capYoungGeneration, youngGenerationBytes } = await loadSource('src/transport/heap.ts');
    const cap = ${JSON.stringify(cap)};
    const stop = cap === false ? () => undefined : capYoungGeneration(undefined, cap === true ? '' : cap);
    const kept = [];
    let largest = 0;
    for (let round = 0; round < 300; round++) {
      for (let i = 0; i < 10_000; i++) {
        const o = { i, list: [i, String(i)] };
        if (i % 3 === 0) kept.push(o);
      }
      if (kept.length > 20_000) kept.length = 0;
      await new Promise((r) => setImmediate(r)); // a server between requests: the GC observer gets its turn
      largest = Math.max(largest, youngGenerationBytes());
    }
    stop();
    console.log(largest);`;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '../..'),
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(out.stderr);
  return Number(out.stdout.trim());
}

describe('the young generation of the HTTP server', () => {
  it('stops growing at its ceiling, where the same load grows it further without the cap', () => {
    expect(youngGenerationUnderLoad(false)).toBeGreaterThan(YOUNG_GENERATION_CEILING);
    expect(youngGenerationUnderLoad(true)).toBeLessThanOrEqual(YOUNG_GENERATION_CEILING);
  });

  it("leaves a user's own young-generation flags alone (they stand, and frozen flags would abort the process)", () => {
    expect(youngGenerationUnderLoad('--max-old-space-size=512 --semi-space-growth-factor=2')).toBeGreaterThan(
      YOUNG_GENERATION_CEILING,
    );
  });
});
