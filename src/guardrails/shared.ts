/**
 * The guardrails' state that every MCP session of a process shares, opened on one state store: confirmation tokens,
 * idempotency records, the ledger, the leases and the spend lock. Every process on the same store opens its own, and
 * they agree through the store's records and locks.
 */
import type { StateStore } from '../state/store.js';
import { IdempotencyStore } from './idempotency.js';
import { LeaseStore } from './leases.js';
import { Ledger } from './ledger.js';
import { Mutex } from './mutex.js';
import { ConfirmationTokens } from './token.js';

export interface SharedGuards {
  tokens: ConfirmationTokens;
  idempotency: IdempotencyStore;
  ledger: Ledger;
  leases: LeaseStore;
  spendLock: Mutex;
  /** One unit of the store (state/store.ts `atomic`): the records of one step of a decision, all or none. */
  atomic: <T>(fn: () => Promise<T>) => Promise<T>;
}

export async function openGuards(state: StateStore): Promise<SharedGuards> {
  return {
    tokens: await ConfirmationTokens.open(state),
    idempotency: new IdempotencyStore(state),
    ledger: new Ledger(state),
    leases: new LeaseStore(state),
    spendLock: new Mutex(state.lock('spend')),
    atomic: (fn) => state.atomic(fn),
  };
}
