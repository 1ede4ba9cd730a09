/**
 * The launcher (src/launch.cts) runs the one-file build with a V8 code cache kept in the user's cache directory. Made
 * once, used after, made again when V8 refuses it, and never kept where others could change it (cached code runs as
 * the user).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, requireBuilt, startCli, type CliServer } from '../helpers/cli.js';
import { until } from './serve.js';

beforeAll(requireBuilt);
let servers: CliServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

const serve = async (cacheHome: string, env: Record<string, string> = {}) => {
  const s = await startCli(['--emulate'], { XDG_CACHE_HOME: cacheHome, ...env });
  servers.push(s);
  // The server works, whatever its cache: tools are listed.
  expect((await s.client.listTools()).tools.length).toBeGreaterThan(5);
  return s;
};
const files = (dir: string) => {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.cache'));
  } catch {
    return [];
  }
};
/** The full cache is written two seconds after start; a start that does not write must be given that long too. */
const afterWriteTime = () => new Promise((r) => setTimeout(r, 3_000));

describe('the code cache', () => {
  it('is made once (0600 in a 0700 directory), used by later starts, and made again when V8 refuses it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cm-cache-'));
    const dir = join(home, 'compute-mcp');
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'cli-1-1-v8-0.cache'), 'an older build'); // removed when this build's cache is made
    await serve(home);
    // An early cache right away (for starts that are ended at once), the full one once start-up has run.
    const name = await until(() => files(dir).find((f) => !f.includes('.early.')), 'the full cache file');
    expect(files(dir).filter((f) => f.includes('.early.'))).toHaveLength(1);
    expect(files(dir)).not.toContain('cli-1-1-v8-0.cache');
    const file = join(dir, name);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const made = statSync(file).mtimeMs;
    await servers.pop()!.close();

    await serve(home);
    await afterWriteTime();
    expect(statSync(file).mtimeMs).toBe(made); // used, not made again
    await servers.pop()!.close();

    writeFileSync(file, 'not a V8 code cache');
    await serve(home);
    await until(() => readFileSync(file).length > 1_000, 'the refused cache made again');
  }, 30_000);

  it('is made again by a server of another mode, which adds what it compiled, and then settles', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cm-cache-'));
    const dir = join(home, 'compute-mcp');
    const fullCache = () => files(dir).find((f) => !f.includes('.early.'));
    const credentials = await startCli([], { XDG_CACHE_HOME: home, GENESISCLOUD_API_TOKEN: 'cache-test-0123456789' });
    servers.push(credentials);
    expect((await credentials.client.listTools()).tools.length).toBeGreaterThan(5);
    const file = join(dir, await until(fullCache, 'the full cache'));
    const before = statSync(file);
    await servers.pop()!.close();

    await serve(home); // --emulate: the emulators' code was not in it
    await until(() => (statSync(file).size > before.size ? true : undefined), 'the cache made again, larger');
    const grown = statSync(file).mtimeMs;
    await servers.pop()!.close();

    await serve(home);
    await afterWriteTime();
    expect(statSync(file).mtimeMs).toBe(grown); // it holds both now: not made again
  }, 30_000);

  it('is not kept in a directory others may write, nor when COMPUTE_MCP_CODE_CACHE=off', async () => {
    const open = mkdtempSync(join(tmpdir(), 'cm-cache-'));
    mkdirSync(join(open, 'compute-mcp'));
    chmodSync(join(open, 'compute-mcp'), 0o777);
    const off = mkdtempSync(join(tmpdir(), 'cm-cache-'));
    await Promise.all([serve(open), serve(off, { COMPUTE_MCP_CODE_CACHE: 'off' })]);
    await afterWriteTime();
    expect(files(join(open, 'compute-mcp'))).toEqual([]);
    expect(files(join(off, 'compute-mcp'))).toEqual([]);
  }, 30_000);

  it("never runs another build's cache, even one of the same length and time (as npm installs them)", async () => {
    const cache = mkdtempSync(join(tmpdir(), 'cm-cache-'));
    const dist = join(mkdtempSync(join(tmpdir(), 'cm-dist-')), 'dist');
    cpSync(join(CLI, '..'), dist, { recursive: true });
    const version = () =>
      spawnSync(process.execPath, [join(dist, 'index.js'), '--version'], {
        env: { PATH: process.env.PATH ?? '', HOME: cache, XDG_CACHE_HOME: cache },
        encoding: 'utf8',
      }).stdout.trim();
    const file = join(dist, 'cli.cjs');
    const launcher = join(dist, 'index.js');
    const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 24);
    const source = readFileSync(file, 'latin1');
    // The build wrote the digest of the cli.cjs beside it into the launcher: the cache's name.
    expect(readFileSync(launcher, 'utf8')).toContain(digest(source));
    const times = [file, launcher].map((f) => [f, statSync(f)] as const);
    expect(version()).toMatch(/^\d+\.\d+\.\d+$/);
    // A short command leaves an early cache only: the full one is a server's, made once it has served a while.
    expect(files(join(cache, 'compute-mcp'))).toEqual([expect.stringMatching(/\.early\.cache$/)]);
    // Another build, as an upgrade installs it: one string changed, same length, same times, and its launcher.
    const was = JSON.parse(readFileSync(join(CLI, '../../package.json'), 'utf8')).version as string;
    const other = '9'.repeat(was.length - 4).padStart(was.length, '9.9.');
    expect(source).toContain(`"${was}"`);
    const next = source.replace(`"${was}"`, `"${other}"`);
    writeFileSync(file, next, 'latin1');
    writeFileSync(launcher, readFileSync(launcher, 'utf8').replace(digest(source), digest(next)));
    for (const [f, { atime, mtime }] of times) utimesSync(f, atime, mtime);
    expect(version()).toBe(other);

    // Changed in place, the launcher left as it was: an editor gives the file a new time, so a new cache.
    const third = other.replace(/^9/, '8');
    writeFileSync(file, next.replace(`"${other}"`, `"${third}"`), 'latin1');
    expect(version()).toBe(third);
    // Changed in place with its time and length kept: V8 would take the cache, but a process that has run for two
    // seconds finds the file's digest is not the build's and removes it; every start after that compiles afresh.
    const { atime, mtime } = statSync(file);
    const fourth = third.replace(/^8/, '7');
    writeFileSync(file, next.replace(`"${other}"`, `"${fourth}"`), 'latin1');
    utimesSync(file, atime, mtime);
    const server = spawn(process.execPath, [launcher, '--emulate'], {
      env: { PATH: process.env.PATH ?? '', HOME: cache, XDG_CACHE_HOME: cache, LOG_LEVEL: 'silent' },
    });
    await new Promise((r) => setTimeout(r, 3_000));
    server.kill();
    expect(version()).toBe(fourth);
    expect(version()).toBe(fourth);
  }, 30_000);
});
