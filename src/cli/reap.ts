/** `compute-mcp reap [--dry-run]`: one sweep over the leases that ran out, for cron or a systemd timer. */
import type { Logger } from '../log.js';
import { startRuntime } from '../runtime.js';

export async function runReap(
  cmd: { dryRun: boolean; emulate: boolean; config?: string },
  log: Logger,
): Promise<number> {
  const rt = await startRuntime({ emulate: cmd.emulate, configFile: cmd.config, env: process.env, log });
  try {
    const actions = await rt.sweep({ dryRun: cmd.dryRun });
    process.stdout.write(`${JSON.stringify({ dry_run: cmd.dryRun, actions }, null, 2)}\n`);
    // A lease that could not be enforced now (a cloud that did not answer) is tried again by the next run: say so.
    return actions.some((a) => a.result === 'retry') ? 1 : 0;
  } finally {
    await rt.close();
  }
}
