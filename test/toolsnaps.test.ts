/**
 * The public surface: one snapshot per tool from a real client's tools/list (update with `npm run snap:update`),
 * and the inventory lint: four explicit annotations, described inputs, no top-level anyOf/oneOf/allOf, token budget.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { ALL_TOOLS } from '../src/tools/index.js';
import { startHarness, type Harness } from './helpers/harness.js';

const TOKEN_BUDGET = 3500;
let h: Harness;
let tools: Tool[];
beforeAll(async () => {
  h = await startHarness();
  tools = (await h.client.listTools()).tools;
});
afterAll(async () => h.close());

describe('tools/list', () => {
  it('lists the thirteen tools of SPEC §3 and extend_lease, each in a file named after it', () => {
    expect(tools.map((t) => t.name)).toEqual([
      'list_providers',
      'list_instance_types',
      'list_images',
      'list_instances',
      'get_instance',
      'create_vm',
      'extend_lease',
      'wait_for_instance',
      'get_console',
      'pause_instances',
      'resume_instances',
      'snapshot',
      'list_snapshots',
      'delete_vm',
    ]);
    for (const t of ALL_TOOLS)
      expect(existsSync(join(import.meta.dirname, '../src/tools', `${t.name}.ts`)), t.name).toBe(true);
  });

  it('matches the committed snapshot of every tool', async () => {
    for (const t of tools)
      await expect(`${JSON.stringify(t, null, 2)}\n`).toMatchFileSnapshot(`__toolsnaps__/${t.name}.json`);
  });

  it('sets all four annotations explicitly on every tool', () => {
    for (const t of tools) {
      for (const k of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const)
        expect(typeof t.annotations?.[k], `${t.name}.${k}`).toBe('boolean');
    }
  });

  it('matches the annotation table of SPEC §3', () => {
    const want: Record<string, string> = {
      list_providers: 'TFTF',
      list_instance_types: 'TFTT',
      list_images: 'TFTT',
      list_instances: 'TFTT',
      get_instance: 'TFTT',
      create_vm: 'FFFT',
      wait_for_instance: 'TFTT',
      get_console: 'FFFT',
      pause_instances: 'FFTT',
      resume_instances: 'FFTT',
      snapshot: 'FFFT',
      list_snapshots: 'TFTT',
      delete_vm: 'FTTT',
      extend_lease: 'FFFT',
    };
    for (const t of tools) {
      const a = t.annotations!;
      expect(
        [a.readOnlyHint, a.destructiveHint, a.idempotentHint, a.openWorldHint].map((b) => (b ? 'T' : 'F')).join(''),
        t.name,
      ).toBe(want[t.name]);
    }
  });

  it('describes every input field, has an output schema, and no top-level anyOf/oneOf/allOf', () => {
    for (const t of tools) {
      const schema = t.inputSchema as Record<string, unknown> & {
        properties?: Record<string, { description?: string }>;
      };
      for (const k of ['anyOf', 'oneOf', 'allOf']) expect(schema[k], `${t.name} ${k}`).toBeUndefined();
      for (const [field, prop] of Object.entries(schema.properties ?? {}))
        expect(prop.description, `${t.name}.${field}`).toBeTruthy();
      expect(t.outputSchema?.type, t.name).toBe('object');
      expect(t.description!.length, t.name).toBeLessThanOrEqual(200);
      expect(t.title, t.name).toBeTruthy();
    }
  });

  it(`stays within ${TOKEN_BUDGET} tokens (bytes/4)`, () => {
    const tokens = Buffer.byteLength(JSON.stringify({ tools })) / 4;
    expect(tokens).toBeLessThanOrEqual(TOKEN_BUDGET);
  });
});
