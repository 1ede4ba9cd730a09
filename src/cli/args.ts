/** Command-line parsing: `compute-mcp [serve|call|reap|spend|emulate|demo] [options]`. */
import { parseArgs } from 'node:util';
import type { CloudModule, PlannedCloud } from '../providers/cloud.js';
import type { SetupCommand } from './setup.js';

/** The help text; the clouds are passed in so that parsing a command loads none of them. */
export const usage = (
  clouds: readonly (CloudModule | PlannedCloud)[],
) => `compute-mcp — an MCP server for GPU and VM clouds, with spend guardrails.

Usage:
  compute-mcp [serve] [options]        MCP over stdio (the default)
  compute-mcp --http [HOST:]PORT       MCP over Streamable HTTP at /mcp (127.0.0.1 unless HOST is given;
                                       off loopback COMPUTE_MCP_HTTP_TOKEN is required as a bearer token)
  compute-mcp call TOOL [JSON] [opts]  one tool call; prints the structured result as JSON
                                       (exit 0 ok, 1 tool error, 2 usage)
  compute-mcp reap [--dry-run]         enforce the leases that ran out, once, and exit (for cron or a systemd
                                       timer; exit 0 done, 1 a cloud could not be reached: tried again next time)
  compute-mcp spend [--json]           what runs now, its $/hour, its cost so far and until its lease ends
  compute-mcp spend --html FILE        the same as one self-contained page, with a timeline of VMs and leases
  compute-mcp setup CLIENT [--write]   the entry for claude-code, claude-desktop, vscode or cursor; --write merges
                                       it into the client's config file (a backup first; keys stay out of it)
  compute-mcp doctor [--json]          checks each cloud's keys with a read-only call, the config file, the state
                                       store (directory or database), the clock and Node (exit 0 only when
                                       everything enabled works)
  compute-mcp emulate                  run the cloud emulators and print their base URLs
  compute-mcp demo                     a scripted walkthrough on the emulators

Options:
  --emulate          use the built-in cloud emulators (no credentials needed; real ones are never used)
  --config FILE      policy/config file (or COMPUTE_MCP_CONFIG)
  --read-only        only read tools exist
  --config-file PATH setup: the client's config file to write (default: the client's own, per OS)
  --cloud ID         setup: a cloud whose keys the entry passes (repeatable; default: those set in the env)
  --timeout SECONDS  doctor: how long each cloud may take to answer (default 10)
  -h, --help         this text
  -v, --version      the version

Credentials (env), per cloud:
${clouds.map((c) => `  ${c.id.padEnd(14)} ${[...c.credentials, ...c.settings].join(', ')}`).join('\n')}
<ID>_BASE_URL overrides a cloud's API address. Logs: JSON on stderr, LOG_LEVEL=debug|info|warn.
State: COMPUTE_MCP_STATE_DIR (a directory), or COMPUTE_MCP_DATABASE_URL (PostgreSQL, for replicas).
`;

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'serve'; emulate: boolean; config?: string; readOnly: boolean; http?: string }
  | { kind: 'call'; tool: string; json: string; emulate: boolean; config?: string; readOnly: boolean }
  | { kind: 'reap'; dryRun: boolean; emulate: boolean; config?: string }
  | { kind: 'spend'; json: boolean; html?: string; emulate: boolean; config?: string }
  | ({ kind: 'setup' } & SetupCommand)
  | { kind: 'doctor'; json: boolean; timeoutSeconds: number; emulate: boolean; config?: string }
  | { kind: 'emulate' }
  | { kind: 'demo' };

export class UsageError extends Error {}

/** The clients `compute-mcp setup` writes an entry for. */
export const SETUP_CLIENTS = ['claude-code', 'claude-desktop', 'vscode', 'cursor'] as const;

export function parseCommand(argv: string[], env: NodeJS.ProcessEnv): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        emulate: { type: 'boolean', default: false },
        config: { type: 'string' },
        'read-only': { type: 'boolean', default: false },
        http: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        html: { type: 'string' },
        write: { type: 'boolean', default: false },
        'config-file': { type: 'string' },
        cloud: { type: 'string', multiple: true },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: v, positionals: pos } = parsed;
  if (v.help) return { kind: 'help' };
  if (v.version) return { kind: 'version' };
  const common = {
    emulate: v.emulate ?? false,
    config: v.config ?? env.COMPUTE_MCP_CONFIG,
    readOnly: v['read-only'] ?? false,
  };
  const [cmd = 'serve', ...rest] = pos;
  // Options that only one command takes are refused elsewhere, so a misplaced one is never silently ignored.
  const only = (
    name: 'dry-run' | 'json' | 'html' | 'write' | 'config-file' | 'cloud' | 'timeout',
    ...where: string[]
  ) => {
    if (v[name] && !where.includes(cmd)) throw new UsageError(`--${name} is an option of ${where.join(' and ')}`);
  };
  only('dry-run', 'reap');
  only('json', 'spend', 'doctor');
  only('html', 'spend');
  only('write', 'setup');
  only('config-file', 'setup');
  only('cloud', 'setup');
  only('timeout', 'doctor');
  if (rest.length && cmd !== 'call' && cmd !== 'setup') throw new UsageError(`unexpected argument ${rest[0]}`);
  switch (cmd) {
    case 'serve':
      return { kind: 'serve', ...common, ...(v.http !== undefined ? { http: v.http } : {}) };
    case 'call': {
      const [tool, json = '{}', ...extra] = rest;
      if (!tool) throw new UsageError('call needs a tool name: compute-mcp call TOOL [JSON]');
      if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
      return { kind: 'call', tool, json, ...common };
    }
    case 'reap':
      return { kind: 'reap', dryRun: v['dry-run'] ?? false, emulate: common.emulate, config: common.config };
    case 'spend':
      return {
        kind: 'spend',
        json: v.json ?? false,
        ...(v.html !== undefined ? { html: v.html } : {}),
        emulate: common.emulate,
        config: common.config,
      };
    case 'setup': {
      const [client, ...extra] = rest;
      if (!client) throw new UsageError(`setup needs a client: compute-mcp setup ${SETUP_CLIENTS.join('|')}`);
      if (!(SETUP_CLIENTS as readonly string[]).includes(client))
        throw new UsageError(`unknown client ${client}; clients: ${SETUP_CLIENTS.join(', ')}`);
      if (extra.length) throw new UsageError(`unexpected argument ${extra[0]}`);
      return {
        kind: 'setup',
        client,
        write: v.write ?? false,
        ...(v['config-file'] !== undefined ? { configFile: v['config-file'] } : {}),
        clouds: (v.cloud ?? []).flatMap((c) => c.split(',')).filter(Boolean),
        ...common,
      };
    }
    case 'doctor': {
      const timeoutSeconds = v.timeout === undefined ? 10 : Number(v.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 300)
        throw new UsageError(`--timeout takes seconds, more than 0 and at most 300, not ${v.timeout}`);
      return { kind: 'doctor', json: v.json ?? false, timeoutSeconds, emulate: common.emulate, config: common.config };
    }
    case 'emulate':
      return { kind: 'emulate' };
    case 'demo':
      return { kind: 'demo' };
    default:
      throw new UsageError(`unknown command ${cmd}`);
  }
}
