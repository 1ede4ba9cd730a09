/**
 * Idempotent creates (SPEC §5.6). A key (the caller's `idempotency_key`, or a confirmation token's nonce) is recorded
 * in the state directory before the cloud is called, bound to the request; the result is recorded after. A repeat
 * returns the same VM; the same key with other arguments is refused. A record left `pending` (the server stopped, or
 * the cloud's answer was lost) is settled by looking for the VM it may have made before anything is created again.
 * Records are re-read from the store on each look-up, and written under the spend lock, so every process sharing the
 * store sees the same keys.
 */
import { createHash } from 'node:crypto';
import type { ProviderId } from '../domain/model.js';
import { StreamView, type StateStore } from '../state/store.js';
import { canonicalJson } from './canonical.js';

export interface IdempotencyRecord {
  key: string;
  hash: string;
  provider: ProviderId;
  status: 'pending' | 'created' | 'failed';
  name: string;
  instance_type: string;
  region: string;
  /** When the create was sent (ms): a VM it made was created after this. */
  at: number;
  /**
   * When the call that sent the create ended without an answer (a timeout, a 5xx): nothing of it is in flight any
   * more. A pending record without it may belong to a create still running elsewhere (see gate.ts IN_FLIGHT_MS).
   */
  ended_at?: number;
  instance_id?: string;
}

export const requestHash = (request: unknown) => createHash('sha256').update(canonicalJson(request)).digest('hex');

export class IdempotencyStore {
  private readonly view: StreamView<IdempotencyRecord>;

  constructor(state?: StateStore) {
    this.view = new StreamView(state, 'idempotency', (r) => r.key);
  }

  /** The newest record of a key, as every process sharing the store wrote it. */
  async get(key: string): Promise<IdempotencyRecord | undefined> {
    await this.view.refresh();
    return this.view.items.get(key);
  }

  /** Instance ids already claimed by a key (so a lookup never adopts another key's VM). */
  async claimedIds(): Promise<Set<string>> {
    await this.view.refresh();
    return new Set([...this.view.items.values()].map((r) => r.instance_id).filter((x): x is string => !!x));
  }

  /** Durable before it counts: a record the store refused is not remembered here either. */
  async put(r: IdempotencyRecord): Promise<void> {
    await this.view.append(r);
  }
}
