/**
 * What a cloud is to the rest of the server: one value each `src/providers/<id>/index.ts` exports, listed once in
 * `clouds.ts`. The registry, the emulators, `compute-mcp emulate`, the demo, the test harness and the contract suite
 * loop over these values; nothing outside a cloud's folder names a cloud.
 */
import type { Logger } from 'pino';
import type { Capabilities, CreateRequest, Price } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import type { CloudErrorBody, HttpClient } from '../http/client.js';
import type { HttpEmulator } from '../emulator/server.js';

/** A cloud's environment values by variable name (credentials and settings), from the env or from its emulator. */
export type CloudEnv = Record<string, string>;

/** $/hour by instance type, for clouds whose prices come from the config (or the emulator's demo table). */
export type PriceTable = Record<
  string,
  { usd_per_hour: number; source: Extract<Price['source'], 'config' | 'emulator'> }
>;

/** What an adapter is built from. */
export interface AdapterContext {
  http: HttpClient;
  env: CloudEnv;
  prices: PriceTable;
  log: Logger;
}

/** Where an emulated cloud listens, and the fake credentials and demo prices it accepts. */
export interface EmulatedCloud {
  baseUrl: string;
  /** The fake credentials and settings it accepts, by variable name. */
  env: CloudEnv;
  /** Demo prices (type id → $/hour), labelled `emulator`, for clouds whose prices come from the config. */
  demoPrices?: Record<string, number>;
}

/** A cloud's emulator, running on loopback. */
export interface RunningEmulator extends EmulatedCloud {
  http: HttpEmulator;
  /** The emulator object itself, for tests that use its cloud-specific controls. */
  instance: unknown;
  /** VMs that exist now (for tests and the contract suite). */
  liveCount(): number;
  /** Forces a VM's raw status, e.g. an undocumented one (for the contract suite). */
  setRawStatus(id: string, raw: string): void;
  stop(): Promise<void>;
}

/** What every cloud's emulator object offers the module that starts it. */
export interface EmulatorHandle {
  readonly baseUrl: string;
  readonly http: HttpEmulator;
  start(): Promise<unknown>;
  stop(): Promise<void>;
  setStatus(id: string, raw: string): void;
}

/** Starts a cloud's emulator and describes it as a RunningEmulator: the part every module's `emulator` shares. */
export async function running(
  em: EmulatorHandle,
  own: { env: CloudEnv; live: () => unknown[]; demoPrices?: Record<string, number> },
): Promise<RunningEmulator> {
  await em.start();
  return {
    baseUrl: em.baseUrl,
    env: own.env,
    ...(own.demoPrices ? { demoPrices: own.demoPrices } : {}),
    http: em.http,
    instance: em,
    liveCount: () => own.live().length,
    setRawStatus: (id, raw) => em.setStatus(id, raw),
    stop: () => em.stop(),
  };
}

/** Steps of the demo a cloud contributes: `call` runs a tool through the real client; `human` prints a yes. */
export interface DemoScript {
  call(
    title: string,
    tool: string,
    args: Record<string, unknown>,
  ): Promise<Record<string, unknown> & { status?: string }>;
  human(words: string): void;
  say(text: string): void;
}

export interface CloudModule {
  id: string;
  name: string;
  /** Environment variables that must all be set to enable it: credentials first (checked on 401/403). */
  credentials: string[];
  settings: string[];
  defaultBaseUrl: string;
  capabilities: Capabilities;
  /** Reads the cloud's error envelope. */
  parseError(body: unknown): CloudErrorBody;
  /** The auth headers for its env, and the secret values in them (scrubbed from anything the cloud echoes). */
  auth(env: CloudEnv): { headers: Record<string, string>; secrets: string[] };
  adapter(ctx: AdapterContext): Provider;
  /** `options` go to the cloud's emulator as they are (its own options type: token, delays, clock…), for tests. */
  emulator(opts: {
    pace: 'instant' | 'demo';
    latencyMs?: number;
    options?: Record<string, unknown>;
  }): Promise<RunningEmulator>;
  /** What the contract suite needs: a cheap valid create, and the requests that create and read. */
  contract: {
    createRequest(name: string): CreateRequest;
    /** Fields this cloud cannot use: each must be refused (INVALID_INPUT) before anything is sent. */
    unusable: Partial<CreateRequest>[];
    createCall: { method: string; path: RegExp };
    readCall: { method: string; path: RegExp };
  };
  /** Its part of `compute-mcp demo`. */
  demo?(script: DemoScript): Promise<void>;
}

/** A cloud this version knows of but cannot talk to yet: listed, with what it will need, never enabled. */
export interface PlannedCloud {
  id: string;
  name: string;
  credentials: string[];
  settings: string[];
  planned: true;
}
