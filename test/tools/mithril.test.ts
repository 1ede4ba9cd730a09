/** Mithril through a real client: the catalog across clouds, spot bids through the gate, batch pause, cursor pages. */
import type { ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { H100, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const BID = { provider: 'mithril', instance_type: 'a100-80gb.sxm.1x', name: 'spot', ssh_public_key: SSH_KEY };

async function placeBid(name: string, extra: Record<string, unknown> = {}) {
  const args = { ...BID, name, ...extra };
  const ask = sc<{ confirmation_token: string }>(await h.call('create_vm', args));
  const r = await h.call('create_vm', { ...args, confirmation_token: ask.confirmation_token });
  expect(r.isError, text(r)).toBeFalsy();
  return sc<{ instance: { id: string } }>(r).instance.id;
}

describe('Mithril through the tools', () => {
  it('list_instance_types spans Genesis Cloud and Mithril, sorted by price', async () => {
    h = await startHarness({ mithril: true });
    const r = sc<{
      items: { provider: string; id: string; price: { usd_per_hour: number; source: string; spot?: boolean } }[];
    }>(await h.call('list_instance_types', { gpu: 'h100' }));
    expect(r.items.map((t) => [t.provider, t.id, t.price.usd_per_hour, t.price.source])).toEqual([
      ['mithril', 'h100-80gb.sxm.8x', 15.92, 'api'],
      ['genesiscloud', H100, 17.92, 'emulator'],
    ]);
    const all = sc<{ items: { provider: string; price: { usd_per_hour: number | null } }[] }>(
      await h.call('list_instance_types', { limit: 100 }),
    );
    expect(new Set(all.items.map((t) => t.provider))).toEqual(new Set(['genesiscloud', 'mithril']));
    const prices = all.items.map((t) => t.price.usd_per_hour ?? Infinity);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
  });

  it('create_vm bids at the current spot price by default, through the confirmation gate', async () => {
    h = await startHarness({ mithril: true });
    const ask = sc<{
      status: string;
      summary: string;
      quote: { usd_per_hour: number; price_source: string };
      confirmation_token: string;
    }>(await h.call('create_vm', BID));
    expect(ask).toMatchObject({
      status: 'confirmation_required',
      quote: { usd_per_hour: 1.25, price_source: 'limit_price' },
    });
    expect(ask.summary).toContain('$1.25/hour (your bid limit)');
    expect(ask.summary).toContain('second-price auction may charge less');
    expect(ask.summary).toContain("preempted with 5 minutes' notice");
    expect(h.mithril!.liveBids()).toHaveLength(0);
    const made = sc<{ status: string; instance: { id: string; status: string } }>(
      await h.call('create_vm', { ...BID, confirmation_token: ask.confirmation_token }),
    );
    expect(made.status).toBe('created');
    expect(made.instance.id).toMatch(/^bid_/);
    expect(h.mithril!.liveBids().map((b) => [b.limit_price, b.instance_quantity, b.name])).toEqual([
      ['$1.25', 1, 'spot'],
    ]);
    const w = sc<{ reached: boolean; instance: { ssh: string } }>(
      await h.call('wait_for_instance', { provider: 'mithril', id: made.instance.id }),
    );
    expect(w.reached).toBe(true);
    expect(w.instance.ssh).toMatch(/^ssh ubuntu@203\.0\.113\.\d+$/);
    expect(
      sc<{ console: { command: string } }>(await h.call('get_console', { provider: 'mithril', id: made.instance.id }))
        .console.command,
    ).toBe(w.instance.ssh);
  });

  it('an explicit limit price is what the human approves and what is bid', async () => {
    const asked: ElicitRequest[] = [];
    h = await startHarness({
      mithril: true,
      elicit: (r) => (asked.push(r), { action: 'accept', content: { approve: true } }),
    });
    const r = sc<{ status: string; quote: { usd_per_hour: number } }>(
      await h.call('create_vm', { ...BID, limit_price: 2.5 }),
    );
    expect(r).toMatchObject({ status: 'created', quote: { usd_per_hour: 2.5 } });
    expect(asked[0]!.params.message).toContain('$2.50/hour (your bid limit)');
    expect(h.mithril!.liveBids()[0]!.limit_price).toBe('$2.50');
  });

  it('a spot price that rose since the yes asks again before bidding', async () => {
    h = await startHarness({ mithril: true });
    const ask = sc<{ confirmation_token: string; quote: { region: string } }>(await h.call('create_vm', BID));
    h.mithril!.setSpotPrice('a100-80gb.sxm.1x', ask.quote.region, 140);
    const again = sc<{ status: string; summary: string }>(
      await h.call('create_vm', { ...BID, confirmation_token: ask.confirmation_token }),
    );
    expect(again.status).toBe('confirmation_required');
    expect(again.summary).toMatch(
      /^Changed since the human approved \$1\.25\/hour; nothing was done\. Ask again: .*\$1\.40\/hour \(your bid limit\)/,
    );
    expect(h.mithril!.liveBids()).toHaveLength(0);
  });

  it('the emulated bid walks Open → Allocated and its instance NEW → CONFIRMED → INITIALIZING → STARTING → RUNNING', async () => {
    h = await startHarness({ mithril: true });
    const id = await placeBid('walk');
    await h.call('wait_for_instance', { provider: 'mithril', id });
    const history = await (
      h.providers.get('mithril') as import('../../src/providers/mithril/adapter.js').MithrilProvider
    ).statusHistory(id);
    expect(history.map((x) => x.status)).toEqual([
      'STATUS_NEW',
      'STATUS_CONFIRMED',
      'STATUS_INITIALIZING',
      'STATUS_STARTING',
      'STATUS_RUNNING',
    ]);
    expect(h.mithril!.liveBids()[0]!.status).toBe('Allocated');
  });

  it('limits apply to the bid limit', async () => {
    h = await startHarness({ mithril: true, config: { policy: { limits: { maxUsdPerHourPerVm: 2 } } } });
    expect(text(await h.call('create_vm', { ...BID, limit_price: 2.5 }))).toMatch(
      /^\[POLICY_DENIED\] mithril: \$2\.5\/hour is above the limit of \$2\/hour per VM/,
    );
    expect(h.mithril!.liveBids()).toHaveLength(0);
  });

  it('a bid below the spot price waits Open, and shows as pending with its bid status', async () => {
    h = await startHarness({ mithril: true });
    const id = await placeBid('cheap', { limit_price: 1 });
    const got = sc<{ instance: { status: string; provider_status: string } }>(
      await h.call('get_instance', { provider: 'mithril', id }),
    );
    expect(got.instance).toMatchObject({ status: 'pending', provider_status: 'bid Open' });
  });

  it('pause_instances on reserved instances: one batch call, one result per id', async () => {
    h = await startHarness({ mithril: true });
    const r1 = h.mithril!.seedReserved('r1');
    const r2 = h.mithril!.seedReserved('r2');
    await h.call('pause_instances', { provider: 'mithril', ids: [r2] });
    const before = h.mithril!.http.count('PATCH', '/v2/instances');
    const r = sc<{ results: unknown[] }>(
      await h.call('pause_instances', { provider: 'mithril', ids: [r1, r2, 'inst_nope'] }),
    );
    expect(r.results).toEqual([
      // The batch answer is the status after processing (seed 003); with instant delays the emulator is paused already.
      { id: r1, result: 'paused', status: 'paused' },
      { id: r2, result: 'already_paused', status: 'paused' },
      { id: 'inst_nope', result: 'failed', message: expect.stringContaining('[NOT_FOUND]') },
    ]);
    expect(h.mithril!.http.count('PATCH', '/v2/instances') - before).toBe(1);
    expect(
      h.mithril!.http.requests.filter((q) => q.method === 'PATCH' && q.path === '/v2/instances').at(-1)!.body,
    ).toEqual({ instances: [r1], status: 'STATUS_PAUSED' });
    // Resuming bills again: GPU VMs need a yes, like a create.
    const ask = sc<{ status: string; confirmation_token: string; summary: string }>(
      await h.call('resume_instances', { provider: 'mithril', ids: [r1, r2] }),
    );
    expect(ask).toMatchObject({
      status: 'confirmation_required',
      summary: expect.stringMatching(/^Resume on mithril: 2 VM\(s\) bill again, 2 GPU\(s\), price unknown/),
    });
    expect(h.mithril!.http.count('PATCH', '/v2/instances') - before).toBe(1);
    const back = sc<{ results: { result: string }[] }>(
      await h.call('resume_instances', {
        provider: 'mithril',
        ids: [r1, r2],
        confirmation_token: ask.confirmation_token,
      }),
    );
    expect(back.results.map((x) => x.result)).toEqual(['resumed', 'resumed']);
  });

  it('pause_instances on two spot VMs at once, then again: paused, then already paused', async () => {
    h = await startHarness({ mithril: true });
    const a = await placeBid('a');
    const b = await placeBid('b');
    const first = sc<{ results: { id: string; result: string }[] }>(
      await h.call('pause_instances', { provider: 'mithril', ids: [a, b] }),
    );
    expect(first.results.map((x) => [x.id, x.result])).toEqual([
      [a, 'paused'],
      [b, 'paused'],
    ]);
    const again = sc<{ results: { result: string }[] }>(
      await h.call('pause_instances', { provider: 'mithril', ids: [a, b] }),
    );
    expect(again.results.map((x) => x.result)).toEqual(['already_paused', 'already_paused']);
  });

  it('list_instances spans more than one cursor page without losing or repeating a VM', async () => {
    h = await startHarness({ mithril: true });
    const ids = [
      await placeBid('p1'),
      await placeBid('p2'),
      await placeBid('p3'),
      await placeBid('waiting', { limit_price: 1 }),
    ];
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = sc<{ items: { id: string }[]; next_cursor?: string }>(
        await h.call('list_instances', { provider: 'mithril', limit: 1, ...(cursor ? { cursor } : {}) }),
      );
      seen.push(...r.items.map((i) => i.id));
      cursor = r.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBeGreaterThan(2);
    expect(seen.sort()).toEqual(ids.sort());
  });

  it('list_instances across both clouds reads them side by side: every page within limit, every VM once', async () => {
    h = await startHarness({ mithril: true });
    const ids: string[] = [];
    for (const n of ['g1', 'g2', 'g3']) {
      const r = await h.call('create_vm', {
        provider: 'genesiscloud',
        instance_type: 'vcpu-2_memory-4g_disk-80g',
        name: n,
        ssh_public_key: SSH_KEY,
      });
      ids.push(sc<{ instance: { id: string } }>(r).instance.id);
    }
    ids.push(await placeBid('m1'), await placeBid('m2', { limit_price: 1 }));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = sc<{ items: { id: string; provider: string }[]; next_cursor?: string }>(
        await h.call('list_instances', { limit: 2, ...(cursor ? { cursor } : {}) }),
      );
      expect(r.items.length).toBeLessThanOrEqual(2);
      seen.push(...r.items.map((i) => i.id));
      cursor = r.next_cursor;
      pages++;
    } while (cursor && pages < 20);
    expect(seen.sort()).toEqual([...ids].sort());
    const first = sc<{ next_cursor: string }>(await h.call('list_instances', { limit: 2 }));
    expect(text(await h.call('list_instances', { provider: 'genesiscloud', cursor: first.next_cursor }))).toMatch(
      /^\[INVALID_INPUT\].*another query/,
    );
  });

  it('says what to do instead of snapshots and images, and refuses options that do not apply', async () => {
    h = await startHarness({ mithril: true });
    const id = await placeBid('x');
    expect(text(await h.call('snapshot', { provider: 'mithril', id, name: 's' }))).toMatch(
      /^\[UNSUPPORTED\] mithril: Mithril cannot snapshot instances: Mithril has no snapshots; .*pause_instances/,
    );
    expect(text(await h.call('list_images', { provider: 'mithril' }))).toMatch(/^\[UNSUPPORTED\].*fixed Ubuntu 22\.04/);
    expect(text(await h.call('create_vm', { ...BID, image: 'ubuntu' }))).toMatch(
      /^\[INVALID_INPUT\] mithril: image does not apply on Mithril/,
    );
    expect(
      text(
        await h.call('create_vm', {
          provider: 'genesiscloud',
          instance_type: H100,
          name: 'g',
          ssh_public_key: SSH_KEY,
          limit_price: 3,
        }),
      ),
    ).toMatch(/limit_price does not apply/);
    const providers = sc<{ items: { id: string; capabilities: Record<string, unknown> }[] }>(
      await h.call('list_providers'),
    );
    expect(providers.items.find((p) => p.id === 'mithril')!.capabilities).toMatchObject({
      pause: true,
      snapshot: { unsupported: expect.stringContaining('no snapshots') },
      console: { differently: expect.stringContaining('SSH command') },
    });
    expect(text(await h.call('list_providers'))).toMatch(
      /mithril: enabled \(emulated\); cannot: snapshot, list_images; works differently: console/,
    );
  });

  it('delete cancels the bid; the VM is gone and a second delete says so', async () => {
    h = await startHarness({ mithril: true, config: { policy: { confirm: { delete: 'never' } } } });
    const id = await placeBid('gone');
    expect(sc<{ status: string }>(await h.call('delete_vm', { provider: 'mithril', id })).status).toBe('deleted');
    expect(
      sc<{ reached: boolean }>(await h.call('wait_for_instance', { provider: 'mithril', id, status: 'terminated' }))
        .reached,
    ).toBe(true);
    expect(h.mithril!.liveBids()).toHaveLength(0);
    expect(sc<{ already_gone: boolean }>(await h.call('delete_vm', { provider: 'mithril', id })).already_gone).toBe(
      true,
    );
  });

  it('list_instance_types, create_vm and list_instances each work around one entry Mithril sends that cannot be read', async () => {
    h = await startHarness({ mithril: true });
    const m = h.mithril!;
    m.serveUnreadable('instance-types', { fid: 'it_broken', name: 'broken', num_cpus: 'lots' });
    m.serveUnreadable('availability', { fid: 'avail_broken', region: 'us-central1-a', last_instance_price: '$1.00' });
    m.serveUnreadable('availability', {
      fid: 'avail_odd',
      instance_type: 'it_nowhere',
      region: 'us-central1-a',
      capacity: 1,
      last_instance_price: 'one dollar',
    });
    m.serveUnreadable('instances', { fid: 'inst_broken', name: 'broken' });
    m.serveUnreadable('bids', { fid: 'bid_broken', status: 'Open' });
    const types = sc<{ items: { provider: string; id: string }[] }>(
      await h.call('list_instance_types', { provider: 'mithril', limit: 100 }),
    );
    expect(types.items.map((t) => t.id).sort()).toEqual([
      'a100-80gb.sxm.1x',
      'a100-80gb.sxm.4x',
      'a100-80gb.sxm.8x',
      'h100-80gb.sxm.8x',
    ]);
    const id = await placeBid('works');
    const waiting = await placeBid('waits', { limit_price: 1 });
    const listed = sc<{ items: { id: string }[]; errors: unknown[] }>(
      await h.call('list_instances', { provider: 'mithril', limit: 50 }),
    );
    expect(listed.errors).toEqual([]);
    expect(listed.items.map((i) => i.id).sort()).toEqual([id, waiting].sort());
    const warned = h.logLines
      .map((l) => JSON.parse(l) as { level: number; what?: string; fid?: string })
      .filter((l) => l.level === 40);
    expect(warned.map((w) => [w.what, w.fid])).toEqual(
      expect.arrayContaining([
        ['instance type', 'it_broken'],
        ['spot availability entry', 'avail_broken'],
        ['last_instance_price', undefined],
        ['instance', 'inst_broken'],
        ['bid', 'bid_broken'],
      ]),
    );
  });

  it('get_instance costs the fewest requests: the bid, then its instance (the type catalog is cached)', async () => {
    h = await startHarness({ mithril: true });
    const id = await placeBid('counted');
    await h.call('get_instance', { provider: 'mithril', id });
    const before = h.mithril!.http.requests.length;
    const got = sc<{ instance: { id: string; status: string } }>(
      await h.call('get_instance', { provider: 'mithril', id }),
    );
    expect(got.instance).toMatchObject({ id, status: 'running' });
    expect(h.mithril!.http.requests.slice(before).map((q) => `${q.method} ${q.path}`)).toEqual([
      `GET /v2/spot/bids/${id}`,
      'GET /v2/instances',
    ]);
  });

  it('the emulated PATCH /v2/instances answers an entry for every requested FID, unknown ones included (seed 003: "always")', async () => {
    h = await startHarness({ mithril: true });
    const r1 = h.mithril!.seedReserved('r1');
    const res = await fetch(`${h.mithril!.baseUrl}/v2/instances`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${h.mithril!.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [r1, 'inst_unknown'], status: 'STATUS_PAUSED' }),
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([r1, 'inst_unknown'].sort());
    expect(body).toMatchObject({ [r1]: expect.stringMatching(/^STATUS_(STOPPING|PAUSED)$/), inst_unknown: null });
  });
});
