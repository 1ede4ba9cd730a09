/**
 * The MCP Registry entry: server.json is valid against the registry's published schema (kept in schemas/), names the
 * npm package and version of package.json (whose mcpName matches), declares every cloud's variables (the secret ones
 * as secrets); and the package runs the way the registry tells clients to run it, `npx -y compute-mcp`, from the
 * packed tarball with an empty npm cache, as a first-time user would.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { BUILT_CLOUDS } from '../../src/providers/clouds.js';

const ROOT = join(import.meta.dirname, '../..');
const json = (f: string) => JSON.parse(readFileSync(join(ROOT, f), 'utf8')) as Record<string, unknown>;
const pkg = json('package.json') as { name: string; version: string; mcpName: string };
const server = json('server.json') as {
  $schema: string;
  name: string;
  version: string;
  description: string;
  packages: {
    registryType: string;
    identifier: string;
    version: string;
    runtimeHint?: string;
    transport: { type: string };
    environmentVariables: { name: string; isSecret?: boolean; isRequired?: boolean }[];
  }[];
};
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
// npm and npx run as a user would: without the npm_* settings of an npm script around us.
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));

describe('server.json for the MCP Registry', () => {
  it('is valid against the published schema kept in schemas/, which is the one it names', () => {
    const text = readFileSync(join(ROOT, 'schemas/server.schema.json'));
    // The copy is the published file, unchanged (schemas/README.md gives its source and hash).
    const readme = readFileSync(join(ROOT, 'schemas/README.md'), 'utf8');
    expect(readme).toContain(createHash('sha256').update(text).digest('hex'));
    const schema = JSON.parse(text.toString('utf8')) as { $id: string };
    expect(server.$schema).toBe(schema.$id);
    // strict: false because the schema uses OpenAPI's `example` keyword, which JSON Schema does not define.
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
    const validate = ajv.compile(schema);
    const ok = validate(server);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
    // The schema does reject a broken entry (it is not a schema that accepts anything).
    expect(validate({ ...server, name: 'no-slash' })).toBe(false);
    expect(validate({ ...server, description: 'x'.repeat(101) })).toBe(false);
  });

  it('matches package.json: mcpName, package name and version', () => {
    expect(server.name).toBe(pkg.mcpName);
    expect(server.version).toBe(pkg.version);
    const [npm] = server.packages;
    expect(server.packages).toHaveLength(1);
    expect(npm).toMatchObject({
      registryType: 'npm',
      identifier: pkg.name,
      version: pkg.version,
      runtimeHint: 'npx',
      transport: { type: 'stdio' },
    });
  });

  it("declares every cloud's variables, credentials as secrets, none required", () => {
    const vars = new Map(server.packages[0]!.environmentVariables.map((v) => [v.name, v]));
    for (const cloud of BUILT_CLOUDS) {
      for (const k of cloud.credentials) expect(vars.get(k), k).toMatchObject({ isSecret: true, isRequired: false });
      for (const k of cloud.settings) expect(vars.get(k), k).toMatchObject({ isSecret: false, isRequired: false });
    }
    const known = new Set([...BUILT_CLOUDS.flatMap((c) => [...c.credentials, ...c.settings]), 'COMPUTE_MCP_CONFIG']);
    expect([...vars.keys()].filter((k) => !known.has(k))).toEqual([]);
  });

  it(
    'runs with `npx -y compute-mcp` from the packed tarball, with an empty npm cache',
    { timeout: 240_000 },
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'cm-registry-pack-'));
      const [info] = JSON.parse(
        execFileSync('npm', ['pack', '--json', '--pack-destination', out], {
          cwd: ROOT,
          env: ENV,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 180_000,
        }),
      ) as { filename: string }[];
      const tarball = join(out, info!.filename);
      const cwd = mkdtempSync(join(tmpdir(), 'cm-registry-user-'));
      // A first-time user: nothing cached, nothing installed. The package brings its code with it, so npx needs no
      // other package (and no network).
      const env = {
        ...ENV,
        npm_config_cache: mkdtempSync(join(tmpdir(), 'cm-npm-cache-')),
        npm_config_update_notifier: 'false',
      };
      // `npx -y compute-mcp`, with the package taken from the tarball instead of the registry.
      const npx = ['-y', `--package=${tarball}`, 'compute-mcp'];
      const v = spawnSync('npx', [...npx, '--version'], { cwd, env, encoding: 'utf8', timeout: 120_000 });
      expect(v.status, v.stderr).toBe(0);
      expect(v.stdout.trim()).toBe(pkg.version);

      // What an MCP client does with the registry entry: start `npx -y <package>` and talk MCP over its stdio.
      const transport = new StdioClientTransport({
        command: 'npx',
        args: [...npx, '--emulate'],
        cwd,
        env: { ...(env as Record<string, string>), COMPUTE_MCP_EMULATOR_PACE: 'instant' },
        stderr: 'ignore',
      });
      const client = new Client({ name: 'registry-check', version: '0' });
      await client.connect(transport);
      try {
        expect((await client.listTools()).tools.map((t) => t.name)).toContain('list_providers');
        const r = (await client.callTool({ name: 'list_providers', arguments: {} })).structuredContent as {
          items: { id: string; enabled: boolean; mode: string | null }[];
        };
        expect(r.items.filter((p) => p.enabled).map((p) => p.id)).toEqual(BUILT_CLOUDS.map((c) => c.id));
      } finally {
        await client.close();
      }
    },
  );
});
