/**
 * The young generation of the HTTP server's heap stops growing at 2 × 8 MiB. Under steady load V8 doubles it, one
 * step at a time, whenever what survived its collections since the last step adds up to its size, up to 2 × 16 MiB:
 * the last step came after some thousands of calls and added about 16 MiB of RSS at once. Measured side by side
 * (`npm run bench`), a server of small requests answers as many calls a second at 2 × 8 MiB. Node cannot set the
 * largest size once running, so the growth factor is set to 1 while the young generation is at the ceiling, and
 * back to V8's 2 below it (V8 shrinks it again when allocation slows down), after each collection.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';

export const YOUNG_GENERATION_CEILING = 16 * 1024 * 1024;

/**
 * Starts watching; returns the function that stops (growth is then V8's own again). Not when the user set the young
 * generation's sizes or growth themselves (their setting stands), nor with frozen flags (V8 would abort the process).
 */
export function capYoungGeneration(
  ceiling = YOUNG_GENERATION_CEILING,
  nodeFlags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' '),
): () => void {
  if (/semi[-_]space|freeze[-_]flags/.test(nodeFlags)) return () => undefined;
  let capped = false;
  const set = (cap: boolean) => {
    if (cap === capped) return;
    capped = cap;
    setFlagsFromString(`--semi-space-growth-factor=${cap ? 1 : 2}`);
  };
  const check = () => set(youngGenerationBytes() >= ceiling);
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  check();
  return () => {
    observer.disconnect();
    set(false);
  };
}

/** The young generation's size (both halves), as V8 reports it. */
export function youngGenerationBytes(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}
