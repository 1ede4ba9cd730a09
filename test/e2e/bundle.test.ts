/**
 * The MCP Bundle: manifest.json is valid for `mcpb validate`, lists the server's tools, and asks for every cloud's
 * keys (the secret ones sensitive, so the host keeps them in the OS keychain); the bundle built from dist/ unpacks
 * with the mcpb CLI, and its entry point, started the way a host starts it (mcpb's own config resolution, user
 * settings substituted), answers a real MCP client: tools/list, then calls on the emulators.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { getMcpConfigForManifest } from '@anthropic-ai/mcpb/node';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILT_CLOUDS } from '../../src/providers/clouds.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { requireBuilt } from '../helpers/cli.js';

const ROOT = join(import.meta.dirname, '../..');
const MCPB = join(ROOT, 'node_modules/@anthropic-ai/mcpb/dist/cli/cli.js');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  engines: { node: string };
};

interface UserConfigField {
  type: string;
  title: string;
  sensitive?: boolean;
  required?: boolean;
  default?: string;
}
interface Manifest {
  name: string;
  version: string;
  server: {
    type: string;
    entry_point: string;
    mcp_config: { command: string; args: string[]; env: Record<string, string> };
  };
  tools: { name: string; description: string }[];
  compatibility: { runtimes: { node: string } };
  user_config: Record<string, UserConfigField>;
}
/** The tools a model sees (app-only tools are listed only to hosts that render MCP Apps). */
const MODEL_TOOLS = ALL_TOOLS.filter((t) => !t.appOnly);
const manifest = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8')) as Manifest;

const mcpb = (...args: string[]) => spawnSync(process.execPath, [MCPB, ...args], { encoding: 'utf8', timeout: 60_000 });

const files = (dir: string, base = dir): string[] =>
  readdirSync(dir).flatMap((f) =>
    statSync(join(dir, f)).isDirectory() ? files(join(dir, f), base) : [relative(base, join(dir, f))],
  );

describe('manifest.json', () => {
  it('passes mcpb validate', () => {
    const r = mcpb('validate', join(ROOT, 'manifest.json'));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Manifest schema validation passes');
  });

  it("lists the server's tools and version (npm run manifest rewrites them; the bundle always gets fresh ones)", () => {
    expect(manifest.tools.map((t) => t.name)).toEqual(MODEL_TOOLS.map((t) => t.name));
    expect(manifest.version).toBe(pkg.version);
  });

  it("asks for every cloud's keys: credentials sensitive, none required, empty when unset", () => {
    const env = manifest.server.mcp_config.env;
    for (const cloud of BUILT_CLOUDS)
      for (const k of [...cloud.credentials, ...cloud.settings]) {
        const ref = /^\$\{user_config\.(\w+)\}$/.exec(env[k] ?? '');
        expect(ref, `${k} comes from user_config`).not.toBeNull();
        const field = manifest.user_config[ref![1]!]!;
        expect(field, k).toMatchObject({ type: 'string', required: false, default: '' });
        expect(field.sensitive, `${k} sensitive`).toBe(cloud.credentials.includes(k));
        expect(field.title).toContain(cloud.name);
      }
  });

  it('needs Node 20.18.1 or newer, as package.json does', () => {
    expect(manifest.compatibility.runtimes.node).toBe('>=20.18.1');
    expect(pkg.engines.node).toMatch(/^\^20\.18\.1 /);
    expect(manifest.server).toMatchObject({ type: 'node', entry_point: 'server/index.js' });
    expect(manifest.server.mcp_config.args).toEqual(['${__dirname}/server/index.js']);
  });
});

