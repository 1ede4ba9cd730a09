/** Polls an instance until it reaches a status or time runs out, with progress and prompt cancellation. */
import { ComputeError } from '../domain/errors.js';
import type { Instance, InstanceStatus } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import { sleep } from '../domain/sleep.js';
import type { ToolContext } from './define.js';

export interface WaitResult {
  reached: boolean;
  instance: Instance | null;
  waited_seconds: number;
  message?: string;
}

/** Statuses from which `target` can no longer be reached without another action. */
const DEAD_ENDS: Partial<Record<InstanceStatus, InstanceStatus[]>> = {
  running: ['error', 'terminated', 'terminating', 'paused', 'stopping'],
  paused: ['error', 'terminated', 'terminating'],
};

export async function waitForStatus(
  ctx: ToolContext,
  p: Provider,
  id: string,
  target: InstanceStatus,
  timeoutSeconds: number,
): Promise<WaitResult> {
  const started = Date.now();
  const deadline = started + timeoutSeconds * 1000;
  const waited = () => Math.round((Date.now() - started) / 100) / 10;
  // notifications/progress must increase every time, even when two polls land in the same tenth of a second.
  let lastProgress = -1;
  const progress = (message: string) => {
    lastProgress = Math.max(lastProgress + 0.001, Math.min((Date.now() - started) / 1000, timeoutSeconds));
    return ctx.progress(Math.round(lastProgress * 1000) / 1000, timeoutSeconds, message);
  };
  for (;;) {
    if (ctx.signal.aborted) throw new ComputeError('CANCELLED', 'the wait was cancelled', { provider: p.id });
    let inst: Instance | null;
    try {
      inst = await p.getInstance(id, { signal: ctx.signal });
    } catch (e) {
      if (e instanceof ComputeError && e.code === 'NOT_FOUND') {
        if (target === 'terminated')
          return { reached: true, instance: null, waited_seconds: waited(), message: 'the instance no longer exists' };
        throw e;
      }
      throw e;
    }
    if (inst.status === target) return { reached: true, instance: inst, waited_seconds: waited() };
    if (DEAD_ENDS[target]?.includes(inst.status))
      return {
        reached: false,
        instance: inst,
        waited_seconds: waited(),
        message: `the instance is ${inst.status} and will not become ${target} by itself`,
      };
    const left = deadline - Date.now();
    await progress(`${id}: ${inst.status} (${inst.provider_status})`);
    if (left <= 0)
      return {
        reached: false,
        instance: inst,
        waited_seconds: waited(),
        message: `still ${inst.status} after ${timeoutSeconds}s; call wait_for_instance again`,
      };
    try {
      await sleep(Math.min(ctx.pollIntervalMs, left), ctx.signal);
    } catch {
      throw new ComputeError('CANCELLED', 'the wait was cancelled', { provider: p.id });
    }
  }
}
