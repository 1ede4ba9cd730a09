/**
 * The guardrails' state that every MCP session of a process shares, opened on one state directory: confirmation
 * tokens, idempotency records, the ledger, the leases and the spend lock. Every process on the same directory opens its own,
 * and they agree through the directory's files and locks.
 */
import type { StateDir } from '../state/dir.js';
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
}

export const SPEND_LOCK_FILE = 'spend.lock';

export function openGuards(state: StateDir): SharedGuards {
  return {
    tokens: new ConfirmationTokens({ state }),
    idempotency: new IdempotencyStore(state),
    ledger: new Ledger(state),
    leases: new LeaseStore(state),
    spendLock: new Mutex(state.lock(SPEND_LOCK_FILE)),
  };
}
