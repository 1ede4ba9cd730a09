/** ONET's pure mapping: exact decimal money, the two statuses, the primary address, DRF errors. */
import { describe, expect, it } from 'vitest';
import { drfError } from '../../src/providers/onet/index.js';
import {
  billingEnd,
  formatMicros,
  priceOf,
  providerStatus,
  publicIpv4,
  toMicros,
  toStatus,
} from '../../src/providers/onet/map.js';

describe('ONET money', () => {
  it('parses decimal strings into integer micro-units without float drift', () => {
    expect(toMicros('0.0140')).toBe(14_000);
    expect(toMicros('0.1')).toBe(100_000);
    expect(toMicros('0.2')).toBe(200_000);
    expect(toMicros('0.1')! + toMicros('0.2')!).toBe(toMicros('0.3')); // 0.1 + 0.2 !== 0.3 in floats
    expect(toMicros('19.99')).toBe(19_990_000);
    expect(toMicros('1234567890123.45')).toBeUndefined(); // too large to hold exactly in micro-units
    expect(toMicros('9007199254.740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(toMicros('-2.50')).toBe(-2_500_000);
    expect(toMicros('.5')).toBe(500_000);
    expect(toMicros('7')).toBe(7_000_000);
    expect(toMicros('0.0000001')).toBeUndefined(); // more precision than micro-units hold: refused, not rounded
    expect(toMicros('0.00000010')).toBeUndefined();
    expect(toMicros('0.1000000')).toBe(100_000); // trailing zeros are not precision
    for (const bad of ['', '.', 'abc', '1,5', '1e3', '<string>']) expect(toMicros(bad), bad).toBeUndefined();
  });

  it('formats micro-units back exactly', () => {
    expect(formatMicros(14_000)).toBe('0.014');
    expect(formatMicros(19_990_000)).toBe('19.99');
    expect(formatMicros(7_000_000)).toBe('7');
    expect(formatMicros(-2_500_000)).toBe('-2.5');
  });

  it('a USD price only from the configured table (by slug or id), else unknown', () => {
    const size = { slug: 'vps-s1', id: 'u-1' };
    expect(priceOf({}, size)).toEqual({ usd_per_hour: null, source: null });
    expect(priceOf({ 'vps-s1': { usd_per_hour: 0.01, source: 'config' } }, size)).toEqual({
      usd_per_hour: 0.01,
      source: 'config',
    });
    expect(priceOf({ 'u-1': { usd_per_hour: 0.02, source: 'config' } }, size).usd_per_hour).toBe(0.02);
  });
});

describe('ONET statuses', () => {
  it('keeps billing status and power state apart', () => {
    expect(toStatus('active', 'running')).toBe('running');
    expect(toStatus('active', 'stopped')).toBe('paused');
    expect(toStatus('active', 'stopping')).toBe('stopping');
    expect(toStatus('active', 'starting')).toBe('starting');
    expect(toStatus('active', 'weird')).toBe('unknown');
    expect(toStatus('active', null)).toBe('unknown');
    expect(toStatus('pending', null)).toBe('pending');
    expect(toStatus('provisioning', 'running')).toBe('pending');
    expect(toStatus('suspended', 'running')).toBe('paused');
    expect(toStatus('cancelled', 'running')).toBe('terminated');
    expect(toStatus('terminated', null)).toBe('terminated');
    expect(toStatus('new_status', 'running')).toBe('unknown');
    expect(providerStatus({ status: 'active', state_sync: { vm_status: 'running' } })).toBe('active/running');
    expect(providerStatus({ status: 'pending', state_sync: null })).toBe('pending');
  });

  it('billing ends when the cloud says, only while that is still ahead', () => {
    const now = Date.parse('2025-06-01T10:00:00Z');
    expect(billingEnd({ billing_end_date: '2025-06-01T11:00:00Z' }, now)).toBe('2025-06-01T11:00:00Z');
    expect(billingEnd({ billing_end_date: '2025-06-01T09:00:00Z' }, now)).toBeUndefined();
    expect(billingEnd({ billing_end_date: null }, now)).toBeUndefined();
  });
});

describe('ONET addresses and errors', () => {
  it('the public IPv4 is the ip_addresses entry marked primary (primary_ipv4 is a UUID)', () => {
    const ips = [
      { id: 'a', address: '10.0.0.5', ip_type: 'ipv4', is_primary: false },
      { id: 'b', address: '2001:db8::1', ip_type: 'ipv6', is_primary: true },
      { id: 'c', address: '203.0.113.7', ip_type: 'ipv4', is_primary: true },
    ];
    expect(publicIpv4({ ip_addresses: ips, primary_ipv4: 'c' })).toBe('203.0.113.7');
    expect(publicIpv4({ ip_addresses: ips.slice(0, 2), primary_ipv4: null })).toBeUndefined();
    expect(publicIpv4({ ip_addresses: [{ ...ips[2]!, is_primary: undefined }], primary_ipv4: 'c' })).toBe(
      '203.0.113.7',
    );
  });

  it('reads DRF error bodies', () => {
    expect(drfError({ detail: 'Not found.' })).toEqual({ message: 'Not found.' });
    expect(drfError({ name: ['This field is required.'], non_field_errors: ['Bad.'] })).toEqual({
      message: 'name: This field is required.; Bad.',
    });
    expect(drfError('<html>')).toEqual({});
  });
});
