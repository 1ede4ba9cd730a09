/**
 * `compute-mcp setup CLIENT` from the built CLI, on temporary copies of each client's config file: printed or merged
 * with --write (other servers and settings kept, a backup of the file as it was, nothing written twice), keys never in
 * clear (VS Code password inputs, environment references, left out for Claude Desktop), a malformed file refused with
 * its line and column and left as it was; and the entry written starts the server when a client expands it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJson } from '../../src/cli/jsonfile.js';
import { BUILT_CLOUDS } from '../../src/providers/clouds.js';
import { CLI, requireBuilt } from '../helpers/cli.js';

const SECRET = 'sk-live-do-not-write-me-0123456789';
const CLIENTS = ['claude-code', 'claude-desktop', 'vscode', 'cursor'] as const;
type ClientName = (typeof CLIENTS)[number];
const serversKey = (c: ClientName) => (c === 'vscode' ? 'servers' : 'mcpServers');

interface Entry {
  type?: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
}
type ConfigFile = Record<string, unknown> & { inputs?: { id: string; password?: boolean; description: string }[] };

/** Runs the built CLI with a clean environment plus `env`; HOME is a fresh directory so no real file is touched. */
function setup(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const home = mkdtempSync(join(tmpdir(), 'cm-setup-home-'));
  const r = spawnSync(process.execPath, [CLI, 'setup', ...args], {
    cwd: cwd ?? home,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), ...env },
    timeout: 30_000,
  });
  return { ...r, home };
}

const tmpFile = (name: string, text?: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'cm-setup-')), name);
  if (text !== undefined) writeFileSync(file, text);
  return file;
};
const backupsOf = (file: string) =>
  readdirSync(join(file, '..')).filter((f) => f.startsWith(`${file.split('/').pop()!}.bak-`));
const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as ConfigFile;
const entryOf = (c: ClientName, cfg: ConfigFile) => (cfg[serversKey(c)] as Record<string, Entry>).compute!;

/** Each client's file as people have it: another server, and settings of the client's own. */
const EXISTING: Record<ClientName, object> = {
  'claude-code': { mcpServers: { github: { type: 'http', url: 'https://api.example.com/mcp' } } },
  'claude-desktop': {
    globalShortcut: 'Ctrl+Space',
    mcpServers: { filesystem: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'] } },
  },
  vscode: {
    inputs: [{ type: 'promptString', id: 'gh-token', description: 'GitHub token', password: true }],
    servers: { github: { type: 'stdio', command: 'gh-mcp', env: { GH_TOKEN: '${input:gh-token}' } } },
  },
  cursor: { mcpServers: { other: { command: 'node', args: ['other.js'], env: { X: '${env:X}' } } } },
};

/** What a client does with the references before starting the server: inputs and env refs become values. */
function expand(value: string, inputs: Record<string, string>, env: Record<string, string>): string {
  return value
    .replace(/\$\{input:([^}]+)\}/g, (_, id: string) => inputs[id] ?? '')
    .replace(/\$\{env:([^}]+)\}/g, (_, k: string) => env[k] ?? '')
    .replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_, k: string, d?: string) => env[k] ?? d ?? '');
}

async function startEntry(e: Entry, values: { inputs?: Record<string, string>; env?: Record<string, string> } = {}) {
  const env = Object.fromEntries(
    Object.entries(e.env ?? {}).map(([k, v]) => [k, expand(v, values.inputs ?? {}, values.env ?? {})]),
  );
  const transport = new StdioClientTransport({
    command: e.command === 'node' ? process.execPath : e.command,
    args: e.args,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: mkdtempSync(join(tmpdir(), 'cm-setup-run-')),
      COMPUTE_MCP_EMULATOR_PACE: 'instant',
      ...env,
    },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'setup-check', version: '0' });
  await client.connect(transport);
  try {
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    return (await client.callTool({ name: 'list_providers', arguments: {} })).structuredContent as {
      items: { id: string; enabled: boolean; mode: string | null }[];
    };
  } finally {
    await client.close();
  }
}

