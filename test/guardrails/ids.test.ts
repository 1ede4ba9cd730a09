/**
 * Ids are checked per cloud before any request. Regression: ".." moved requests (`snapshot {id: ".."}` sent
 * `POST /compute/v1/snapshots`, `delete_vm ".."` read `GET /compute/v1/` and answered that the VM was gone,
 * `wait_for_instance ".." terminated` answered reached).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputeError } from '../../src/domain/errors.js';
import { z } from 'zod';
import { pathSegment, unsafeIdReason } from '../../src/domain/provider.js';
import { listingSchema } from '../../src/tools/register.js';
import { CPU2, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

/** Every tool that takes an instance or snapshot id, with the call that puts `id` in it. */
const ID_TOOLS: [
  tool: string,
  args: (provider: string, id: string) => Record<string, unknown>,
  kind: 'instance' | 'snapshot',
][] = [
  ['get_instance', (provider, id) => ({ provider, id }), 'instance'],
  ['wait_for_instance', (provider, id) => ({ provider, id, status: 'terminated', timeout_seconds: 1 }), 'instance'],
  ['get_console', (provider, id) => ({ provider, id }), 'instance'],
  ['snapshot', (provider, id) => ({ provider, id, name: 's' }), 'instance'],
  ['list_snapshots', (provider, id) => ({ provider, id }), 'instance'],
  ['delete_vm', (provider, id) => ({ provider, id }), 'instance'],
  ['pause_instances', (provider, id) => ({ provider, ids: [id] }), 'instance'],
  ['resume_instances', (provider, id) => ({ provider, ids: [id] }), 'instance'],
  [
    'create_vm',
    (provider, id) => ({
      provider,
      instance_type: provider === 'mithril' ? 'h100-80gb.sxm.8x' : CPU2,
      name: 'x',
      ssh_public_key: SSH_KEY,
      from_snapshot: id,
    }),
    'snapshot',
  ],
];

/** Ids that would move a request or smuggle structure into a path: refused for every cloud. */
const HOSTILE = [
  '.',
  '..',
  'a/../b',
  '../../etc/passwd',
  '%2e%2e',
  '..%2F',
  'a\\b',
  'x\ny',
  ' x',
  'a b',
  '\t',
  '\u0000',
  'a?b=1',
  'a#b',
  '/',
  'é',
  '\u202e',
];

const SENTENCE: Record<string, Record<'instance' | 'snapshot', RegExp>> = {
  genesiscloud: {
    instance: /Genesis Cloud instance ids are UUIDs; get them from list_instances\.$/,
    snapshot: /Genesis Cloud snapshot ids are UUIDs; get them from list_snapshots\.$/,
  },
  mithril: {
    instance:
      /Mithril VM ids are FIDs: bid_… for spot VMs, inst_… for reserved instances; get them from list_instances\.$/,
    snapshot: /Mithril has no snapshot ids to pass here\.$/,
  },
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ mithril: true });
});
afterAll(async () => h.close());

const requests = () => h.emulator.http.requests.length + h.mithril!.http.requests.length;

describe('ids are checked before any request', () => {
  const cases = ['genesiscloud', 'mithril'].flatMap((provider) =>
    ID_TOOLS.flatMap(([tool, args, kind]) =>
      HOSTILE.map((id) => [tool, provider, id, args(provider, id), kind] as const),
    ),
  );

  it.each(cases)(
    '%s on %s refuses %j as INVALID_INPUT naming the form, and sends nothing',
    async (tool, provider, id, args, kind) => {
      const before = requests();
      const r = await h.call(tool, args);
      expect(r.isError, text(r)).toBe(true);
      expect(text(r)).toMatch(
        new RegExp(`^\\[INVALID_INPUT\\] ${provider}: (id|ids\\[0\\]|from_snapshot) .+ is not an? .+ id: it `),
      );
      expect(text(r)).toMatch(SENTENCE[provider]![kind]);
      expect(requests()).toBe(before);
    },
  );

  it('a well-formed id still reaches the cloud', async () => {
    const uuid = randomUUID();
    expect(text(await h.call('get_instance', { provider: 'genesiscloud', id: uuid }))).toMatch(
      /^\[NOT_FOUND\] genesiscloud: GET \/compute\/v1\/instances\//,
    );
    expect(h.emulator.http.count('GET', `/compute/v1/instances/${uuid}`)).toBe(1);
    expect(text(await h.call('get_instance', { provider: 'mithril', id: 'inst_nope' }))).toMatch(
      /^\[NOT_FOUND\] mithril:/,
    );
    expect(h.mithril!.http.count('GET', '/v2/instances/inst_nope/status')).toBe(1);
  });

  it.each([
    ['genesiscloud', 'nope', 'instance'],
    ['genesiscloud', 'bid_abc123', 'instance'],
    ['mithril', randomUUID(), 'instance'],
    ['mithril', 'res_abc123', 'instance'],
    ['genesiscloud', 'ubuntu-22.04', 'snapshot'],
  ] as const)(
    "on %s, %j is not of the documented form: refused with the cloud's sentence",
    async (provider, id, kind) => {
      const before = requests();
      const [tool, args] =
        kind === 'snapshot' ? ['create_vm', ID_TOOLS[8]![1](provider, id)] : ['get_instance', { provider, id }];
      const r = await h.call(tool as string, args);
      expect(text(r)).toMatch(
        new RegExp(`^\\[INVALID_INPUT\\] ${provider}: (id|from_snapshot) "${id}" is not an? .+ ${kind} id\\. `),
      );
      expect(text(r)).toMatch(SENTENCE[provider]![kind]);
      expect(requests()).toBe(before);
    },
  );

  it('one bad id in a batch refuses the batch before anything is paused', async () => {
    const made = (
      await h.call('create_vm', {
        provider: 'genesiscloud',
        instance_type: CPU2,
        name: 'batch',
        ssh_public_key: SSH_KEY,
      })
    ).structuredContent as { instance: { id: string } };
    const before = requests();
    const r = await h.call('pause_instances', { provider: 'genesiscloud', ids: [made.instance.id, '..'] });
    expect(text(r)).toMatch(
      /^\[INVALID_INPUT\] genesiscloud: ids\[1\] "\.\." is not a Genesis Cloud instance id: it is a path dot segment\./,
    );
    expect(requests()).toBe(before);
  });
});

