import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config.js';

describe('config', () => {
  it('fills every default from an empty file', () => {
    const c = parseConfig({});
    expect(c.policy.confirm).toEqual({
      gpu: 'always',
      aboveUsdPerHour: 0.5,
      delete: 'always',
      fallback: 'token',
      openBrowser: 'auto',
    });
    expect(c.policy.leases).toEqual({ onExpiry: 'stop', defaultHours: 4, allowUnleased: false, sweepSeconds: 60 });
    // off loopback an unset fallback is deny; an explicit one is kept
    expect(parseConfig({}, 'config', { remote: true }).policy.confirm.fallback).toBe('deny');
    expect(
      parseConfig({ policy: { confirm: { fallback: 'token' } } }, 'config', { remote: true }).policy.confirm.fallback,
    ).toBe('token');
    expect(c.policy.allow.providers).toEqual(['*']);
    expect(c.enabledTools).toBeNull();
  });

  it('starts without a config file on the defaults the schema gives, key for key and in the same order', () => {
    for (const remote of [false, true])
      expect(JSON.stringify(loadConfig(undefined, { remote }))).toBe(
        JSON.stringify(parseConfig({}, 'config', { remote })),
      );
    // each start gets its own copy (the runtime sets policy.readOnly on it)
    expect(loadConfig().policy).not.toBe(loadConfig().policy);
  });

  it('accepts the SPEC example', () => {
    const c = parseConfig({
      policy: {
        readOnly: false,
        disableDestructive: false,
        confirm: { gpu: 'always', aboveUsdPerHour: 0.5, delete: 'always', fallback: 'token' },
        autoApprove: { maxUsdPerHour: 0 },
        limits: {
          maxUsdPerHourPerVm: 40,
          maxUsdPerHourTotal: 80,
          maxGpusTotal: 16,
          maxInstances: 10,
          maxLifetimeHours: 72,
        },
        allow: { providers: ['*'], regions: ['*'], instanceTypes: ['*'] },
      },
      prices: { genesiscloud: { 'vcpu-4_memory-12g_disk-80g_nvidia3080-1': 0.35 } },
      enabledTools: null,
      disabledTools: [],
    });
    expect(c.policy.limits.maxInstances).toBe(10);
    expect(c.prices.genesiscloud?.['vcpu-4_memory-12g_disk-80g_nvidia3080-1']).toBe(0.35);
  });

  it('names every bad field', () => {
    expect(() =>
      parseConfig({ policy: { confirm: { gpu: 'maybe' }, limits: { maxInstances: -1 } }, pricez: {} }),
    ).toThrowError(ConfigError);
    try {
      parseConfig({ policy: { confirm: { gpu: 'maybe' }, limits: { maxInstances: -1 } }, pricez: {} });
    } catch (e) {
      const m = (e as Error).message;
      expect(m).toContain('policy.confirm.gpu');
      expect(m).toContain('policy.limits.maxInstances');
      expect(m).toContain('pricez');
    }
  });

  it('reports unreadable and non-JSON files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    expect(() => loadConfig(join(dir, 'bad.json'))).toThrow(/not valid JSON/);
    expect(() => loadConfig(join(dir, 'missing.json'))).toThrow(/Cannot read config file/);
  });
});
