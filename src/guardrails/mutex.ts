/**
 * The spend section's lock: one call at a time inside this process (an async queue) and, when a lock file is given,
 * one process at a time across every process sharing the state store. Limits, tokens and idempotency keys hold
 * under concurrency because their read-check-write runs inside it.
 */
import type { Lock } from '../state/store.js';

export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly file?: Lock) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    try {
      return this.file ? await this.file.run(fn) : await fn();
    } finally {
      release();
    }
  }
}
