/**
 * `compute-mcp setup CLIENT [--write]`: the client entry that starts this server, printed, or merged into the
 * client's config file. Keys are never written in clear: VS Code gets password inputs (kept in its secret storage),
 * Claude Code and Cursor get references to environment variables, and Claude Desktop, whose config file has no such
 * place, gets none (the user is told where keys go: the bundle, which keeps them in the OS keychain).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';
import type { CloudModule } from '../providers/cloud.js';
import { BUILT_CLOUDS } from '../providers/clouds.js';
import { VERSION } from '../version.js';
import { SETUP_CLIENTS, UsageError } from './args.js';
import { JsonSyntaxError, indentOf, parseJson, writeWithBackup } from './jsonfile.js';

export type SetupClient = (typeof SETUP_CLIENTS)[number];

/** The name of our entry in every client's list of servers. */
export const SERVER_NAME = 'compute';

export interface SetupCommand {
  client: string;
  write: boolean;
  configFile?: string;
  clouds: string[];
  emulate: boolean;
  config?: string;
  readOnly: boolean;
}

/** A config file that cannot be merged into: nothing was written. */
export class SetupRefused extends Error {}

interface Platform {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The path of the running compute-mcp entry point (process.argv[1]). */
  script: string;
}

/** The client's own config file: per OS for the apps, the project's `.mcp.json` for Claude Code. */
export function defaultConfigFile(client: SetupClient, p: Platform): string {
  const home = p.env.HOME || p.env.USERPROFILE || homedir();
  const appData = p.env.APPDATA || join(home, 'AppData', 'Roaming');
  const xdg = p.env.XDG_CONFIG_HOME || join(home, '.config');
  const appDir =
    p.platform === 'darwin' ? join(home, 'Library', 'Application Support') : p.platform === 'win32' ? appData : xdg;
  switch (client) {
    case 'claude-code':
      return join(p.cwd, '.mcp.json');
    case 'claude-desktop':
      return join(appDir, 'Claude', 'claude_desktop_config.json');
    case 'vscode':
      return join(appDir, 'Code', 'User', 'mcp.json');
    case 'cursor':
      return join(home, '.cursor', 'mcp.json');
  }
}

/** How the client starts this server: the installed entry point with node, or npx when run from npx's cache. */
export function launchCommand(script: string): { command: string; args: string[] } {
  let path = script;
  try {
    path = realpathSync(script);
  } catch {
    // a path that cannot be resolved is used as given
  }
  if (path.includes(`${sep}_npx${sep}`)) return { command: 'npx', args: ['-y', `compute-mcp@${VERSION}`] };
  return { command: 'node', args: [path] };
}

interface Variable {
  cloud: CloudModule;
  name: string;
  secret: boolean;
  /** "API token", "project", … */
  label: string;
  /** VS Code input id, e.g. "<cloud id>-api-token". */
  inputId: string;
}

function variablesOf(cloud: CloudModule): Variable[] {
  const prefix = `${cloud.id.toUpperCase()}_`;
  return [...cloud.credentials.map((n) => [n, true] as const), ...cloud.settings.map((n) => [n, false] as const)].map(
    ([name, secret]) => {
      const suffix = name.startsWith(prefix) ? name.slice(prefix.length) : name;
      const words = suffix.split('_').map((w) => (['API', 'ID', 'URL'].includes(w) ? w : w.toLowerCase()));
      return {
        cloud,
        name,
        secret,
        label: words.join(' '),
        inputId: `${cloud.id}-${words.join('-').toLowerCase()}`,
      };
    },
  );
}

/** The clouds the entry passes keys for: those named, else those with a variable set here, else every one. */
function chooseClouds(named: string[], env: NodeJS.ProcessEnv): { clouds: CloudModule[]; note?: string } {
  if (named.length) {
    const unknown = named.filter((id) => !BUILT_CLOUDS.some((c) => c.id === id));
    if (unknown.length)
      throw new UsageError(`unknown cloud ${unknown.join(', ')}; clouds: ${BUILT_CLOUDS.map((c) => c.id).join(', ')}`);
    return { clouds: BUILT_CLOUDS.filter((c) => named.includes(c.id)) };
  }
  const set = BUILT_CLOUDS.filter((c) => [...c.credentials, ...c.settings].some((k) => env[k]));
  if (set.length) return { clouds: set };
  return {
    clouds: [...BUILT_CLOUDS],
    note: `No cloud's keys are set in this shell, so the entry has every cloud's; pick some with --cloud ID (${BUILT_CLOUDS.map((c) => c.id).join(', ')}).`,
  };
}

