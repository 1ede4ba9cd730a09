/**
 * The state directory (COMPUTE_MCP_STATE_DIR, default $XDG_STATE_HOME/compute-mcp), the default state store
 * (store.ts): the confirmation-token secret, spent tokens, idempotency records, the ledger of billing this server
 * started, leases and the audit log, one `<stream>.jsonl` file each. It is the one source of truth for every process
 * that shares it: shared records are re-read under the spend lock before each decision.
 *
 * Files are 0600 in a 0700 directory. A directory or file that others can read is fixed (and the fix is reported) or,
 * when it cannot be fixed, refused; a secret that is empty, short, a link or unreadable stops the server. Every append
 * is synced before the call goes on, so a crash never loses a line that was acted upon.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FileLock, type FileLockOptions } from './lock.js';
import { StateError, checkSecret, type LockName, type StateStore, type Stream, type Tail } from './store.js';

export { StateError, MIN_SECRET_BYTES, type Tail } from './store.js';

export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.COMPUTE_MCP_STATE_DIR) return env.COMPUTE_MCP_STATE_DIR;
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'compute-mcp');
}

export class StateDir implements StateStore {
  readonly kind = 'directory';
  /** Appends are never rolled back here. */
  readonly epoch = 0;
  /** What was wrong with the permissions and has been fixed, in words (the caller logs them). */
  readonly fixes: string[] = [];

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.harden();
  }

  get where(): string {
    return this.dir;
  }

  // --- the StateStore interface: the synchronous file work below, synced before each promise resolves ---

  async secret(name: 'token-secret', make: () => Buffer): Promise<Buffer> {
    return this.secretSync(name, make);
  }

  async append(stream: Stream, entry: object): Promise<void> {
    this.appendLine(`${stream}.jsonl`, entry);
  }

  async tail<T>(stream: Stream, offset: number): Promise<Tail<T>> {
    return this.tailOf<T>(`${stream}.jsonl`, offset);
  }

  lock(name: LockName, opts?: FileLockOptions): FileLock {
    return this.fileLock(`${name}.lock`, opts);
  }

  atomic<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async close(): Promise<void> {}

  path(name: string): string {
    return join(this.dir, name);
  }

  /** A lock that holds across every process using this directory (see state/lock.ts). */
  fileLock(name: string, opts?: FileLockOptions): FileLock {
    return new FileLock(this.path(name), opts);
  }

  /**
   * Appends one JSON line, whole, and syncs it to disk. A file whose last line was torn (a crash mid-write) first gets
   * the newline it lacks, so the torn line can never swallow this one.
   */
  appendLine(name: string, entry: unknown): void {
    const fd = this.open(name, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT);
    try {
      const size = fstatSync(fd).size;
      const last = Buffer.alloc(1);
      const torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
      const line = Buffer.from(`${torn ? '\n' : ''}${JSON.stringify(entry)}\n`);
      for (let done = 0; done < line.length;) done += writeSync(fd, line, done, line.length - done);
      fsyncSync(fd);
      fchmodSync(fd, 0o600);
    } finally {
      closeSync(fd);
    }
  }

  /** Opens a state file, never through a link: a planted link would split what processes see. */
  private open(name: string, flags: number): number {
    const file = this.path(name);
    try {
      return openSync(file, flags | constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ELOOP')
        throw new StateError(`${file} is a link; state files must be regular files: remove it`);
      throw e;
    }
  }

  /** Every parseable JSON line of a file (a torn last line after a crash is skipped). */
  lines<T>(name: string): T[] {
    return this.tailOf<T>(name, 0).lines;
  }

  /**
   * The complete lines appended since `offset` (a line still being written is left for the next read). A file that
   * shrank was replaced: it is read again from the start.
   */
  tailOf<T>(name: string, offset: number): Tail<T> {
    // One lstat answers the common cases: no file yet, or nothing appended since the last read (every look-up of a
    // lease or key asks; most find nothing new). A link goes on to the open below, which refuses it.
    const st = lstatSync(this.path(name), { throwIfNoEntry: false });
    if (!st) return { lines: [], offset: 0 };
    if (st.isFile() && st.size === offset) return { lines: [], offset };
    const fd = this.open(name, constants.O_RDONLY);
    let buf: Buffer;
    let from = offset;
    try {
      let size = fstatSync(fd).size;
      if (size < from) from = 0;
      size -= from;
      buf = Buffer.alloc(size);
      let read = 0;
      while (read < size) {
        const n = readSync(fd, buf, read, size - read, from + read);
        if (n === 0) break;
        read += n;
      }
      buf = buf.subarray(0, read);
    } finally {
      closeSync(fd);
    }
    const end = buf.lastIndexOf(0x0a) + 1;
    const out: T[] = [];
    for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as T);
      } catch {
        // a torn line from a crash: skipped
      }
    }
    return { lines: out, offset: from + end };
  }

  /**
   * Reads a secret file, creating it once (exclusively, 0600) with `make()` when absent. A secret that is empty,
   * shorter than MIN_SECRET_BYTES, not a regular file or unreadable is refused: tokens signed with it could be forged.
   */
  secretSync(name: string, make: () => Buffer): Buffer {
    const file = this.path(name);
    if (!lstatSync(file, { throwIfNoEntry: false })) this.place(file, make);
    const st = lstatSync(file);
    if (!st.isFile())
      throw new StateError(`${file} is not a regular file (a link?); remove it and start again to make a new secret`);
    this.fixMode(file, st.mode, 0o600);
    let secret: Buffer;
    try {
      secret = readFileSync(file);
    } catch (e) {
      throw new StateError(`cannot read ${file}: ${(e as Error).message}`);
    }
    return checkSecret(secret, file, 'Delete the file');
  }

  /**
   * Creates `file` whole or not at all: written to a file of this process's own (a random name: two containers may
   * both run as pid 1), then linked into place. The link fails when another process got there first, and a process
   * starting at the same moment never reads the file half written (created, still empty: a secret it would refuse,
   * and stop). Where the file system has no hard links, the file is created exclusively and written in place.
   */
  private place(file: string, make: () => Buffer): void {
    const own = `${file}.${randomBytes(8).toString('hex')}.tmp`;
    const write = (path: string) => {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, make());
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    };
    const code = (e: unknown) => (e as NodeJS.ErrnoException).code;
    try {
      write(own);
      try {
        linkSync(own, file);
      } catch (e) {
        if (code(e) === 'EEXIST') return; // another process placed it first: that one is read
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'].includes(code(e) ?? '')) throw e;
        try {
          write(file);
        } catch (e2) {
          if (code(e2) !== 'EEXIST') throw e2;
        }
      }
    } catch (e) {
      throw new StateError(`cannot create ${file}: ${(e as Error).message}`);
    } finally {
      rmSync(own, { force: true });
    }
  }

  /** The directory and every file in it: owner-only, fixed where they are not, refused where that fails. */
  private harden(): void {
    const st = lstatSync(this.dir);
    if (!st.isDirectory())
      throw new StateError(`${this.dir} is not a directory (a link?); point COMPUTE_MCP_STATE_DIR at a directory`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid())
      throw new StateError(
        `${this.dir} belongs to another user (uid ${st.uid}); use a state directory of your own (COMPUTE_MCP_STATE_DIR)`,
      );
    this.fixMode(this.dir, st.mode, 0o700);
    for (const name of readdirSync(this.dir)) {
      const file = this.path(name);
      // A file another process removed meanwhile (a lock it released, a secret it was placing) is no concern.
      const f = lstatSync(file, { throwIfNoEntry: false });
      if (!f) continue;
      if (f.isSymbolicLink()) throw new StateError(`${file} is a link; state files must be regular files: remove it`);
      if (f.isFile()) this.fixMode(file, f.mode, 0o600);
    }
  }

  private fixMode(file: string, mode: number, want: number): void {
    if ((mode & 0o077) === 0) return;
    const was = (mode & 0o777).toString(8);
    try {
      chmodSync(file, want);
    } catch (e) {
      throw new StateError(
        `${file} has mode ${was}, readable by others, and cannot be fixed (${(e as Error).message}); run chmod ${want.toString(8)} on it`,
      );
    }
    this.fixes.push(`${file} had mode ${was}, readable by others: changed to ${want.toString(8)}`);
  }
}
