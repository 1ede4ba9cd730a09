/** `compute-mcp emulate`: the emulators standalone, until interrupted. */
import { startEmulators } from '../emulator/index.js';
import { baseUrlEnv } from '../providers/index.js';

export async function runEmulate(): Promise<number> {
  const pace = process.env.COMPUTE_MCP_EMULATOR_PACE === 'instant' ? 'instant' : 'demo';
  const em = await startEmulators({ pace });
  // Per cloud: its address and the variables that point a server at it (`eval`-able as shown).
  const out = Object.fromEntries(
    Object.entries(em.byCloud).map(([id, e]) => [
      id,
      { base_url: e.baseUrl, env: { [baseUrlEnv(id)]: e.baseUrl, ...e.env } },
    ]),
  );
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await em.stop();
  return 0;
}