export interface SetupPlan {
  client: SetupClient;
  /** The top-level key that holds servers: "servers" in VS Code, "mcpServers" elsewhere. */
  serversKey: 'servers' | 'mcpServers';
  entry: Record<string, unknown>;
  /** VS Code only: the inputs the entry refers to. */
  inputs: Record<string, unknown>[];
  /** What the user must know: where keys go, what was left out. */
  notes: string[];
}

/** The entry for one client. Pure: the environment and paths come in `p`. */
export function planSetup(cmd: SetupCommand, p: Platform): SetupPlan {
  const client = cmd.client as SetupClient;
  const launch = launchCommand(p.script);
  const args = [...launch.args];
  if (cmd.emulate) args.push('--emulate');
  if (cmd.config) args.push('--config', isAbsolute(cmd.config) ? cmd.config : resolve(p.cwd, cmd.config));
  if (cmd.readOnly) args.push('--read-only');
  const notes: string[] = [];
  const env: Record<string, string> = {};
  const inputs: Record<string, unknown>[] = [];
  const omitted: string[] = [];
  if (cmd.emulate) notes.push('The entry runs on the built-in emulators (--emulate): no keys are needed or passed.');
  else {
    const chosen = chooseClouds(cmd.clouds, p.env);
    if (chosen.note) notes.push(chosen.note);
    for (const v of chosen.clouds.flatMap(variablesOf)) {
      const here = p.env[v.name];
      // Settings (project, region, …) are not secret: their value here is written as it is, so apps started from a
      // dock or menu (without the shell's environment) get it too.
      if (!v.secret && here) {
        env[v.name] = here;
        continue;
      }
      switch (client) {
        case 'vscode':
          inputs.push({
            type: 'promptString',
            id: v.inputId,
            description: `${v.cloud.name} ${v.label}`,
            ...(v.secret ? { password: true } : {}),
          });
          env[v.name] = `\${input:${v.inputId}}`;
          break;
        case 'cursor':
          env[v.name] = `\${env:${v.name}}`;
          break;
        case 'claude-code':
          env[v.name] = `\${${v.name}:-}`;
          break;
        case 'claude-desktop':
          omitted.push(v.name);
          break;
      }
    }
    const secrets = chosen.clouds.flatMap(variablesOf).filter((v) => v.secret);
    if (client === 'vscode' && inputs.length)
      notes.push('VS Code asks for each key the first time the server starts and keeps it in its secret storage.');
    if (client === 'cursor' && secrets.length)
      notes.push(
        `Cursor reads ${secrets.map((v) => v.name).join(', ')} from its own environment: set them where Cursor is started (your shell profile, or the launchctl/systemd environment of a desktop session).`,
      );
    if (client === 'claude-code' && secrets.length)
      notes.push(
        `Claude Code expands \${${secrets[0]!.name}:-} and the others from the environment it starts in: export ${secrets.map((v) => v.name).join(', ')} in your shell.`,
      );
    if (client === 'claude-desktop' && omitted.length)
      notes.push(
        `Claude Desktop keeps this file in plain text and cannot refer to a secret store, so ${omitted.join(', ')} ${omitted.length === 1 ? 'is' : 'are'} left out. ` +
          `Install the bundle instead (compute-mcp-${VERSION}.mcpb: double-click it or drag it into Settings → Extensions), which keeps keys in the OS keychain; ` +
          'or add them to this entry\'s "env" yourself.',
      );
  }
  const entry: Record<string, unknown> = {
    ...(client === 'vscode' || client === 'claude-code' ? { type: 'stdio' } : {}),
    command: launch.command,
    args,
    ...(Object.keys(env).length ? { env } : {}),
  };
  if (client === 'claude-desktop')
    notes.push(
      'Claude Desktop cannot show confirmation dialogs: costly creates come back as confirmation_required and Claude asks you in the chat. Restart Claude Desktop to load the entry.',
    );
  if (client === 'claude-code')
    notes.push(
      `Claude Code asks you to approve a project's .mcp.json servers on first use. For every project instead: claude mcp add-json --scope user ${SERVER_NAME} ${shellQuote(JSON.stringify(entry))}`,
    );
  return { client, serversKey: client === 'vscode' ? 'servers' : 'mcpServers', entry, inputs, notes };
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** What the plan adds to a config file: the entry under our name, and for VS Code its inputs. */
export function fragmentOf(plan: SetupPlan): Record<string, unknown> {
  return {
    ...(plan.inputs.length ? { inputs: plan.inputs } : {}),
    [plan.serversKey]: { [SERVER_NAME]: plan.entry },
  };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `current` with the plan merged in: other servers, inputs and keys are kept; our entry and inputs are replaced. */
export function mergeInto(current: Json, plan: SetupPlan, file: string): Json {
  const servers = current[plan.serversKey] ?? {};
  if (!isObject(servers))
    throw new SetupRefused(`${file}: "${plan.serversKey}" is not an object; fix the file, then run setup again`);
  const out: Json = { ...current, [plan.serversKey]: { ...servers, [SERVER_NAME]: plan.entry } };
  if (plan.inputs.length) {
    const inputs = current.inputs ?? [];
    if (!Array.isArray(inputs))
      throw new SetupRefused(`${file}: "inputs" is not an array; fix the file, then run setup again`);
    const ours = new Set(plan.inputs.map((i) => i.id));
    out.inputs = [...inputs.filter((i) => !(isObject(i) && ours.has(i.id as string))), ...plan.inputs];
  }
  return out;
}

/** Reads a config file to merge into: absent is empty; a malformed one is refused with where it is broken. */
export function readConfigFile(file: string, client: SetupClient): { json: Json; text?: string } {
  if (!existsSync(file)) return { json: {} };
  const text = readFileSync(file, 'utf8');
  if (!text.trim()) return { json: {}, text };
  let json: unknown;
  try {
    json = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    if (client === 'vscode') {
      let jsonc = false;
      try {
        parseJson(text, { jsonc: true });
        jsonc = true;
      } catch {
        // broken as JSONC too: reported as it is below
      }
      if (jsonc)
        throw new SetupRefused(
          `${file} has comments or trailing commas (line ${e.line}, column ${e.column}), which rewriting it would lose; nothing was written. Add the entry printed by \`compute-mcp setup vscode\` by hand.`,
        );
    }
    throw new SetupRefused(
      `${file} is not valid JSON at line ${e.line}, column ${e.column}: ${e.reason}; nothing was written. Fix the file (or move it away), then run setup again.`,
    );
  }
  if (!isObject(json)) throw new SetupRefused(`${file} does not hold a JSON object; nothing was written.`);
  return { json, text };
}

/** Merges the plan into the file (a backup first); says whether anything changed. */
export function writeSetup(
  plan: SetupPlan,
  file: string,
): { changed: boolean; created: boolean; replaced: boolean; backup?: string } {
  const { json, text } = readConfigFile(file, plan.client);
  const servers = json[plan.serversKey];
  const replaced = isObject(servers) && SERVER_NAME in servers;
  const merged = mergeInto(json, plan, file);
  const out = `${JSON.stringify(merged, null, text ? indentOf(text) : 2)}\n`;
  if (text !== undefined && JSON.stringify(merged) === JSON.stringify(json))
    return { changed: false, created: false, replaced };
  const { backup } = writeWithBackup(file, out);
  return { changed: true, created: text === undefined, replaced, ...(backup ? { backup } : {}) };
}

export async function runSetup(cmd: SetupCommand): Promise<number> {
  const p: Platform = { platform: process.platform, env: process.env, cwd: process.cwd(), script: process.argv[1]! };
  const plan = planSetup(cmd, p);
  const file = cmd.configFile ? resolve(cmd.configFile) : defaultConfigFile(plan.client, p);
  if (!cmd.write) {
    process.stdout.write(`${JSON.stringify(fragmentOf(plan), null, 2)}\n`);
    const where = `Merge it into ${file}, or run: compute-mcp setup ${plan.client} --write`;
    process.stderr.write([where, ...plan.notes].map((n) => `• ${n}\n`).join(''));
    return 0;
  }
  let r;
  try {
    r = writeSetup(plan, file);
  } catch (e) {
    if (e instanceof SetupRefused) {
      process.stderr.write(`compute-mcp setup: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const what = !r.changed
    ? `${file} already has this "${SERVER_NAME}" entry: nothing to change.`
    : `${r.replaced ? 'Replaced' : 'Added'} the "${SERVER_NAME}" server in ${file}${r.created ? ' (new file)' : ''}` +
      `${r.backup ? `; the file as it was is in ${r.backup}` : ''}.`;
  process.stdout.write([what, ...plan.notes].map((n) => `• ${n}\n`).join(''));
  return 0;
}
