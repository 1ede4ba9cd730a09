/**
 * The provider registry: which clouds exist (the table in clouds.ts), which are enabled (credentials set, or emulator
 * mode) and why not, and one adapter instance per enabled cloud. Nothing here knows any particular cloud.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ComputeError } from '../domain/errors.js';
import type { Capabilities, ProviderId } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import { HttpClient, type HttpClientOptions } from '../http/client.js';
import type { CloudEnv, CloudModule, EmulatedCloud, PlannedCloud, PriceTable } from './cloud.js';
import { CLOUDS, isBuilt } from './clouds.js';

/** `<ID>_BASE_URL` points a cloud at another address. */
export const baseUrlEnv = (id: ProviderId) => `${id.toUpperCase()}_BASE_URL`;

export interface ProviderInfo {
  id: ProviderId;
  name: string;
  enabled: boolean;
  mode: 'live' | 'emulated' | null;
  reason?: string;
  capabilities: Capabilities | null;
}

/** Where the emulated clouds listen, and the fake credentials and demo prices they accept, by cloud id. */
export type EmulatedClouds = Record<ProviderId, EmulatedCloud>;

export interface BuildOptions {
  env: NodeJS.ProcessEnv;
  config: Config;
  log: Logger;
  /** Emulator mode: every built cloud points at its emulator; real credentials are never used. */
  emulated?: EmulatedClouds;
  http?: Partial<Pick<HttpClientOptions, 'timeouts' | 'retry' | 'fetch' | 'maxResponseBytes' | 'maxErrorBytes'>>;
}

export class ProviderSet {
  private readonly adapters = new Map<ProviderId, Provider>();
  private readonly clients: HttpClient[] = [];
  private readonly infos: ProviderInfo[] = [];

  constructor(opts: BuildOptions) {
    for (const cloud of CLOUDS) {
      const built = this.build(cloud, opts);
      if (built.adapter) this.adapters.set(cloud.id, built.adapter);
      this.infos.push({
        id: cloud.id,
        name: cloud.name,
        enabled: !!built.adapter,
        mode: built.adapter ? (opts.emulated ? 'emulated' : 'live') : null,
        ...(built.reason ? { reason: built.reason } : {}),
        capabilities: built.adapter?.capabilities ?? (isBuilt(cloud) ? cloud.capabilities : null),
      });
    }
  }

  private build(cloud: CloudModule | PlannedCloud, opts: BuildOptions): { adapter?: Provider; reason?: string } {
    if (!isBuilt(cloud)) return { reason: `${cloud.name} is not supported by this version of compute-mcp yet.` };
    const em = opts.emulated?.[cloud.id];
    if (opts.emulated && !em) return { reason: 'no emulator is running for this cloud' };
    const env: CloudEnv = em ? em.env : pick(opts.env, [...cloud.credentials, ...cloud.settings]);
    const missing = [...cloud.credentials, ...cloud.settings].filter((k) => !env[k]);
    if (missing.length) return { reason: `Set ${missing.join(' and ')} to enable it.` };
    const { headers, secrets } = cloud.auth(env);
    const http = new HttpClient({
      provider: cloud.id,
      baseUrl: em?.baseUrl ?? opts.env[baseUrlEnv(cloud.id)] ?? cloud.defaultBaseUrl,
      headers: () => headers,
      secrets,
      parseError: cloud.parseError,
      credentialsHint: cloud.credentials.join(' / '),
      log: opts.log.child({ provider: cloud.id }),
      ...opts.http,
    });
    this.clients.push(http);
    return {
      adapter: cloud.adapter({
        http,
        env,
        prices: pricesOf(cloud.id, opts, em),
        log: opts.log.child({ provider: cloud.id }),
      }),
    };
  }

  /** Puts another adapter in place of a cloud's (embedding, and tests that wrap an adapter). */
  replace(adapter: Provider): void {
    this.adapters.set(adapter.id, adapter);
  }

  info(): ProviderInfo[] {
    return this.infos;
  }

  enabled(): Provider[] {
    return [...this.adapters.values()];
  }

  /** The adapter for `id`, or PROVIDER_DISABLED saying how to enable it. */
  get(id: ProviderId): Provider {
    const a = this.adapters.get(id);
    if (a) return a;
    const info = this.infos.find((i) => i.id === id);
    if (!info)
      throw new ComputeError('INVALID_INPUT', `there is no cloud ${JSON.stringify(id.slice(0, 40))}`, {
        hint: `Use one of: ${this.infos.map((i) => i.id).join(', ')} (see list_providers).`,
      });
    throw new ComputeError('PROVIDER_DISABLED', `${info.name} is not enabled`, {
      provider: id,
      hint: `${info?.reason ?? ''} Enabled clouds: ${[...this.adapters.keys()].join(', ') || 'none'} (see list_providers).`.trim(),
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

const pick = (env: NodeJS.ProcessEnv, keys: string[]): CloudEnv =>
  Object.fromEntries(keys.filter((k) => env[k]).map((k) => [k, env[k]!]));

/** Prices for clouds without a price API: the emulator's demo table (labelled so), overridden by the config's. */
function pricesOf(id: ProviderId, opts: BuildOptions, em?: EmulatedCloud): PriceTable {
  const prices: PriceTable = {};
  for (const [type, usd] of Object.entries(em?.demoPrices ?? {}))
    prices[type] = { usd_per_hour: usd, source: 'emulator' };
  for (const [type, usd] of Object.entries(opts.config.prices[id] ?? {}))
    prices[type] = { usd_per_hour: usd, source: 'config' };
  return prices;
}
