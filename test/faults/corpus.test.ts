/**
 * The bad-input corpus: hundreds of distinct malformed tools/call requests, generated per tool × per field × hostile
 * values from the tools' own input schemas, sent through a real client and as raw JSON-RPC to the built CLI. Every one
 * is answered with a `[CODE] sentence` that says what to do, none reaches a cloud, no secret is echoed and the server
 * stays up. Regression: six malformed calls answered JSON-RPC -32603 with zod's raw JSON, and ".." ids moved requests.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN } from '../../src/providers/genesiscloud/emulator.js';
import { DEFAULT_KEY } from '../../src/providers/mithril/emulator.js';
import { ID_ARGS } from '../../src/tools/common.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { CPU2, H100, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

const UUID = '9e8ce501-d692-402c-8fca-5a8f5d8ddd57';
const SECRETS = [DEFAULT_TOKEN, DEFAULT_KEY];

/** tools/call params as sent; `undefined` sends no params at all. */
type Params = Record<string, unknown> | undefined;
interface Entry {
  batch: string;
  params: Params;
  /** The argument the entry breaks, which the answer must name. */
  field?: string;
  /** Refused by our own checks (not by a cloud or the gate): the answer is `<field>: <what is wrong>. <what to do>.` */
  ours?: boolean;
}

/**
 * Arguments each tool would accept, so that an entry breaks exactly one thing. create_vm is a dry run: whatever
 * slipped through could not create a VM (and would fail the "is an error" check instead).
 */
const BASE: Record<string, Record<string, unknown>> = {
  list_providers: {},
  list_instance_types: {},
  list_images: { provider: 'genesiscloud' },
  list_instances: {},
  get_instance: { provider: 'genesiscloud', id: UUID },
  create_vm: { provider: 'genesiscloud', instance_type: CPU2, name: 'corpus', dry_run: true },
  wait_for_instance: { provider: 'genesiscloud', id: UUID, timeout_seconds: 1 },
  get_console: { provider: 'genesiscloud', id: UUID },
  pause_instances: { provider: 'genesiscloud', ids: [UUID] },
  resume_instances: { provider: 'genesiscloud', ids: [UUID] },
  snapshot: { provider: 'genesiscloud', id: UUID, name: 'corpus' },
  list_snapshots: { provider: 'genesiscloud' },
  delete_vm: { provider: 'genesiscloud', id: UUID },
  extend_lease: { provider: 'genesiscloud', id: UUID, hours: 1 },
};

/** Ids that would move a request or smuggle structure into a URL path. */
const HOSTILE_IDS = [
  '.',
  '..',
  '../..',
  'a/../b',
  '../../etc/passwd',
  '%2e%2e',
  '%2E%2E%2F',
  '..%2f',
  'a\\b',
  '..\\..',
  'x\ny',
  'x\ty',
  ' x',
  'x ',
  '\u0000',
  '\u202e',
  'é',
  'a?b=1',
  'a#b',
  '/',
  '//',
  '\\',
  '\u00a0',
  '😀',
];
/** Fewer for the second cloud: the rule is the same code path. */
const HOSTILE_IDS_MITHRIL = ['..', 'a/../b', '%2e%2e', 'x\ny', 'bid_a/..', 'inst_x?y', 'not-a-fid', UUID];

const deep = (n: number): unknown => (n === 0 ? 'bottom' : { d: deep(n - 1) });

interface JsonProp {
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonProp;
}

