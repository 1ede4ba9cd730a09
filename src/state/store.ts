/**
 * The state store: where the guardrails keep what must outlive a call and hold across processes: the token secret,
 * spent tokens, idempotency records, the ledger, leases and the audit log, and the locks their read-check-write runs
 * under. Two implementations: the state directory (dir.ts, the default: processes on one machine) and PostgreSQL
 * (postgres.ts, COMPUTE_MCP_DATABASE_URL: replicas on many machines). Both pass test/state/store.test.ts.
 *
 * Every record stream is append-only and read incrementally: a reader keeps the offset it has read to, and each
 * `tail` returns what any process appended since, in the order it was appended.
 */

/** The record streams. Each is a log of JSON objects; for keyed records the newest line of a key wins. */
export type Stream = 'tokens-spent' | 'idempotency' | 'ledger' | 'leases' | 'audit';
export const STREAMS: readonly Stream[] = ['tokens-spent', 'idempotency', 'ledger', 'leases', 'audit'];

/** The locks: `spend` around every create, resume and delete decision; `tokens` around redeeming a token. */
export type LockName = 'spend' | 'tokens';

/** Lines appended to a stream since an offset, and the offset to read from next time. */
export interface Tail<T> {
  lines: T[];
  offset: number;
}

/** A lock that holds across every process on the store. Not re-entrant: a process serialises itself (Mutex). */
export interface Lock {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export interface StateStore {
  readonly kind: 'directory' | 'postgresql';
  /** Where, for the start-up log line: a path, or the database URL without its password. */
  readonly where: string;
  /** What was wrong and has been fixed while opening (e.g. file modes), in words, for the log. */
  readonly fixes: readonly string[];
  /**
   * Changes when a unit of appends was rolled back after readers in this process may have remembered its lines: they
   * then read their streams again from the start.
   */
  readonly epoch: number;
  /** A secret, made once with `make()` and shared by every process on the store; a short one is refused. */
  secret(name: 'token-secret', make: () => Buffer): Promise<Buffer>;
  /** Appends one entry, durably: when the promise resolves, every process can read it and a crash cannot lose it. */
  append(stream: Stream, entry: object): Promise<void>;
  /** Everything appended to `stream` after `offset` (0: from the start). */
  tail<T>(stream: Stream, offset: number): Promise<Tail<T>>;
  lock(name: LockName): Lock;
  /**
   * Runs `fn` as one unit: on PostgreSQL its appends commit together or not at all (a transaction on the lock's
   * connection when inside a lock); in the state directory each append is synced as it is made, and readers already
   * take a file as the lines it has.
   */
  atomic<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * One stream read into a map of its newest line per key, as every process on the store wrote it: each refresh reads
 * what was appended since the last; after a rolled-back unit (the store's epoch moved) it reads everything again.
 * Without a store it holds only what this process remembered.
 */
export class StreamView<T> {
  readonly items = new Map<string, T>();
  private offset = 0;
  private epoch = 0;
  /** When the last completed read began (performance.now()), and the read under way. */
  private readAt = -Infinity;
  private reading?: Promise<Map<string, T>>;

  constructor(
    private readonly state: StateStore | undefined,
    private readonly stream: Stream,
    /** The key a line stands for; undefined: a line not to keep. */
    private readonly keyOf: (line: T) => string | undefined,
  ) {}

  async refresh(): Promise<Map<string, T>> {
    if (!this.state) return this.items;
    if (this.epoch !== this.state.epoch) {
      this.items.clear();
      this.offset = 0;
      this.epoch = this.state.epoch;
    }
    const started = performance.now();
    const t = await this.state.tail<T>(this.stream, this.offset);
    this.offset = t.offset;
    for (const line of t.lines) this.remember(line);
    this.readAt = started;
    return this.items;
  }

  /**
   * For display only: reads the store when the last read began more than `ms` ago, and calls that come meanwhile
   * share one read. This process's own lines show at once (append keeps them); other processes' within `ms`. A read
   * per call was a file status or a query per VM read (get_instance over HTTP: one in twenty of the server's time).
   */
  recent(ms: number): Promise<Map<string, T>> {
    if (this.state && this.epoch === this.state.epoch && performance.now() - this.readAt < ms)
      return Promise.resolve(this.items);
    return (this.reading ??= this.refresh().finally(() => (this.reading = undefined)));
  }

  /** Appends a line (durable before it is remembered here: a line the store refused is not kept either). */
  async append(line: T & object): Promise<void> {
    await this.state?.append(this.stream, line);
    this.remember(line);
  }

  private remember(line: T): void {
    const k = this.keyOf(line);
    if (k !== undefined) this.items.set(k, line);
  }
}

/** The state cannot be used safely: the server does not start (or the call fails, closed). */
export class StateError extends Error {
  override name = 'StateError';
}

/** A secret shorter than this could be guessed, or was truncated: refused. */
export const MIN_SECRET_BYTES = 32;

/** Refuses a short secret; `remedy` says how to remove it (e.g. "Delete the file"). */
export function checkSecret(secret: Buffer, where: string, remedy: string): Buffer {
  if (secret.length < MIN_SECRET_BYTES)
    throw new StateError(
      `${where} holds ${secret.length} bytes, fewer than ${MIN_SECRET_BYTES}: confirmation tokens signed with it could be forged. ` +
        `${remedy} and start again to make a new secret (tokens issued with the old one stop working).`,
    );
  return secret;
}

/**
 * Opens the store the environment names: PostgreSQL when COMPUTE_MCP_DATABASE_URL is set (its driver is loaded only
 * then), else the state directory `dir`.
 */
export async function openStore(
  env: NodeJS.ProcessEnv,
  dir: () => string,
  warn: (message: string) => void = () => undefined,
): Promise<StateStore> {
  const url = env.COMPUTE_MCP_DATABASE_URL;
  if (url) {
    const { PgStore } = await import('./postgres.js');
    return PgStore.open(url, { warn });
  }
  const { StateDir } = await import('./dir.js');
  return new StateDir(dir());
}
