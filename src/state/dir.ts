/**
 * The state directory (COMPUTE_MCP_STATE_DIR, default $XDG_STATE_HOME/compute-mcp): the confirmation-token secret,
 * spent tokens, idempotency records and the audit log. Files are created 0600 in a 0700 directory; every append is
 * synced before the call goes on, so a crash never loses a line that was acted upon.
 */
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.COMPUTE_MCP_STATE_DIR) return env.COMPUTE_MCP_STATE_DIR;
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'compute-mcp');
}

export class StateDir {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Appends one JSON line and syncs it to disk. */
  append(name: string, entry: unknown): void {
    const file = this.path(name);
    const fd = openSync(file, 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(file, 0o600);
  }

  /** Every parseable JSON line of a file (a torn last line after a crash is skipped). */
  lines<T>(name: string): T[] {
    const file = this.path(name);
    if (!existsSync(file)) return [];
    const out: T[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as T);
      } catch {
        // torn write: ignore
      }
    }
    return out;
  }

  /** Reads a secret file, creating it once (exclusively, 0600) with `make()` when absent. */
  secret(name: string, make: () => Buffer): Buffer {
    const file = this.path(name);
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, make());
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    return readFileSync(file);
  }
}

