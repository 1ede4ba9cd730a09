/** Mithril's pure wire ⇄ domain helpers: batch answers of any shape, the one "already there" rule, prices, SSH. */
import { describe, expect, it } from 'vitest';
import { batchEntryStatus, parseDollars, reached, sshCommand } from '../../src/providers/mithril/map.js';

describe('Mithril map', () => {
  it('reads a batch entry as a status string, an object with status, or nothing', () => {
    expect(batchEntryStatus('STATUS_STOPPING')).toBe('STATUS_STOPPING');
    expect(batchEntryStatus({ fid: 'inst_a', status: 'STATUS_CONFIRMED' })).toBe('STATUS_CONFIRMED');
    for (const v of [null, undefined, '', 42, {}, { status: 7 }, ['STATUS_PAUSED']])
      expect(batchEntryStatus(v)).toBeUndefined();
  });

  it('one rule for "already there": pause = stopping or paused; resume = pending, starting or running', () => {
    expect((['stopping', 'paused'] as const).every((s) => reached(true, s))).toBe(true);
    expect((['running', 'pending', 'starting', 'unknown', 'error'] as const).some((s) => reached(true, s))).toBe(false);
    expect((['pending', 'starting', 'running'] as const).every((s) => reached(false, s))).toBe(true);
    expect((['paused', 'stopping', 'terminated', 'unknown'] as const).some((s) => reached(false, s))).toBe(false);
  });

  it('parses "$x.xx" prices exactly and anything else to null', () => {
    expect(parseDollars('$16.40')).toBe(1640);
    expect(parseDollars(' $3 ')).toBe(300);
    for (const p of ['16.40', '$16.401', 'sixteen', '', null, undefined]) expect(parseDollars(p)).toBeNull();
  });

  it('builds the SSH command as ubuntu on port 22 from a bare address (SkyPilot), and honours an explicit port', () => {
    expect(sshCommand('203.0.113.7')).toBe('ssh ubuntu@203.0.113.7');
    expect(sshCommand('203.0.113.7:2222')).toBe('ssh -p 2222 ubuntu@203.0.113.7');
    expect(sshCommand(null)).toBeUndefined();
  });
});