beforeAll(() => requireBuilt());

describe('compute-mcp setup: printing', () => {
  it.each(CLIENTS)('%s: prints the entry on stdout and where it goes on stderr; keys by reference', (client) => {
    const r = setup([client], { GENESISCLOUD_API_TOKEN: SECRET });
    expect(r.status, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as ConfigFile;
    const e = entryOf(client, printed);
    expect(e).toMatchObject({ command: 'node', args: [CLI] });
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toContain(`compute-mcp setup ${client} --write`);
    const token = e.env?.GENESISCLOUD_API_TOKEN;
    switch (client) {
      case 'vscode':
        expect(token).toBe('${input:genesiscloud-api-token}');
        expect(printed.inputs).toEqual([
          {
            type: 'promptString',
            id: 'genesiscloud-api-token',
            description: 'Genesis Cloud API token',
            password: true,
          },
        ]);
        expect(e.type).toBe('stdio');
        break;
      case 'cursor':
        expect(token).toBe('${env:GENESISCLOUD_API_TOKEN}');
        break;
      case 'claude-code':
        expect(token).toBe('${GENESISCLOUD_API_TOKEN:-}');
        expect(r.stderr).toContain("claude mcp add-json --scope user compute '{");
        break;
      case 'claude-desktop':
        // No secret store in its file: the key is left out, and the user is told where it goes.
        expect(e.env).toBeUndefined();
        expect(r.stderr).toMatch(/GENESISCLOUD_API_TOKEN is left out/);
        expect(r.stderr).toMatch(/\.mcpb/);
        break;
    }
    // Only the clouds whose keys are set here.
    expect(Object.keys(e.env ?? {}).filter((k) => !k.startsWith('GENESISCLOUD_'))).toEqual([]);
  });

  it("passes a setting's value as it is (not a secret) and its cloud's key by reference", () => {
    const r = setup(['vscode', '--cloud', 'mithril'], { MITHRIL_PROJECT: 'proj_123' });
    const e = entryOf('vscode', JSON.parse(r.stdout) as ConfigFile);
    expect(e.env).toEqual({ MITHRIL_API_KEY: '${input:mithril-api-key}', MITHRIL_PROJECT: 'proj_123' });
  });

  it('with no keys set, passes every cloud and says so; --emulate passes none', () => {
    const all = setup(['cursor']);
    const e = entryOf('cursor', JSON.parse(all.stdout) as ConfigFile);
    expect(Object.keys(e.env!).sort()).toEqual(BUILT_CLOUDS.flatMap((c) => [...c.credentials, ...c.settings]).sort());
    expect(all.stderr).toContain('--cloud ID');
    const emu = setup(['cursor', '--emulate', '--read-only']);
    expect(entryOf('cursor', JSON.parse(emu.stdout) as ConfigFile)).toEqual({
      command: 'node',
      args: [CLI, '--emulate', '--read-only'],
    });
  });

  it('refuses an unknown client, an unknown cloud and options of other commands (exit 2)', () => {
    expect(setup(['emacs']).status).toBe(2);
    expect(setup(['emacs']).stderr).toContain('clients: claude-code, claude-desktop, vscode, cursor');
    expect(setup(['cursor', '--cloud', 'nimbus']).stderr).toContain('unknown cloud nimbus');
    expect(setup([]).status).toBe(2);
    const wrong = spawnSync(process.execPath, [CLI, 'doctor', '--write'], { encoding: 'utf8' });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('--write is an option of setup');
  });
});

describe('compute-mcp setup --write', () => {
  it.each(CLIENTS)('%s: creates the file (0600) when there is none', (client) => {
    const file = join(mkdtempSync(join(tmpdir(), 'cm-setup-new-')), 'sub', 'config.json');
    const r = setup([client, '--write', '--config-file', file], { GENESISCLOUD_API_TOKEN: SECRET });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('(new file)');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(SECRET);
    expect(entryOf(client, read(file)).args).toEqual([CLI]);
    expect(backupsOf(file)).toEqual([]);
  });

  it.each(CLIENTS)('%s: keeps the other servers and settings, and backs the file up first', (client) => {
    const original = `${JSON.stringify(EXISTING[client], null, 4)}\n`;
    const file = tmpFile('config.json', original);
    const r = setup([client, '--write', '--config-file', file], { GENESISCLOUD_API_TOKEN: SECRET });
    expect(r.status, r.stderr).toBe(0);
    const after = read(file);
    const key = serversKey(client);
    const before = EXISTING[client] as ConfigFile;
    // Every server and top-level setting that was there is still there, unchanged.
    for (const [name, server] of Object.entries(before[key] as object))
      expect((after[key] as Record<string, unknown>)[name]).toEqual(server);
    for (const k of Object.keys(before).filter((k) => k !== key && k !== 'inputs')) expect(after[k]).toEqual(before[k]);
    if (client === 'vscode') {
      expect(after.inputs!.map((i) => i.id)).toEqual(['gh-token', 'genesiscloud-api-token']);
      expect(after.inputs![1]).toMatchObject({ password: true });
    }
    expect(entryOf(client, after)).toMatchObject({ command: 'node', args: [CLI] });
    expect(readFileSync(file, 'utf8')).not.toContain(SECRET);
    // The file keeps its indentation; the backup is the file as it was, byte for byte.
    expect(readFileSync(file, 'utf8')).toMatch(/^\{\n {4}"/);
    const [backup] = backupsOf(file);
    expect(backup).toBeDefined();
    expect(readFileSync(join(file, '..', backup!), 'utf8')).toBe(original);
    expect(r.stdout).toContain(backup!);

    // Run again: the same entry is already there; nothing is written and no second backup is made.
    const again = setup([client, '--write', '--config-file', file], { GENESISCLOUD_API_TOKEN: SECRET });
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('nothing to change');
    expect(backupsOf(file)).toHaveLength(1);
  });

  it.each(CLIENTS)('%s: refuses a malformed file with its line and column, and leaves it as it was', (client) => {
    const broken = `{\n  "${serversKey(client)}": {\n    "other": { "command": "x" }\n    "more": {}\n  }\n}\n`;
    const file = tmpFile('config.json', broken);
    const r = setup([client, '--write', '--config-file', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('line 4, column 5');
    expect(r.stderr).toContain('nothing was written');
    expect(readFileSync(file, 'utf8')).toBe(broken);
    expect(backupsOf(file)).toEqual([]);
    expect(r.stdout).toBe('');
  });

  it('refuses a VS Code file with comments (JSONC) rather than lose them', () => {
    const jsonc = `{\n  // my servers\n  "servers": {},\n}\n`;
    const file = tmpFile('mcp.json', jsonc);
    const r = setup(['vscode', '--write', '--config-file', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('comments or trailing commas (line 2, column 3)');
    expect(readFileSync(file, 'utf8')).toBe(jsonc);
  });

  it('writes to the OS default path when no --config-file is given (Claude Code: the project .mcp.json)', () => {
    const project = mkdtempSync(join(tmpdir(), 'cm-setup-project-'));
    const r = setup(['claude-code', '--write', '--emulate'], {}, project);
    expect(r.status, r.stderr).toBe(0);
    expect(entryOf('claude-code', read(join(project, '.mcp.json')))).toEqual({
      type: 'stdio',
      command: 'node',
      args: [CLI, '--emulate'],
    });
    const desktop = setup(['claude-desktop', '--write', '--emulate']);
    const file = join(desktop.home, '.config', 'Claude', 'claude_desktop_config.json');
    expect(existsSync(file)).toBe(true);
    expect(desktop.stdout).toContain(file);
  });
});

describe('the entry setup writes starts the server', () => {
  it('claude-desktop --emulate: the emulated clouds', async () => {
    const file = tmpFile('claude_desktop_config.json', JSON.stringify(EXISTING['claude-desktop']));
    expect(setup(['claude-desktop', '--write', '--emulate', '--config-file', file]).status).toBe(0);
    const r = await startEntry(entryOf('claude-desktop', read(file)));
    expect(r.items.filter((p) => p.enabled).map((p) => p.mode)).toEqual(BUILT_CLOUDS.map(() => 'emulated'));
  });

  it.each(['vscode', 'cursor', 'claude-code'] as const)(
    '%s: the key, given where the client takes it, enables its cloud',
    async (client) => {
      const file = tmpFile('config.json');
      expect(setup([client, '--write', '--config-file', file], { GENESISCLOUD_API_TOKEN: SECRET }).status).toBe(0);
      const written = read(file);
      const r = await startEntry(entryOf(client, written), {
        inputs: { 'genesiscloud-api-token': SECRET }, // what the user types into VS Code's password prompt
        env: { GENESISCLOUD_API_TOKEN: SECRET }, // the environment Cursor or Claude Code starts in
      });
      expect(r.items.find((p) => p.id === 'genesiscloud')).toMatchObject({ enabled: true, mode: 'live' });
    },
  );
});

describe("README's set-up section", () => {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Set up in your client'), readme.indexOf('**By hand (reference).**'));
  /** Every `compute-mcp …` command the section shows, as run from npx or from this folder. */
  const commands = [...section.matchAll(/(?:npx -y compute-mcp|node dist\/index\.js) ((?:setup|doctor)[^`#\n]*)/g)].map(
    (m) => m[1]!.trim().split(/\s+/),
  );

  it('leads with the bundle, setup and doctor, before the JSON reference', () => {
    expect(section).toContain('npm run bundle');
    expect(commands.map((c) => c[0])).toEqual(expect.arrayContaining(['setup', 'doctor']));
    expect(section).not.toContain('```json');
  });

  it.each(commands.map((c) => [c.join(' '), c] as const))('runs: compute-mcp %s', (_name, args) => {
    // In a fresh HOME and project folder, so the files it writes are its own; doctor on the emulators (no keys here).
    const home = mkdtempSync(join(tmpdir(), 'cm-readme-home-'));
    const argv = args[0] === 'doctor' ? [...args, '--emulate'] : args;
    const r = spawnSync(process.execPath, [CLI, ...argv], {
      cwd: home,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        XDG_CONFIG_HOME: join(home, '.config'),
        GENESISCLOUD_API_TOKEN: SECRET,
      },
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });
});

describe('the JSON reader behind setup', () => {
  it('gives the line and column of each kind of mistake', () => {
    const at = (text: string, jsonc = false) => {
      try {
        parseJson(text, { jsonc });
        return 'parsed';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(at('')).toMatch(/empty/);
    expect(at('{\n  "a": 1,\n}')).toBe('line 2, column 9: a trailing comma is not allowed in JSON');
    expect(at('{\n  "a": 1,\n}', true)).toBe('parsed');
    expect(at('{"a": "x\n"}')).toMatch(/^line 1, column 7: a string is not closed/);
    expect(at('{"a" 1}')).toMatch(/^line 1, column 6: expected ":"/);
    expect(at('[1, 2')).toMatch(/^line 1, column 6: expected "," or "\]"/);
    expect(at('{} x')).toMatch(/^line 1, column 4: unexpected "x" after the end/);
    expect(at('// c\n{}')).toMatch(/^line 1, column 1: comments are not allowed/);
    expect(parseJson('\uFEFF{"a": [1, -2.5e3, true, null, "\\u00e9"]}')).toEqual({ a: [1, -2500, true, null, 'é'] });
  });
});