/** Values the property's schema refuses: wrong types, out of range, too long, not in the enum, hostile ids. */
function hostileValues(field: string, prop: JsonProp): unknown[] {
  const bound = (v: number | undefined) => (v !== undefined && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined);
  const out: unknown[] = [null, { a: 1 }, deep(60)];
  const type = prop.type ?? (prop.enum ? 'string' : undefined);
  if (type === 'string') {
    out.push(7, true, ['x']);
    if (prop.enum) out.push('nope', String(prop.enum[0]).toUpperCase(), '', `${String(prop.enum[0])} `);
    if (prop.maxLength !== undefined) out.push('x'.repeat(prop.maxLength + 1));
    if (prop.minLength) out.push('');
    if (ID_ARGS[field]) out.push(...HOSTILE_IDS);
  } else if (type === 'number' || type === 'integer') {
    out.push('5', 'NaN', '1e3', true, [1]);
    if (type === 'integer') out.push(1.5);
    const min = bound(prop.minimum);
    const max = bound(prop.maximum);
    if (min !== undefined) out.push(min - 1, min - 1e9);
    if (prop.exclusiveMinimum !== undefined) out.push(prop.exclusiveMinimum);
    if (max !== undefined) out.push(max + 1, 1e308);
  } else if (type === 'boolean') {
    out.push('true', 'false', 1, 0, ['x']);
  } else if (type === 'array') {
    out.push('x', 7, [7], [null], [[UUID]]);
    if (prop.minItems) out.push([]);
    if (prop.maxItems !== undefined)
      out.push(
        Array.from({ length: prop.maxItems + 1 }, (_, i) => `${UUID.slice(0, -4)}${String(i).padStart(4, '0')}`),
      );
    if (ID_ARGS[field]) out.push(...HOSTILE_IDS.map((id) => [id]), ...HOSTILE_IDS.slice(0, 4).map((id) => [UUID, id]));
  } else {
    throw new Error(`no hostile values for ${field} (${JSON.stringify(prop)}): teach the corpus this type`);
  }
  return out;
}

/** The whole corpus, JSON-safe (the same entries go over stdio). */
function buildCorpus(): Entry[] {
  const entries: Entry[] = [];
  // App-only tools do not exist for this client (no Apps extension): approval-card.test.ts covers them.
  for (const tool of ALL_TOOLS.filter((t) => !t.appOnly)) {
    const base = BASE[tool.name];
    if (!base) throw new Error(`add ${tool.name} to BASE`);
    const schema = z.toJSONSchema(z.object(tool.input), { io: 'input' }) as {
      properties?: Record<string, JsonProp>;
      required?: string[];
    };
    const call = (args: unknown, field?: string) =>
      entries.push({ batch: tool.name, params: { name: tool.name, arguments: args }, field, ours: true });
    for (const [field, prop] of Object.entries(schema.properties ?? {}))
      for (const v of hostileValues(field, prop)) call({ ...base, [field]: v }, field);
    for (const field of schema.required ?? [])
      call(Object.fromEntries(Object.entries(base).filter(([k]) => k !== field)), field);
    for (const args of [[], [base], 'x', '{}', 7, true, null]) call(args, 'arguments');
    call({ ...base, zzz: 1 }, 'zzz');
    call({ ...base, Provider: 'genesiscloud' }, 'Provider');
    call({ ...base, constructor: 'x' }, 'constructor');
    call({ ...base, ['__proto__']: { polluted: true } }, '__proto__');
    call({ ...base, ['k'.repeat(2000)]: 'v' });
    if (tool.input.id) for (const id of HOSTILE_IDS_MITHRIL) call({ ...base, provider: 'mithril', id }, 'id');
    if (tool.input.ids) for (const id of HOSTILE_IDS_MITHRIL) call({ ...base, provider: 'mithril', ids: [id] }, 'ids');
  }
  const names = [
    'no_such_tool',
    'GET_INSTANCE',
    'get-instance',
    ' get_instance',
    'get_instance\n',
    '',
    'x'.repeat(10_000),
    '工具',
    '\u0000',
    '../list_providers',
    'list_providers?',
  ];
  for (const name of names) entries.push({ batch: 'names', params: { name, arguments: {} }, ours: true });
  for (const name of [7, null, {}, [], true, ['get_instance']])
    entries.push({ batch: 'names', params: { name, arguments: {} }, field: 'name', ours: true });
  for (const [params, field] of [
    [undefined, 'params'],
    [{}, 'name'],
    [{ arguments: BASE.get_instance }, 'name'],
  ] as const)
    entries.push({ batch: 'names', params, field, ours: true });
  return entries;
}

const CORPUS = buildCorpus();
const BATCHES = [...new Set(CORPUS.map((e) => e.batch))];

