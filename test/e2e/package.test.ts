/** The npm package: only the built server, README and license; installable; its bin answers --version and tools/list. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
// npm and npx run as a user would: without the npm_* settings of an npm script (or of `npx -p node@22`) around us.
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });

describe('npm package', () => {
  it('packs dist, README and LICENSE only, installs, and runs', { timeout: 240_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'cm-pack-'));
    const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', out], ROOT)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = info!.files.map((f) => f.path);
    expect(files.filter((f) => !f.startsWith('dist/')).sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
    expect(files).toContain('dist/index.js');
    // The bundle: the launcher, the program and its chunks, its one-file build for Node 20 (with the libraries it loads
    // late beside it), their source maps and the bundled packages' licenses; nothing else.
    const unexpected = files.filter(
      (f) =>
        f.startsWith('dist/') &&
        !/^dist\/(chunks\/)?[\w-]+\.m?js(\.map)?$/.test(f) &&
        f !== 'dist/package.json' &&
        !/^dist\/(vendor\/)?[\w-]+\.cjs(\.map)?$/.test(f) &&
        f !== 'dist/THIRD-PARTY-NOTICES.txt',
    );
    expect(unexpected).toEqual([]);
    expect(files).toContain('dist/THIRD-PARTY-NOTICES.txt');

    const app = mkdtempSync(join(tmpdir(), 'cm-install-'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(out, info!.filename)], app);
    // Self-contained: the bundle brings its libraries, so installing it installs nothing else.
    const installed = JSON.parse(npm(['ls', '--all', '--json'], app)) as {
      dependencies: Record<string, { dependencies?: object }>;
    };
    expect(Object.keys(installed.dependencies)).toEqual(['compute-mcp']);
    expect(installed.dependencies['compute-mcp']!.dependencies ?? {}).toEqual({});

    const v = spawnSync('npx', ['--no-install', 'compute-mcp', '--version'], {
      cwd: app,
      env: ENV,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(VERSION);

    const transport = new StdioClientTransport({
      command: join(app, 'node_modules/.bin/compute-mcp'),
      args: ['--emulate'],
      cwd: app,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'pkg', version: '0' });
    await client.connect(transport);
    expect((await client.listTools()).tools).toHaveLength(14);
    await client.close();
  });
});
