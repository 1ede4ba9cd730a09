/** The lock file that holds across processes: exclusive, waits for a live holder, breaks a dead one's, fails closed. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileLock } from '../../src/state/lock.js';

const lockFile = () => join(mkdtempSync(join(tmpdir(), 'lock-')), 'spend.lock');
/** The pid of a process that has exited: nobody holds anything under it any more. */
const deadPid = () =>
  spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;

describe('FileLock', () => {
  it('lets one holder in at a time, across lock objects (as across processes), and removes its file after', async () => {
    const file = lockFile();
    const [a, b] = [new FileLock(file), new FileLock(file)];
    let inside = 0;
    let most = 0;
    const work = (l: FileLock) =>
      l.run(async () => {
        most = Math.max(most, ++inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
      });
    await Promise.all(Array.from({ length: 12 }, (_, i) => work(i % 2 ? a : b)));
    expect(most).toBe(1);
    expect(existsSync(file)).toBe(false);
  });

  it('releases when the work throws', async () => {
    const file = lockFile();
    await expect(new FileLock(file).run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(existsSync(file)).toBe(false);
  });

  it('breaks the lock of a holder that died (pid gone, no heartbeat for staleMs) and goes on', async () => {
    const file = lockFile();
    writeFileSync(file, JSON.stringify({ pid: Number(deadPid()), host: hostname(), tag: 'crashed' }));
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    expect(await new FileLock(file, { timeoutMs: 2_000 }).run(async () => 'in')).toBe('in');
  });

  it('never breaks a lock whose holder keeps its heartbeat, even one that looks dead (another host or container)', async () => {
    const file = lockFile();
    const holder = new FileLock(file, { staleMs: 100 });
    let release!: () => void;
    const held = holder.run(() => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 20));
    // Seen from elsewhere the owner's pid means nothing: only the heartbeat says it is alive.
    const owner = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(file, 'utf8'))) as { tag: string };
    writeFileSync(file, JSON.stringify({ pid: Number(deadPid()), host: 'another-host', tag: owner.tag }));
    const before = statSync(file).mtimeMs;
    await expect(new FileLock(file, { timeoutMs: 400, staleMs: 100 }).run(async () => 'stolen')).rejects.toThrow(
      /too long/,
    );
    expect(statSync(file).mtimeMs).toBeGreaterThan(before); // touched while we waited
    release();
    await held;
  });

  it('waits for a live holder and, past the timeout, refuses (nothing is done) with what to do', async () => {
    const file = lockFile();
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), tag: 'someone-else' }));
    let ran = false;
    await expect(new FileLock(file, { timeoutMs: 150 }).run(async () => (ran = true))).rejects.toThrow(
      /another compute-mcp process has held the spend lock for too long; nothing was done/,
    );
    expect(ran).toBe(false);
    expect(existsSync(file)).toBe(true); // a live holder's lock is never broken
  });

  it('treats an unreadable lock file as abandoned only once it is old', async () => {
    const file = lockFile();
    writeFileSync(file, 'garbage');
    await expect(new FileLock(file, { timeoutMs: 100, staleMs: 60_000 }).run(async () => 1)).rejects.toThrow(
      /too long/,
    );
    const old = new Date(Date.now() - 120_000);
    utimesSync(file, old, old);
    expect(await new FileLock(file, { timeoutMs: 1_000, staleMs: 60_000 }).run(async () => 2)).toBe(2);
  });
});
