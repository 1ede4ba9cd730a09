/**
 * The provider registry: which clouds exist, which are enabled (credentials set, or emulator mode) and why not,
 * and one adapter instance per enabled cloud.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ComputeError } from '../domain/errors.js';
import type { Capabilities, ProviderId } from '../domain/model.js';
import { PROVIDER_IDS } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import { HttpClient, type HttpClientOptions } from '../http/client.js';
import { GENESIS_CAPABILITIES, GenesisCloudProvider, type PriceTable } from './genesiscloud/adapter.js';
import * as G from './genesiscloud/wire.js';
import { MITHRIL_CAPABILITIES, MithrilProvider } from './mithril/adapter.js';
import * as M from './mithril/wire.js';

export interface ProviderMeta {
  id: ProviderId;
  name: string;
  credentials: string[];
  settings: string[];
  defaultBaseUrl: string;
  /** False for clouds this version cannot talk to yet. */
  implemented: boolean;
}

// Source: SPEC §1.
export const PROVIDERS: Record<ProviderId, ProviderMeta> = {
  genesiscloud: { id: 'genesiscloud', name: 'Genesis Cloud', credentials: ['GENESISCLOUD_API_TOKEN'], settings: [], defaultBaseUrl: 'https://api.genesiscloud.com', implemented: true },
  mithril: { id: 'mithril', name: 'Mithril', credentials: ['MITHRIL_API_KEY'], settings: ['MITHRIL_PROJECT'], defaultBaseUrl: 'https://api.mithril.ai', implemented: true },
  onet: { id: 'onet', name: 'ONET Solutions', credentials: ['ONET_API_KEY'], settings: ['ONET_ORGANIZATION_ID', 'ONET_PROJECT_ID'], defaultBaseUrl: 'https://api.onetsolutions.net', implemented: false },
  k0rdent: { id: 'k0rdent', name: 'k0rdent AI', credentials: ['K0RDENT_TOKEN'], settings: ['K0RDENT_REGION', 'K0RDENT_PROJECT', 'K0RDENT_ZONE'], defaultBaseUrl: 'https://api.k0rdent.ai', implemented: false },
  instavm: { id: 'instavm', name: 'InstaVM', credentials: ['INSTAVM_API_KEY'], settings: [], defaultBaseUrl: 'https://api.instavm.io', implemented: false },
};

export const baseUrlEnv = (id: ProviderId) => `${id.toUpperCase()}_BASE_URL`;

export interface ProviderInfo {
  id: ProviderId;
  name: string;
  enabled: boolean;
  mode: 'live' | 'emulated' | null;
  reason?: string;
  capabilities: Capabilities | null;
}

/** Where the emulated clouds listen, and the fake credentials and demo prices they accept. */
export interface EmulatedClouds {
  genesiscloud?: { baseUrl: string; token: string; demoPrices: Record<string, number> };
  mithril?: { baseUrl: string; key: string; project: string };
}

/** What each cloud can do, known without building its adapter (list_providers shows it for disabled clouds too). */
const CAPABILITIES: Partial<Record<ProviderId, Capabilities>> = { genesiscloud: GENESIS_CAPABILITIES, mithril: MITHRIL_CAPABILITIES };

/** FastAPI error bodies: `{detail: "..."}`, or 422 `{detail: [{loc, msg}]}`; some clients also see `error`/`message`. */
export function fastApiError(body: unknown): { code?: string; message?: string } {
  const p = M.ErrorBody.safeParse(body);
  if (!p.success) return {};
  const d = p.data.detail;
  const message = typeof d === 'string' ? d : d ? d.map((x) => `${(x.loc ?? []).join('.')}: ${x.msg}`).join('; ') : (p.data.error ?? p.data.message);
  return message ? { message } : {};
}

export interface BuildOptions {
  env: NodeJS.ProcessEnv;
  config: Config;
  log: Logger;
  /** Emulator mode: every implemented cloud points at its emulator; real credentials are never used. */
  emulated?: EmulatedClouds;
  http?: Partial<Pick<HttpClientOptions, 'timeouts' | 'retry' | 'fetch' | 'maxResponseBytes' | 'maxErrorBytes'>>;
}

