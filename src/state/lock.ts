/**
 * A lock that holds across processes: a lock file created with O_EXCL (atomic on every local file system), holding the
 * owner's pid, host and a random tag. Processes that share a state directory (two client windows, an HTTP server and a
 * stdio one) take it around every read-check-write of shared state, so N processes behave like one.
 *
 * A holder that died leaves its file behind. A live holder touches its file every `staleMs / 5`, so a file is broken
 * only when it has not been touched for `staleMs` and its owner is not a live process on this host (pids are not
 * trusted across hosts or containers: there only the heartbeat counts). The breaking itself runs under a short second
 * lock, so two waiters can never both break it and both enter.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { ComputeError } from '../domain/errors.js';

export interface FileLockOptions {
  /** How long to wait for the lock before giving up (fail closed: nothing is done). */
  timeoutMs?: number;
  /** A lock file not touched for this long, whose owner is not alive on this host, is abandoned. */
  staleMs?: number;
}

interface Owner {
  pid: number;
  host: string;
  tag: string;
}

const HOST = hostname();
/** The break lock is held for a few system calls; one older than this was left by a process that died inside them. */
const BREAK_STALE_MS = 5_000;

export class FileLock {
  private readonly timeoutMs: number;
  private readonly staleMs: number;

  constructor(
    readonly file: string,
    opts: FileLockOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.staleMs = opts.staleMs ?? 10_000;
  }

  /** Runs `fn` while holding the lock. Not re-entrant: the caller serialises its own process (see SpendLock). */
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const tag = await this.acquire();
    const heartbeat = setInterval(() => this.touch(tag), Math.max(10, this.staleMs / 5));
    heartbeat.unref();
    try {
      return await fn();
    } finally {
      clearInterval(heartbeat);
      this.release(tag);
    }
  }

  private async acquire(): Promise<string> {
    const tag = randomBytes(9).toString('base64url');
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (tryCreate(this.file, JSON.stringify({ pid: process.pid, host: HOST, tag } satisfies Owner))) return tag;
      if (this.abandoned()) this.breakAbandoned();
      else if (Date.now() > deadline)
        throw new ComputeError(
          'CONFLICT',
          'another compute-mcp process has held the spend lock for too long; nothing was done',
          {
            hint: `Try again in a minute; if no other compute-mcp is running, delete ${this.file}.`,
          },
        );
      await pause(Math.min(5 + attempt * 5, 50));
    }
  }

  private release(tag: string): void {
    // Only our own file: if it was (wrongly) broken and retaken, the new owner keeps it.
    if (readOwner(this.file)?.tag === tag) unlinkQuiet(this.file);
  }

  private touch(tag: string): void {
    if (readOwner(this.file)?.tag !== tag) return;
    const now = new Date();
    try {
      utimesSync(this.file, now, now);
    } catch {
      // gone: nothing to keep alive
    }
  }

  /** True when nobody has touched the file for `staleMs` and its owner is not a live process here. */
  private abandoned(): boolean {
    if (ageMs(this.file) <= this.staleMs) return false;
    const owner = readOwner(this.file);
    return !owner || owner.host !== HOST || !alive(owner.pid);
  }

  private breakAbandoned(): void {
    const guard = `${this.file}.break`;
    if (!tryCreate(guard, String(process.pid))) {
      if (ageMs(guard) > BREAK_STALE_MS) unlinkQuiet(guard);
      return;
    }
    try {
      // Checked again under the guard: another waiter may have broken it and taken it since.
      if (this.abandoned()) unlinkQuiet(this.file);
    } finally {
      unlinkQuiet(guard);
    }
  }
}

function tryCreate(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readOwner(file: string): Owner | undefined {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.tag === 'string'
      ? (o as Owner)
      : undefined;
  } catch {
    return undefined; // gone, or torn while being written
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0; // gone: not abandoned, just free
  }
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
