/** Every client config snippet in README (and mcp.json) is valid JSON, and its command starts the server. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SPEC_ENV = [
  'GENESISCLOUD_API_TOKEN',
  'MITHRIL_API_KEY',
  'MITHRIL_PROJECT',
  'ONET_API_KEY',
  'ONET_ORGANIZATION_ID',
  'ONET_PROJECT_ID',
  'K0RDENT_TOKEN',
  'K0RDENT_REGION',
  'K0RDENT_PROJECT',
  'K0RDENT_ZONE',
  'INSTAVM_API_KEY',
];

interface Entry {
  type?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  url?: string;
}

const blocks = [...README.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
const configs = blocks
  .map((b) => JSON.parse(b) as Record<string, unknown>)
  .filter((c) => 'mcpServers' in c || 'servers' in c);
const entries = configs.flatMap((c) => Object.entries((c.mcpServers ?? c.servers) as Record<string, Entry>));

/** What a client does with the placeholders: ${VAR:-}, ${input:x}, ${env:X} become values; here, empty ones. */
const expand = (v: string) => v.replace(/\$\{[^}]+\}/g, '').replaceAll('/path/to/compute-mcp', ROOT);

async function startsServer(e: Entry, cwd: string) {
  const env = Object.fromEntries(Object.entries(e.env ?? {}).map(([k, v]) => [k, expand(v)]));
  const transport = new StdioClientTransport({
    command: e.command === 'node' ? process.execPath : e.command!,
    args: (e.args ?? []).map(expand),
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'readme-check', version: '0' });
  await client.connect(transport);
  try {
    expect((await client.listTools()).tools).toHaveLength(14);
    return (await client.callTool({ name: 'list_providers', arguments: {} })).structuredContent as {
      items: { id: string; enabled: boolean; mode: string | null }[];
    };
  } finally {
    await client.close();
  }
}

describe('client set-up in README', () => {
  it('has Claude Code, Claude Desktop, VS Code and Cursor snippets, all valid JSON', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const b of blocks) expect(() => JSON.parse(b)).not.toThrow();
    expect(README).toContain('claude mcp add compute');
    expect(configs.some((c) => 'servers' in c && 'inputs' in c)).toBe(true); // VS Code
    for (const want of [
      '"${GENESISCLOUD_API_TOKEN:-}"',
      '"${input:genesiscloud-token}"',
      '"${env:GENESISCLOUD_API_TOKEN}"',
    ])
      expect(README).toContain(want);
  });

  it('every stdio entry passes all the cloud variables of SPEC §1', () => {
    const stdio = entries.filter(([, e]) => e.command);
    expect(stdio.length).toBe(4);
    for (const [, e] of stdio) expect(Object.keys(e.env ?? {}).sort()).toEqual([...SPEC_ENV].sort());
  });

  it.each(entries.filter(([, e]) => e.command).map(([name, e], i) => [`${name} #${i}`, e] as const))(
    '%s starts the server',
    async (_n, e) => {
      const r = await startsServer(e, ROOT);
      expect(r.items.map((p) => p.id)).toContain('genesiscloud');
    },
  );

  it('HTTP entries point at /mcp on loopback', () => {
    for (const [, e] of entries.filter(([, e]) => e.url)) expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  it('mcp.json at the top level runs the server on the emulators', async () => {
    const cfg = JSON.parse(readFileSync(join(ROOT, 'mcp.json'), 'utf8')) as { mcpServers: Record<string, Entry> };
    const [e] = Object.values(cfg.mcpServers);
    const r = await startsServer(e!, ROOT);
    expect(r.items[0]).toMatchObject({ id: 'genesiscloud', enabled: true, mode: 'emulated' });
  });
});
