/**
 * The provider contract: the behaviour every cloud adapter shows against its emulator, the admission test for a cloud.
 * contract.test.ts calls `providerContract` once for each built cloud of the table.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComputeError } from '../../src/domain/errors.js';
import type { CreateRequest, Instance, InstanceStatus } from '../../src/domain/model.js';
import type { Provider } from '../../src/domain/provider.js';
import { isUnsupported, type CapabilityName } from '../../src/domain/model.js';
import { need } from '../../src/providers/toolkit.js';
import type { HttpEmulator } from '../../src/emulator/server.js';

export interface ContractSubject {
  provider: Provider;
  /** The adapter again, with a wrong credential. */
  withBadCredentials: Provider;
  emulator: HttpEmulator;
  /** A valid, cheap create. */
  createRequest: (name: string) => CreateRequest;
  /** Fields the cloud cannot use: each refused before anything is sent. */
  unusable: Partial<CreateRequest>[];
  /** The request that creates (for fault injection and counting). */
  createCall: { method: string; path: RegExp };
  /** A read the adapter makes in getInstance. */
  readCall: { method: string; path: RegExp };
  liveCount(): number;
  setRawStatus(id: string, raw: string): void;
  close(): Promise<void>;
}

async function waitFor(p: Provider, id: string, status: InstanceStatus): Promise<Instance | null> {
  for (let i = 0; i < 200; i++) {
    try {
      const inst = await p.getInstance(id);
      if (inst.status === status) return inst;
    } catch (e) {
      if (status === 'terminated' && e instanceof ComputeError && e.code === 'NOT_FOUND') return null;
      throw e;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${id} never became ${status}`);
}

export function providerContract(name: string, make: () => Promise<ContractSubject>): void {
  describe(`provider contract: ${name}`, () => {
    let s: ContractSubject;
    beforeEach(async () => {
      s = await make();
    });
    afterEach(async () => {
      await s.close();
    });

    const create = async (n = 'contract-vm') => {
      const plan = await s.provider.planCreate(s.createRequest(n));
      return s.provider.create(plan);
    };

    it('lists instance types in the domain model, with honest prices', async () => {
      const types = await s.provider.listInstanceTypes();
      expect(types.length).toBeGreaterThan(0);
      for (const t of types) {
        expect(t.provider).toBe(s.provider.id);
        expect(t.vcpus).toBeGreaterThan(0);
        expect(t.memory_gib).toBeGreaterThan(0);
        if (t.gpu) expect(t.gpu.count).toBeGreaterThan(0);
        if (t.price.usd_per_hour === null) expect(t.price.source).toBeNull();
        else expect(t.price.usd_per_hour).toBeGreaterThan(0);
      }
    });

    it('plans without changing anything', async () => {
      const before = s.emulator.requests.length;
      const plan = await s.provider.planCreate(s.createRequest('plan-only'));
      expect(plan.request.method).toMatch(/POST|PUT/);
      expect(s.emulator.requests.slice(before).every((r) => r.method === 'GET')).toBe(true);
      expect(s.liveCount()).toBe(0);
    });

    it("creates one VM that lists with its plan's name, type and region, gets and reaches running", async () => {
      const plan = await s.provider.planCreate(s.createRequest('contract-vm'));
      const inst = await s.provider.create(plan);
      expect(['pending', 'running']).toContain(inst.status);
      expect(s.liveCount()).toBe(1);
      const running = await waitFor(s.provider, inst.id, 'running');
      expect(running!.id).toBe(inst.id);
      // The gate relies on it: what the human approved is what the cloud shows (and a lost create is found by it).
      const page = await s.provider.listInstances();
      expect(page.items.find((i) => i.id === inst.id)).toMatchObject({
        name: plan.name,
        instance_type: plan.instance_type.id,
        region: plan.region,
      });
    });

    it('refuses a field it cannot use before anything is sent', async () => {
      for (const extra of s.unusable) {
        const before = s.emulator.requests.filter((r) => r.method !== 'GET').length;
        await expect(
          s.provider.planCreate({ ...s.createRequest('unusable'), ...extra }),
          JSON.stringify(extra),
        ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
        expect(s.emulator.requests.filter((r) => r.method !== 'GET')).toHaveLength(before);
      }
      expect(s.liveCount()).toBe(0);
    });

    it('maps an unknown cloud status to unknown and keeps the raw value', async () => {
      const inst = await create();
      s.setRawStatus(inst.id, 'some_new_status');
      expect(await s.provider.getInstance(inst.id)).toMatchObject({
        status: 'unknown',
        provider_status: 'some_new_status',
      });
    });

    it('pages through instances without losing or repeating any', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++) ids.add((await create(`page-${i}`)).id);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await s.provider.listInstances({ limit: 2, cursor });
        seen.push(...page.items.map((i) => i.id));
        cursor = page.next_cursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBeGreaterThanOrEqual(3); // 5 VMs, 2 a page (a cloud may add a page of its own kind)
      expect(pages).toBeLessThanOrEqual(4);
      expect(seen.sort()).toEqual([...ids].sort());
    });

    /** Each optional capability: exercised when the cloud has it; refused with its own sentence, sending nothing, when not. */
    const optional = (
      cap: CapabilityName,
      what: string,
      op: (p: Provider) => ((...a: never[]) => unknown) | undefined,
      exercise: () => Promise<void>,
    ) =>
      it(`${what}, or refuses it with the capability's sentence`, async () => {
        const c = s.provider.capabilities[cap];
        if (!isUnsupported(c)) {
          expect(op(s.provider), `${cap} is declared but not implemented`).toBeTypeOf('function');
          return exercise();
        }
        expect(c.unsupported.length).toBeGreaterThan(20); // a sentence: why, and what to do instead
        expect(op(s.provider), `${cap} is unsupported: the adapter leaves the operation out (no stub)`).toBeUndefined();
        const before = s.emulator.requests.length;
        expect(() => need(s.provider, cap, what, op(s.provider))).toThrow(
          expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringContaining(c.unsupported) }),
        );
        expect(s.emulator.requests.length).toBe(before);
      });

    optional(
      'pause',
      'pauses and resumes, a second pause or resume being an honest no-op',
      (p) => p.pause,
      async () => {
        const inst = await create();
        await waitFor(s.provider, inst.id, 'running');
        expect((await s.provider.pause!([inst.id]))[0]).toMatchObject({ id: inst.id, result: 'paused' });
        expect((await s.provider.pause!([inst.id]))[0]).toMatchObject({ id: inst.id, result: 'already_paused' });
        await waitFor(s.provider, inst.id, 'paused');
        expect((await s.provider.resume!([inst.id]))[0]).toMatchObject({ id: inst.id, result: 'resumed' });
        expect((await s.provider.resume!([inst.id]))[0]).toMatchObject({ id: inst.id, result: 'already_running' });
        await waitFor(s.provider, inst.id, 'running');
        // A batch: one result per id, in order, including unknown ids.
        const r = await s.provider.pause!([inst.id, 'does-not-exist']);
        expect(r.map((x) => [x.id, x.result])).toEqual([
          [inst.id, 'paused'],
          ['does-not-exist', 'failed'],
        ]);
      },
    );

    optional(
      'resume',
      'resumes',
      (p) => p.resume,
      async () => {
        expect(s.provider.capabilities.pause).not.toEqual(expect.objectContaining({ unsupported: expect.anything() }));
      },
    );

    optional(
      'snapshot',
      'snapshots an instance and lists the snapshot',
      (p) => p.snapshot,
      async () => {
        const inst = await create();
        await waitFor(s.provider, inst.id, 'running');
        const snap = await s.provider.snapshot!(inst.id, 'snap-1');
        expect(snap).toMatchObject({ provider: s.provider.id, name: 'snap-1' });
        expect((await s.provider.listSnapshots!({ instanceId: inst.id })).map((x) => x.id)).toContain(snap.id);
      },
    );

    optional(
      'list_images',
      'lists images',
      (p) => p.listImages,
      async () => {
        const images = await s.provider.listImages!();
        expect(images.length).toBeGreaterThan(0);
        for (const i of images) expect(i.provider).toBe(s.provider.id);
      },
    );

    it('gives a way in to a running instance', async () => {
      const inst = await create();
      await waitFor(s.provider, inst.id, 'running');
      const c = await s.provider.getConsole(inst.id);
      expect(c.console.instance_id).toBe(inst.id);
      expect(c.console.url ?? c.console.command).toBeTruthy();
    });

    it('deletes: the VM goes away, and a second delete says it was already gone', async () => {
      const inst = await create();
      expect(await s.provider.delete(inst.id)).toEqual({ already_gone: false });
      await waitFor(s.provider, inst.id, 'terminated');
      expect(s.liveCount()).toBe(0);
      expect(await s.provider.delete(inst.id)).toEqual({ already_gone: true });
    });

    it('answers NOT_FOUND for an unknown id', async () => {
      await expect(s.provider.getInstance('no-such-instance')).rejects.toMatchObject({
        code: 'NOT_FOUND',
        provider: s.provider.id,
      });
    });

    it('retries a read after 429 with Retry-After, and succeeds', async () => {
      const inst = await create();
      s.emulator.injectFault({
        method: s.readCall.method,
        path: s.readCall.path,
        status: 429,
        headers: { 'retry-after': '1' },
        times: 1,
      });
      const started = Date.now();
      expect((await s.provider.getInstance(inst.id)).id).toBe(inst.id);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(
        s.emulator.requests.filter(
          (r) => r.method === s.readCall.method && s.readCall.path.test(r.path) && r.status === 429,
        ),
      ).toHaveLength(1);
    });

    it('surfaces RATE_LIMITED with the delay when 429s persist', async () => {
      const inst = await create();
      s.emulator.injectFault({
        method: s.readCall.method,
        path: s.readCall.path,
        status: 429,
        headers: { 'retry-after': '120' },
        times: 0,
      });
      await expect(s.provider.getInstance(inst.id)).rejects.toMatchObject({
        code: 'RATE_LIMITED',
        retryAfterMs: 120_000,
      });
    });

    it('never re-sends a create that failed with 503, and creates nothing', async () => {
      const plan = await s.provider.planCreate(s.createRequest('fault'));
      s.emulator.injectFault({ method: s.createCall.method, path: s.createCall.path, status: 503, times: 0 });
      await expect(s.provider.create(plan)).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
      expect(s.emulator.count(s.createCall.method, s.createCall.path)).toBe(1);
      expect(s.liveCount()).toBe(0);
    });

    it('turns a malformed body into PROVIDER_BAD_RESPONSE, never a crash', async () => {
      const inst = await create();
      s.emulator.injectFault({ method: s.readCall.method, path: s.readCall.path, malformed: true, times: 0 });
      await expect(s.provider.getInstance(inst.id)).rejects.toMatchObject({ code: 'PROVIDER_BAD_RESPONSE' });
    });

    it('reports wrong credentials as PROVIDER_AUTH', async () => {
      await expect(s.withBadCredentials.getInstance('x')).rejects.toMatchObject({ code: 'PROVIDER_AUTH', status: 401 });
    });
  });
}
