/** `compute-mcp emulate`: the emulators standalone, until interrupted. */
import { startEmulators } from '../emulator/index.js';
import { DEFAULT_TOKEN } from '../providers/genesiscloud/emulator.js';

export async function runEmulate(): Promise<number> {
  const pace = process.env.COMPUTE_MCP_EMULATOR_PACE === 'instant' ? 'instant' : 'demo';
  const em = await startEmulators({ pace });
  process.stdout.write(
    `${JSON.stringify(
      {
        genesiscloud: { base_url: em.baseUrls.genesiscloud, env: { GENESISCLOUD_BASE_URL: em.baseUrls.genesiscloud, GENESISCLOUD_API_TOKEN: DEFAULT_TOKEN } },
        mithril: { base_url: em.baseUrls.mithril, env: { MITHRIL_BASE_URL: em.baseUrls.mithril, MITHRIL_API_KEY: em.mithril.key, MITHRIL_PROJECT: em.mithril.project } },
      },
      null,
      2,
    )}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await em.stop();
  return 0;
}