/** How to talk to one cloud: where, with which credentials, and how it words its errors. */
type CloudWire = Pick<HttpClientOptions, 'baseUrl' | 'headers' | 'secrets' | 'parseError'>;

export class ProviderSet {
  private readonly adapters = new Map<ProviderId, Provider>();
  private readonly clients: HttpClient[] = [];
  private readonly infos: ProviderInfo[] = [];

  constructor(opts: BuildOptions) {
    for (const id of PROVIDER_IDS) {
      const meta = PROVIDERS[id];
      const built = this.build(meta, opts);
      if (built.adapter) this.adapters.set(id, built.adapter);
      this.infos.push({
        id, name: meta.name, enabled: !!built.adapter, mode: built.adapter ? (opts.emulated ? 'emulated' : 'live') : null,
        ...(built.reason ? { reason: built.reason } : {}),
        capabilities: built.adapter?.capabilities ?? CAPABILITIES[id] ?? null,
      });
    }
  }

  private build(meta: ProviderMeta, opts: BuildOptions): { adapter?: Provider; reason?: string } {
    if (!meta.implemented) return { reason: `${meta.name} is not supported by this version of compute-mcp yet.` };
    if (meta.id === 'genesiscloud') {
      const em = opts.emulated?.genesiscloud;
      if (opts.emulated && !em) return { reason: 'no emulator is running for this cloud' };
      const token = em ? em.token : opts.env.GENESISCLOUD_API_TOKEN;
      if (!token) return { reason: `Set ${meta.credentials.join(' and ')} to enable it.` };
      const http = this.client(meta, opts, {
        baseUrl: em?.baseUrl ?? opts.env[baseUrlEnv(meta.id)] ?? meta.defaultBaseUrl,
        headers: () => ({ authorization: `Bearer ${token}` }),
        secrets: [token],
        parseError: (b) => {
          const p = G.ErrorBody.safeParse(b);
          return p.success ? p.data : {};
        },
      });
      const prices: PriceTable = {};
      for (const [type, usd] of Object.entries(em?.demoPrices ?? {})) prices[type] = { usd_per_hour: usd, source: 'emulator' };
      for (const [type, usd] of Object.entries(opts.config.prices.genesiscloud ?? {})) prices[type] = { usd_per_hour: usd, source: 'config' };
      return { adapter: new GenesisCloudProvider({ http, prices }) };
    }
    if (meta.id === 'mithril') {
      const em = opts.emulated?.mithril;
      if (opts.emulated && !em) return { reason: 'no emulator is running for this cloud' };
      const key = em ? em.key : opts.env.MITHRIL_API_KEY;
      const project = em ? em.project : opts.env.MITHRIL_PROJECT;
      if (!key || !project) return { reason: `Set ${[...meta.credentials, ...meta.settings].filter((v) => !opts.env[v]).join(' and ')} to enable it.` };
      const http = this.client(meta, opts, {
        baseUrl: em?.baseUrl ?? opts.env[baseUrlEnv(meta.id)] ?? meta.defaultBaseUrl,
        headers: () => ({ authorization: `Bearer ${key}` }),
        secrets: [key],
        parseError: fastApiError,
      });
      return { adapter: new MithrilProvider({ http, project }) };
    }
    return { reason: 'not supported yet' };
  }

  /**
   * One cloud's HTTP client. `secrets` names the credentials themselves, so the client scrubs them from any text the
   * cloud sends back, whatever the form of the header that carries them.
   */
  private client(meta: ProviderMeta, opts: BuildOptions, wire: CloudWire): HttpClient {
    const c = new HttpClient({
      provider: meta.id, ...wire, credentialsHint: meta.credentials.join(' / '),
      log: opts.log.child({ provider: meta.id }), ...opts.http,
    });
    this.clients.push(c);
    return c;
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
    throw new ComputeError('PROVIDER_DISABLED', `${PROVIDERS[id]?.name ?? id} is not enabled`, {
      provider: id,
      hint: `${info?.reason ?? ''} Enabled clouds: ${[...this.adapters.keys()].join(', ') || 'none'} (see list_providers).`.trim(),
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
