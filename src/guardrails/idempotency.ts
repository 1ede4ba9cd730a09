/**
 * Idempotent creates: a key (the caller's `idempotency_key`) is recorded before the cloud is called, bound to the
 * request. A repeat with the same key returns the same VM; the same key with other arguments is refused.
 * This store lives in the process.
 */
import { createHash } from 'node:crypto';
import { ComputeError } from '../domain/errors.js';
import type { ProviderId } from '../domain/model.js';
import { canonicalJson } from './canonical.js';

interface Entry {
  requestHash: string;
  provider: ProviderId;
  instanceId?: string;
  /** Set while the create is in flight, so a parallel repeat waits for it instead of creating again. */
  pending?: Promise<string | undefined>;
}

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  /**
   * Claims `key` for `request`. Returns the id of the VM an earlier call made with it, `null` when this call must
   * create it (then call `settle`), and throws CONFLICT when the key was used with other arguments.
   */
  async claim(key: string, provider: ProviderId, request: unknown): Promise<{ existing: string } | { claimed: true }> {
    const requestHash = createHash('sha256').update(canonicalJson(request)).digest('hex');
    const e = this.entries.get(key);
    if (e) {
      if (e.requestHash !== requestHash)
        throw new ComputeError('CONFLICT', `idempotency_key ${JSON.stringify(key)} was already used with other arguments; nothing was created`, {
          provider, hint: 'Use a new idempotency_key for a different VM, or repeat the original arguments exactly.',
        });
      const id = e.instanceId ?? (await e.pending);
      if (id) return { existing: id };
    }
    let settle!: (id: string | undefined) => void;
    const pending = new Promise<string | undefined>((r) => (settle = r));
    this.entries.set(key, { requestHash, provider, pending });
    this.settlers.set(key, settle);
    return { claimed: true };
  }

  private readonly settlers = new Map<string, (id: string | undefined) => void>();

  /** Records the created VM (or releases the key when the create failed before reaching the cloud). */
  settle(key: string, instanceId: string | undefined): void {
    const e = this.entries.get(key);
    if (e) {
      if (instanceId) e.instanceId = instanceId;
      else this.entries.delete(key);
      delete e.pending;
    }
    this.settlers.get(key)?.(instanceId);
    this.settlers.delete(key);
  }
}
