/** A state directory on a file system without hard links (exFAT, some FUSE and SMB mounts) still gets its secret. */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const refuse = () => {
    throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
  };
  return { ...fs, default: { ...fs, linkSync: refuse }, linkSync: refuse };
});

describe('the token secret without hard links', () => {
  it('is created in place, once, and read back whole', async () => {
    const { StateDir } = await import('../../src/state/dir.js');
    const dir = mkdtempSync(join(tmpdir(), 'compute-mcp-nolink-'));
    const first = new StateDir(dir).secretSync('token-secret', () => Buffer.alloc(32, 7));
    const again = new StateDir(dir).secretSync('token-secret', () => Buffer.alloc(32, 9));
    expect(first.equals(Buffer.alloc(32, 7))).toBe(true);
    expect(again.equals(first)).toBe(true);
    expect(readdirSync(dir)).toEqual(['token-secret']);
  });
});
