/**
 * The provider contract against every built cloud's emulator: the admission test for a cloud. Adapters are built by
 * the registry from the table of clouds, exactly as the server builds them in emulator mode (error parsers, prices,
 * credentials); only the retry timing is shortened.
 */
import { parseConfig } from '../../src/config.js';
import { BUILT_CLOUDS } from '../../src/providers/clouds.js';
import { ProviderSet } from '../../src/providers/index.js';
import { memoryLogger } from '../helpers/logsink.js';
import { providerContract } from './contract.js';

for (const cloud of BUILT_CLOUDS) {
  providerContract(cloud.id, async () => {
    const emulator = await cloud.emulator({ pace: 'instant' });
    const make = (env: Record<string, string>) =>
      new ProviderSet({
        env: {},
        config: parseConfig({}),
        log: memoryLogger().log,
        http: { retry: { baseDelayMs: 5, maxDelayMs: 20 } },
        emulated: {
          [cloud.id]: {
            baseUrl: emulator.baseUrl,
            env,
            ...(emulator.demoPrices ? { demoPrices: emulator.demoPrices } : {}),
          },
        },
      });
    const good = make(emulator.env);
    // Every credential wrong (settings kept): the cloud must refuse it.
    const bad = make({
      ...emulator.env,
      ...Object.fromEntries(cloud.credentials.map((k) => [k, `wrong-${emulator.env[k]}`])),
    });
    return {
      provider: good.get(cloud.id),
      withBadCredentials: bad.get(cloud.id),
      emulator: emulator.http,
      ...cloud.contract,
      liveCount: () => emulator.liveCount(),
      setRawStatus: (id, raw) => emulator.setRawStatus(id, raw),
      close: async () => {
        await Promise.all([good.close(), bad.close()]);
        await emulator.stop();
      },
    };
  });
}