describe('the .mcpb bundle', () => {
  let dir: string;
  let bundle: string;

  beforeAll(() => {
    requireBuilt();
    const out = mkdtempSync(join(tmpdir(), 'cm-mcpb-'));
    // What `npm run bundle` runs after building dist/ (not rebuilt here: other tests use it while this one runs).
    const printed = execFileSync(
      process.execPath,
      [join(ROOT, 'scripts/bundle.mjs'), '--out', join(out, 'compute-mcp.mcpb')],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 120_000,
      },
    );
    const result = JSON.parse(printed) as { file: string; sha256: string };
    bundle = result.file;
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    dir = join(out, 'unpacked');
    const r = mcpb('unpack', bundle, dir);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 180_000);

  it('holds the manifest, the built server (no source maps), an ES-module package.json, README and LICENSE', () => {
    const list = files(dir).map((f) => f.split(sep).join('/'));
    expect(list).toContain('manifest.json');
    expect(list).toContain('server/index.js');
    expect(list).toContain('server/THIRD-PARTY-NOTICES.txt');
    expect(list).toContain('README.md');
    expect(list).toContain('LICENSE');
    expect(list.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(list.filter((f) => f.includes('node_modules'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).toMatchObject({ type: 'module' });
    // The repository's manifest, with the version and the tools (descriptions included) of what was built.
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))).toEqual({
      ...manifest,
      version: pkg.version,
      tools: MODEL_TOOLS.map((t) => ({ name: t.name, description: t.description })),
    });
    const info = mcpb('info', bundle);
    expect(info.status, info.stderr).toBe(0);
  });

  /** Starts the unpacked bundle as a host would: mcpb resolves the command from the manifest and the user's settings. */
  async function startBundle(userConfig: Record<string, string>, extraArgs: string[] = []) {
    const unpacked = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Parameters<
      typeof getMcpConfigForManifest
    >[0]['manifest'];
    const cfg = await getMcpConfigForManifest({
      manifest: unpacked,
      extensionPath: dir,
      systemDirs: {},
      userConfig,
      pathSeparator: sep,
    });
    expect(cfg).toBeDefined();
    const env = cfg!.env ?? {};
    // No placeholder reaches the server: an unset key is empty, not "${user_config.…}".
    expect(Object.values(env).filter((v) => v.includes('${'))).toEqual([]);
    expect(existsSync(cfg!.args![0]!)).toBe(true);
    const transport = new StdioClientTransport({
      command: cfg!.command === 'node' ? process.execPath : cfg!.command,
      args: [...(cfg!.args ?? []), ...extraArgs],
      cwd: tmpdir(),
      env: {
        PATH: process.env.PATH ?? '',
        HOME: mkdtempSync(join(tmpdir(), 'cm-mcpb-home-')),
        COMPUTE_MCP_EMULATOR_PACE: 'instant',
        ...env,
      },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'mcpb-host', version: '0' });
    await client.connect(transport);
    return { client, env };
  }

  it('starts with no settings: every tool listed, every cloud disabled and saying which keys it needs', async () => {
    const { client, env } = await startBundle({});
    try {
      expect(env.GENESISCLOUD_API_TOKEN).toBe('');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(manifest.tools.map((t) => t.name));
      const r = (await client.callTool({ name: 'list_providers', arguments: {} })).structuredContent as {
        items: { id: string; enabled: boolean; reason?: string }[];
      };
      for (const p of r.items) {
        expect(p.enabled, p.id).toBe(false);
        expect(p.reason).toMatch(/^Set /);
      }
    } finally {
      await client.close();
    }
  });

  it('passes a key the user entered to the server, which enables that cloud', async () => {
    // A cloud whose one key enables it.
    const cloud = BUILT_CLOUDS.find((c) => c.credentials.length === 1 && c.settings.length === 0)!;
    const key = Object.entries(manifest.server.mcp_config.env).find(([k]) => k === cloud.credentials[0])![1];
    const field = /user_config\.(\w+)/.exec(key)![1]!;
    const { client, env } = await startBundle({ [field]: 'a-key-from-the-keychain-0123456789' });
    try {
      expect(env[cloud.credentials[0]!]).toBe('a-key-from-the-keychain-0123456789');
      const r = (await client.callTool({ name: 'list_providers', arguments: {} })).structuredContent as {
        items: { id: string; enabled: boolean; mode: string | null }[];
      };
      expect(r.items.filter((p) => p.enabled)).toEqual([expect.objectContaining({ id: cloud.id, mode: 'live' })]);
    } finally {
      await client.close();
    }
  });

  it('runs a tool call on the emulators (--emulate)', async () => {
    const { client } = await startBundle({}, ['--emulate']);
    try {
      const r = await client.callTool({ name: 'list_instance_types', arguments: { gpu: 'H100', limit: 3 } });
      expect(r.isError).toBeFalsy();
      const out = r.structuredContent as { items: { provider: string; gpu: { model: string } | null }[] };
      expect(out.items.length).toBeGreaterThan(0);
      for (const t of out.items) expect(t.gpu?.model).toMatch(/H100/);
    } finally {
      await client.close();
    }
  });
});