describe('the generic safe-id rule', () => {
  it.each([
    '9e8ce501-d692-402c-8fca-5a8f5d8ddd57',
    'bid_abc123456',
    'inst_a-b_c',
    'ubuntu-22.04',
    'a.b',
    '...',
    'x'.repeat(200),
  ])('accepts %j', (id) => {
    expect(unsafeIdReason(id)).toBeUndefined();
  });

  it.each([
    ['', 'it is empty'],
    ['.', 'it is a path dot segment'],
    ['..', 'it is a path dot segment'],
    ['a/b', 'it contains a slash'],
    ['a\\b', 'it contains a backslash'],
    ['%2e', 'it contains a percent sign'],
    ['a?b', 'it contains a question mark'],
    ['a#b', 'it contains a hash sign'],
    ['a b', 'it contains whitespace or a control character'],
    ['a\u0085b', 'it contains whitespace or a control character'],
    ['a\u007fb', 'it contains whitespace or a control character'],
    ['ａ', 'it contains a character outside printable ASCII'],
    ['x'.repeat(201), 'it is longer than 200 characters'],
  ])('refuses %j: %s', (id, why) => {
    expect(unsafeIdReason(id)).toBe(why);
  });
});

describe('id forms cost no tokens', () => {
  it('a regex on an input is enforced but not listed: tools/list is paid by every conversation', () => {
    const listed = JSON.stringify(
      listingSchema(
        {
          id: z
            .string()
            .regex(/^[0-9a-f-]{36}$/)
            .describe('Instance id'),
        },
        'input',
      ),
    );
    expect(listed).not.toContain('pattern');
    expect(listed).toContain('Instance id');
  });
});

describe('the adapters refuse a dot segment themselves (second line of defence)', () => {
  it.each(['', '.', '..'])('pathSegment refuses %j', (id) => {
    expect(() => pathSegment('genesiscloud', id)).toThrow(ComputeError);
  });

  it('encodes everything else into one segment', () => {
    expect(pathSegment('genesiscloud', 'a/../b?c#d%')).toBe('a%2F..%2Fb%3Fc%23d%25');
  });

  it('Genesis Cloud: no method sends a request for "..", called directly', async () => {
    const g = h.providers.get('genesiscloud');
    const before = h.emulator.http.requests.length;
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: ComputeError) => e.code,
      );
    expect(await code(g.getInstance('..'))).toBe('INVALID_INPUT');
    expect(await code(g.delete('..'))).toBe('INVALID_INPUT');
    expect(await code(g.snapshot!('..', 's'))).toBe('INVALID_INPUT');
    expect(await code(g.listSnapshots!({ instanceId: '.' }))).toBe('INVALID_INPUT');
    expect(await code(g.getConsole('..'))).toBe('INVALID_INPUT');
    expect(await code(g.planCreate({ instance_type: CPU2, name: 'x', from_snapshot: '..' }))).toBe('INVALID_INPUT');
    expect(await g.pause!(['..'])).toEqual([
      { id: '..', result: 'failed', message: expect.stringMatching(/^\[INVALID_INPUT\]/) },
    ]);
    expect(h.emulator.http.requests.length).toBe(before);
  });

  it('Mithril: no request carries "..", called directly', async () => {
    const m = h.providers.get('mithril');
    const before = h.mithril!.http.requests.length;
    await expect(m.getInstance('..')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(m.getInstance('inst_x/..')).rejects.toMatchObject({ code: 'NOT_FOUND' }); // encoded: one segment
    await expect(m.getConsole('.')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const paths = h.mithril!.http.requests.slice(before).map((r) => r.path);
    expect(paths.filter((p) => !['/v2/instance-types', '/v2/spot/availability'].includes(p))).toEqual([
      '/v2/instances/inst_x%2F../status',
    ]);
  });
});