/** What every answer must be: a `[CODE]` tool error ending in a full stop, short, no secret; ours in two sentences. */
function expectSentence(r: CallToolResult, e: Entry): void {
  const t = text(r);
  const what = JSON.stringify(e.params)?.slice(0, 200);
  expect(r.isError, `${what} → ${t}`).toBe(true);
  expect(t, what).toMatch(/^\[[A-Z_]+\] \S.*\.$/s);
  if (e.ours) expect(t, what).toMatch(/^\[INVALID_INPUT\] \S.*\S\. +\S.*\.$/s); // what is wrong, then what to do
  expect(t, what).not.toMatch(/MCP error|"code":|"path":|invalid_type|^\s*\[\s*\{/);
  expect(t.length, what).toBeLessThan(1_200);
  if (e.field && t.startsWith('[INVALID_INPUT]'))
    expect(t, what).toContain(e.field.length > 40 ? e.field.slice(0, 10) : e.field);
  for (const s of SECRETS) expect(JSON.stringify(r), what).not.toContain(s);
}

describe('bad input corpus', () => {
  it(`holds at least 250 distinct calls (${CORPUS.length})`, () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(250);
    expect(new Set(CORPUS.map((e) => JSON.stringify(e.params) ?? 'no params')).size).toBe(CORPUS.length);
  });

  describe('through a real client', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ mithril: true });
    });
    afterAll(async () => h.close());
    const requests = () => h.emulator.http.requests.length + h.mithril!.http.requests.length;
    const send = (params: Params) =>
      h.client.request(
        { method: 'tools/call', ...(params === undefined ? {} : { params }) } as never,
        CallToolResultSchema,
      );

    it.each(BATCHES)(
      '%s: every call answers a sentence, none reaches a cloud, and the server stays up',
      async (batch) => {
        for (const e of CORPUS.filter((x) => x.batch === batch)) expectSentence(await send(e.params), e);
        expect(requests()).toBe(0);
        expect((await h.call('list_providers')).isError).toBeFalsy();
      },
    );

    it('numbers JSON cannot carry (NaN, ±Infinity) are refused the same way', async () => {
      for (const v of [NaN, Infinity, -Infinity]) {
        for (const [name, field] of [
          ['list_instances', 'limit'],
          ['create_vm', 'disk_gib'],
          ['wait_for_instance', 'timeout_seconds'],
        ] as const) {
          const e: Entry = {
            batch: 'numbers',
            params: { name, arguments: { ...BASE[name], [field]: v } },
            field,
            ours: true,
          };
          expectSentence(await send(e.params), e);
        }
      }
      expect(requests()).toBe(0);
    });

    it('a tool turned off by the config says so instead of pretending it does not exist', async () => {
      const ro = await startHarness({ config: { policy: { readOnly: true } } });
      try {
        const r = await ro.call('create_vm', BASE.create_vm);
        expect(text(r)).toBe(
          '[INVALID_INPUT] create_vm is turned off on this server (by readOnly, disableDestructive, enabledTools or disabledTools). Use the tools that tools/list shows.',
        );
      } finally {
        await ro.close();
      }
    });

    // Well-formed calls the clouds or the gate refuse: they reach the emulator, and still create nothing.
    const semantic: [string, Record<string, unknown>][] = [
      ['create_vm', { provider: 'genesiscloud', instance_type: 'no-such-type', name: 'x', ssh_public_key: SSH_KEY }],
      [
        'create_vm',
        { provider: 'genesiscloud', instance_type: H100, name: 'x', ssh_public_key: SSH_KEY, region: 'NA-CA-PRG-1' },
      ],
      [
        'create_vm',
        { provider: 'genesiscloud', instance_type: CPU2, name: 'x', ssh_public_key: SSH_KEY, region: 'MARS-1' },
      ],
      [
        'create_vm',
        { provider: 'genesiscloud', instance_type: CPU2, name: 'x', ssh_public_key: SSH_KEY, disk_gib: 20 },
      ],
      ['create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'x', ssh_public_key: 'not a key' }],
      ['create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'x', image: 'a', from_snapshot: UUID }],
      ['create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'x' }], // no key given, none in the account
      ['create_vm', { provider: 'onet', instance_type: CPU2, name: 'x' }],
      ['create_vm', { provider: 'mithril', instance_type: 'h100-80gb.sxm.8x', name: 'x', from_snapshot: 'snap' }],
      ['list_instances', { cursor: '!!!' }],
      ['list_instance_types', { cursor: 'e30' }],
      ['snapshot', { provider: 'mithril', id: 'bid_abc', name: 's' }],
      ['list_images', { provider: 'mithril' }],
      ['get_instance', { provider: 'k0rdent', id: 'x' }],
    ];
    it.each(semantic)('%s %j is a clear tool error that creates nothing', async (tool, args) => {
      expectSentence(await h.call(tool, args), { batch: 'semantic', params: { name: tool, arguments: args } });
      expect(h.emulator.liveInstances()).toHaveLength(0);
      expect(h.mithril!.liveBids()).toHaveLength(0);
      expect((await h.call('list_providers')).isError).toBeFalsy();
    });
  });

  describe('as raw JSON-RPC over stdio to the built CLI (--emulate)', () => {
    const CLI = join(import.meta.dirname, '../../dist/index.js');

    it('answers every call with a sentence, sends nothing to the emulated clouds, and stays up', async () => {
      if (!existsSync(CLI)) throw new Error('dist/index.js is missing: run `npm run build` (npm test does it)');
      const child = spawn(process.execPath, [CLI, '--emulate'], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          COMPUTE_MCP_EMULATOR_PACE: 'instant',
          LOG_LEVEL: 'info',
        },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += String(d)));
      child.stderr.on('data', (d) => (err += String(d)));
      const line = (s: string) => child.stdin.write(`${s}\n`);
      const send = (m: object) => line(JSON.stringify(m));
      send({
        jsonrpc: '2.0',
        id: 'init',
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'corpus', version: '0' } },
      });
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      const expected = new Set<string | number>(['init']);
      CORPUS.forEach((e, i) => {
        send({ jsonrpc: '2.0', id: i, method: 'tools/call', ...(e.params === undefined ? {} : { params: e.params }) });
        expected.add(i);
        if (CORPUS[i + 1]?.batch !== e.batch) {
          send({
            jsonrpc: '2.0',
            id: `alive-${e.batch}`,
            method: 'tools/call',
            params: { name: 'list_providers', arguments: {} },
          });
          expected.add(`alive-${e.batch}`);
        }
      });
      // Numbers only raw JSON can carry: JSON.parse reads 1e999 as Infinity.
      line(
        '{"jsonrpc":"2.0","id":"inf","method":"tools/call","params":{"name":"list_instances","arguments":{"limit":1e999}}}',
      );
      expected.add('inf');

      const answers = new Map<
        string | number,
        { result?: CallToolResult; error?: { code: number; message: string } }
      >();
      let logs: unknown[];
      try {
        await new Promise<void>((resolve, reject) => {
          const missing = () => [...expected].filter((id) => !answers.has(id));
          const timer = setTimeout(
            () => reject(new Error(`unanswered: ${JSON.stringify(missing().slice(0, 5))}`)),
            50_000,
          );
          const read = () => {
            const lines = out.split('\n');
            out = lines.pop()!;
            for (const l of lines.filter(Boolean)) {
              const m = JSON.parse(l) as {
                id: string | number;
                result?: CallToolResult;
                error?: { code: number; message: string };
              };
              answers.set(m.id, m);
            }
            if (missing().length === 0) {
              clearTimeout(timer);
              resolve();
            }
          };
          child.stdout.on('data', read);
          read();
        });
        const logLines = err.split('\n').filter((l) => l.startsWith('{') && l.endsWith('}'));
        const urls = logLines
          .map((l) => JSON.parse(l) as { emulators?: Record<string, string> })
          .find((l) => l.emulators)!.emulators!;
        logs = await Promise.all(Object.values(urls).map(async (u) => (await fetch(`${u}/_emulator/requests`)).json()));
      } finally {
        child.stdin.end();
        if (child.exitCode === null) await new Promise((r) => child.on('exit', r));
      }

      CORPUS.forEach((e, i) => {
        const a = answers.get(i)!;
        expect(a.error, `${JSON.stringify(e.params)?.slice(0, 200)} → ${JSON.stringify(a.error)}`).toBeUndefined();
        expectSentence(a.result!, e);
      });
      expectSentence(answers.get('inf')!.result!, { batch: 'numbers', params: undefined, field: 'limit', ours: true });
      for (const b of BATCHES) expect(answers.get(`alive-${b}`)!.result!.isError, b).toBeFalsy();
      expect(logs.length).toBeGreaterThan(1);
      for (const l of logs) expect(l).toEqual([]); // not one request reached any emulated cloud
      for (const s of SECRETS) expect(err).not.toContain(s);
    }, 60_000);
  });
});
