/**
 * `compute-mcp doctor [--json] [--emulate] [--timeout SECONDS]`: is this installation ready? For each cloud, whether
 * its keys are set and a read-only call that proves they work (with its latency, or the cloud's error in a sentence),
 * and the clock against the cloud's `Date` header; then the config file, the state directory (read, never changed)
 * and Node's version. Exit 0 only when everything enabled works.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { accessSync, constants, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import { ConfigError, loadConfig, parseConfig, type Config } from '../config.js';
import { ComputeError } from '../domain/errors.js';
import type { Logger } from '../log.js';
import { CLOUDS, isBuilt } from '../providers/clouds.js';
import { ProviderSet, baseUrlEnv } from '../providers/index.js';
import { defaultStateDir } from '../state/dir.js';
import { VERSION } from '../version.js';

export type Status = 'ok' | 'warn' | 'fail' | 'off';

export interface Check {
  status: Status;
  message: string;
  /** What to do about it. */
  hint?: string;
}

export interface CloudCheck extends Check {
  id: string;
  name: string;
  mode: 'live' | 'emulated' | null;
  base_url?: string;
  /** Each credential and setting: set or not (values are never shown). */
  keys: Record<string, boolean>;
  /** The read-only call made, and how long it took. */
  call?: { what: string; ms: number; ok: boolean };
  /** Local clock minus the cloud's Date header, in seconds (positive: this machine is ahead). */
  clock_skew_seconds?: number;
}

export interface DoctorReport {
  ok: boolean;
  version: string;
  node: Check & { version: string; engines: string };
  config: Check & { file: string | null };
  state: Check & { dir: string };
  clock: Check;
  clouds: CloudCheck[];
}

/** A clock this far off makes lease ends and `expires_at` times wrong by as much: a warning, then a failure. */
const SKEW_WARN_S = 30;
const SKEW_FAIL_S = 300;

export interface DoctorOptions {
  emulate: boolean;
  config?: string;
  timeoutSeconds: number;
  env: NodeJS.ProcessEnv;
  log: Logger;
}

export async function doctor(opts: DoctorOptions): Promise<DoctorReport> {
  const node = checkNode(process.versions.node, pkg.engines.node);
  const { check: config, config: loaded } = checkConfig(opts.config);
  const state = opts.env.COMPUTE_MCP_DATABASE_URL
    ? await checkDatabase(opts.env.COMPUTE_MCP_DATABASE_URL, opts.timeoutSeconds)
    : checkState(opts);
  const clouds = await checkClouds(opts, loaded);
  const clock = checkClock(clouds);
  const enabled = clouds.filter((c) => c.status !== 'off');
  const none: Check[] = enabled.length
    ? []
    : [{ status: 'fail', message: 'no cloud is enabled', hint: 'Set the keys of a cloud, or try --emulate.' }];
  const ok = [node, config, state, clock, ...clouds, ...none].every((c) => c.status !== 'fail');
  return { ok, version: VERSION, node, config, state, clock, clouds };
}

// --- Node -------------------------------------------------------------------------------------------------------

type Semver = [number, number, number];
const semver = (v: string): Semver => {
  const [a = 0, b = 0, c = 0] = v.replace(/^v/, '').split(/[.+-]/).map(Number);
  return [a, b, c];
};
const cmp = (a: Semver, b: Semver) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether `version` satisfies a range of `^x.y.z`, `>=x.y.z` or `x.y.z` alternatives joined by `||`. */
export function satisfies(version: string, range: string): boolean {
  const v = semver(version);
  return range.split('||').some((alt) =>
    alt
      .trim()
      .split(/\s+/)
      .every((part) => {
        const m = /^(\^|>=|>|<=|<|=)?v?(\d+(?:\.\d+){0,2})$/.exec(part);
        if (!m) return false;
        const want = semver(m[2]!);
        const c = cmp(v, want);
        switch (m[1]) {
          case '^':
            return c >= 0 && v[0] === want[0];
          case '>=':
            return c >= 0;
          case '>':
            return c > 0;
          case '<=':
            return c <= 0;
          case '<':
            return c < 0;
          default:
            return c === 0;
        }
      }),
  );
}

function checkNode(version: string, engines: string): DoctorReport['node'] {
  const ok = satisfies(version, engines);
  return {
    status: ok ? 'ok' : 'fail',
    version,
    engines,
    message: `Node ${version}${ok ? '' : ' is not supported'} (this version needs ${engines})`,
    ...(ok ? {} : { hint: 'Install Node 20.18.1 or newer, 22 or 24.' }),
  };
}

// --- config -----------------------------------------------------------------------------------------------------

function checkConfig(file: string | undefined): { check: DoctorReport['config']; config: Config } {
  try {
    const config = loadConfig(file);
    const message = file ? `${file} is valid` : 'no config file (--config or COMPUTE_MCP_CONFIG): the defaults apply';
    return { check: { status: 'ok', file: file ?? null, message }, config };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return {
      check: {
        status: 'fail',
        file: file ?? null,
        message: e.message,
        hint: 'The server refuses to start with this file: fix the fields named.',
      },
      config: parseConfig({}),
    };
  }
}

// --- state store ------------------------------------------------------------------------------------------------

/**
 * The database of team mode (COMPUTE_MCP_DATABASE_URL), read without changing anything: it answers, as whom, and its
 * schema is one this server can use (the server creates or migrates it at start).
 */
async function checkDatabase(url: string, timeoutSeconds: number): Promise<DoctorReport['state']> {
  const [{ default: pg }, { redactUrl, MIGRATIONS }] = await Promise.all([
    import('pg'),
    import('../state/postgres.js'),
  ]);
  const dir = redactUrl(url);
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutSeconds * 1000,
    statement_timeout: timeoutSeconds * 1000,
    application_name: 'compute-mcp doctor',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const who = await client.query<{ user: string; version: string }>(
      "SELECT current_user AS user, current_setting('server_version') AS version",
    );
    const table = await client.query<{ t: string | null }>("SELECT to_regclass('compute_mcp.migrations')::text AS t");
    const have = table.rows[0]?.t
      ? ((await client.query<{ v: number | null }>('SELECT max(version) AS v FROM compute_mcp.migrations')).rows[0]
          ?.v ?? 0)
      : 0;
    const { user, version } = who.rows[0]!;
    if (have > MIGRATIONS.length)
      return {
        status: 'fail',
        dir,
        message: `${dir} has schema version ${have}, newer than this compute-mcp knows (${MIGRATIONS.length})`,
        hint: 'Upgrade compute-mcp to the version the other replicas run.',
      };
    return {
      status: 'ok',
      dir,
      message:
        `PostgreSQL ${version} at ${dir} answers as ${user}; ` +
        (have === MIGRATIONS.length
          ? `schema version ${have}, current`
          : `schema version ${have}: the server migrates it to ${MIGRATIONS.length} at start`),
    };
  } catch (e) {
    return {
      status: 'fail',
      dir,
      message: `the state database at ${dir} cannot be used: ${(e as Error).message}`,
      hint: 'Check COMPUTE_MCP_DATABASE_URL (host, port, user, password, database) and that the database is up.',
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What the server would find in its state directory, read without changing anything (src/state/dir.ts fixes). */
function checkState(opts: DoctorOptions): DoctorReport['state'] {
  if (opts.emulate && !opts.env.COMPUTE_MCP_STATE_DIR)
    return {
      status: 'ok',
      dir: '(temporary)',
      message: 'emulator mode: each run gets a fresh temporary state directory (COMPUTE_MCP_STATE_DIR sets one)',
    };
  const dir = defaultStateDir(opts.env);
  const fail = (message: string, hint: string) => ({ status: 'fail' as const, dir, message, hint });
  let st;
  try {
    st = lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      return { status: 'ok', dir, message: `${dir} does not exist yet: the server creates it (mode 700) at start` };
    return fail(
      `${dir} cannot be read: ${(e as Error).message}`,
      'Point COMPUTE_MCP_STATE_DIR at a directory of yours.',
    );
  }
  if (!st.isDirectory())
    return fail(`${dir} is not a directory (a link?)`, 'Point COMPUTE_MCP_STATE_DIR at a directory of yours.');
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && st.uid !== uid)
    return fail(
      `${dir} belongs to another user (uid ${st.uid}, you are ${uid}): the server refuses it`,
      'Use a state directory of your own (COMPUTE_MCP_STATE_DIR).',
    );
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    return fail(`${dir} is not writable by you`, `Run chmod 700 ${dir}.`);
  }
  const mode = st.mode & 0o777;
  const loose: string[] = [];
  const links: string[] = [];
  let files = 0;
  for (const name of readdirSync(dir)) {
    const f = lstatSync(join(dir, name));
    if (f.isSymbolicLink()) links.push(name);
    else if (f.isFile()) {
      files++;
      if (f.mode & 0o077) loose.push(`${name} (${(f.mode & 0o777).toString(8)})`);
    }
  }
  if (links.length)
    return fail(
      `${dir} holds links (${links.join(', ')}): the server refuses them`,
      'State files must be regular files: remove the links.',
    );
  const owner = uid !== undefined ? `yours (uid ${uid})` : 'yours';
  if (mode & 0o077 || loose.length)
    return {
      status: 'warn',
      dir,
      message:
        `${dir} is ${owner} but readable by others: ` +
        [
          mode & 0o077 ? `the directory has mode ${mode.toString(8)}` : '',
          loose.length ? `files ${loose.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
      hint: 'The server narrows them to 700/600 when it starts; or run chmod now.',
    };
  return { status: 'ok', dir, message: `${dir}: ${owner}, mode ${mode.toString(8)}, ${files} file(s), all 600` };
}

// --- clouds -----------------------------------------------------------------------------------------------------

interface Seen {
  date?: string;
  at?: number;
}

async function checkClouds(opts: DoctorOptions, config: Config): Promise<CloudCheck[]> {
  const emulators = opts.emulate
    ? await (await import('../emulator/index.js')).startEmulators({ pace: 'instant' })
    : undefined;
  // Each cloud's calls run in their own async context, so the one fetch all clients share knows whose answer it has.
  const whose = new AsyncLocalStorage<Seen>();
  const { default: undici } = await import('undici');
  const fetchAndNote = async (url: string | URL | Request, init?: RequestInit) => {
    const res = await (undici.fetch as unknown as typeof fetch)(url, init);
    const seen = whose.getStore();
    if (seen && seen.date === undefined) {
      seen.at = Date.now();
      seen.date = res.headers.get('date') ?? '';
    }
    return res;
  };
  const ms = opts.timeoutSeconds * 1000;
  const providers = new ProviderSet({
    env: opts.env,
    config,
    log: opts.log,
    emulated: emulators?.clouds,
    http: {
      timeouts: { connectMs: ms, requestMs: ms },
      retry: { maxAttempts: 1 },
      fetch: fetchAndNote as typeof fetch,
    },
  });
  try {
    return await Promise.all(
      CLOUDS.map(async (cloud): Promise<CloudCheck> => {
        const names = [...cloud.credentials, ...cloud.settings];
        const base = { id: cloud.id, name: cloud.name };
        if (!isBuilt(cloud))
          return {
            ...base,
            mode: null,
            keys: {},
            status: 'off',
            message: `${cloud.name} is not supported by this version yet`,
          };
        const em = emulators?.clouds[cloud.id];
        const keys = Object.fromEntries(names.map((k) => [k, !!(em ? em.env[k] : opts.env[k])]));
        const set = names.filter((k) => keys[k]);
        const missing = names.filter((k) => !keys[k]);
        if (!em && set.length === 0)
          return {
            ...base,
            mode: null,
            keys,
            status: 'off',
            message: `not configured: set ${names.join(', ')} to enable it`,
          };
        if (!em && missing.length)
          return {
            ...base,
            mode: null,
            keys,
            status: 'fail',
            message: `incomplete: ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not, so it stays disabled`,
            hint: `Set ${missing.join(' and ')} too, or unset the others.`,
          };
        const adapter = providers.enabled().find((a) => a.id === cloud.id);
        const baseUrl = em?.baseUrl ?? opts.env[baseUrlEnv(cloud.id)] ?? cloud.defaultBaseUrl;
        const mode = em ? ('emulated' as const) : ('live' as const);
        if (!adapter)
          return { ...base, mode, base_url: baseUrl, keys, status: 'fail', message: 'the cloud could not be enabled' };
        const seen: Seen = {};
        const started = Date.now();
        const what = 'list_instances';
        let error: unknown;
        await whose
          .run(seen, () => adapter.listInstances({ limit: 1, signal: AbortSignal.timeout(ms + 500) }))
          .catch((e: unknown) => (error = e));
        const took = Date.now() - started;
        const skew = seen.date ? Math.round(((seen.at ?? Date.now()) - Date.parse(seen.date)) / 1000) : undefined;
        const common = {
          ...base,
          mode,
          base_url: baseUrl,
          keys,
          call: { what, ms: took, ok: error === undefined },
          ...(skew !== undefined && Number.isFinite(skew) ? { clock_skew_seconds: skew } : {}),
        };
        if (error === undefined)
          return { ...common, status: 'ok', message: `the keys work: ${what} answered in ${took} ms` };
        return { ...common, status: 'fail', ...explain(error, opts.timeoutSeconds) };
      }),
    );
  } finally {
    await providers.close();
    await emulators?.stop();
  }
}

/** A failed call in one sentence, and what to do. */
function explain(err: unknown, timeoutSeconds: number): { message: string; hint?: string } {
  if (err instanceof ComputeError) {
    if (err.code === 'TIMEOUT' || err.code === 'CANCELLED')
      return {
        message: `no answer within ${timeoutSeconds} s (${err.code === 'TIMEOUT' ? err.message : 'the call was cut off'})`,
        hint: 'Check the network and the base URL; a slow cloud may need a longer --timeout.',
      };
    return { message: `${err.message} [${err.code}]`, ...(err.hint ? { hint: err.hint } : {}) };
  }
  const e = err as Error;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError')
    return { message: `no answer within ${timeoutSeconds} s`, hint: 'Check the network and the base URL.' };
  return { message: e?.message ?? String(err) };
}

function checkClock(clouds: CloudCheck[]): Check {
  const measured = clouds.filter((c) => c.clock_skew_seconds !== undefined);
  if (!measured.length) return { status: 'off', message: 'not measured: no cloud answered with a Date header' };
  const worst = measured.reduce((a, b) => (Math.abs(b.clock_skew_seconds!) > Math.abs(a.clock_skew_seconds!) ? b : a));
  const s = worst.clock_skew_seconds!;
  const off = Math.abs(s);
  const how = `${off} s ${s > 0 ? 'ahead of' : 'behind'} ${worst.id}`;
  if (off <= 2) return { status: 'ok', message: `within 2 s of ${measured.map((c) => c.id).join(', ')}` };
  const hint = 'Turn on time synchronisation (NTP): lease ends and expiry times are computed from this clock.';
  if (off >= SKEW_FAIL_S) return { status: 'fail', message: `this machine's clock is ${how}`, hint };
  if (off >= SKEW_WARN_S) return { status: 'warn', message: `this machine's clock is ${how}`, hint };
  return { status: 'ok', message: `this machine's clock is ${how} (within ${SKEW_WARN_S} s)` };
}

// --- output -----------------------------------------------------------------------------------------------------

const LABEL: Record<Status, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL', off: '--  ' };

export function renderReport(r: DoctorReport): string {
  const width = Math.max(8, ...r.clouds.map((c) => c.id.length)) + 2;
  const line = (c: Check, what: string, text: string) =>
    `${LABEL[c.status]}  ${what.padEnd(width)}${text}\n${c.hint ? `${' '.repeat(6 + width)}→ ${c.hint}\n` : ''}`;
  const out = [`compute-mcp doctor ${r.version}\n\n`];
  out.push(line(r.node, 'node', r.node.message));
  out.push(line(r.config, 'config', r.config.message.replace(/\n/g, `\n${' '.repeat(6 + width)}`)));
  out.push(line(r.state, 'state', r.state.message));
  out.push(line(r.clock, 'clock', r.clock.message));
  for (const c of r.clouds) {
    const keys = Object.entries(c.keys)
      .map(([k, set]) => `${k} ${set ? 'set' : 'not set'}`)
      .join(', ');
    const where = c.mode ? ` (${c.mode}, ${c.base_url})` : '';
    const detail = c.mode === 'live' || c.status === 'fail' ? ` ${keys};` : '';
    out.push(line(c, c.id, `${c.name}${where}:${detail} ${c.message}`));
  }
  const failed = [r.node, r.config, r.state, r.clock, ...r.clouds].filter((c) => c.status === 'fail');
  const names = [
    ...(['node', 'config', 'state', 'clock'] as const).filter((k) => r[k].status === 'fail'),
    ...r.clouds.filter((c) => c.status === 'fail').map((c) => c.id),
  ];
  out.push(
    r.ok
      ? '\nEverything enabled works.\n'
      : `\n${failed.length ? `Not ready: ${names.join(', ')}.` : 'Not ready: no cloud is enabled (set the keys of one, or try --emulate).'}\n`,
  );
  return out.join('');
}

export async function runDoctor(
  cmd: { json: boolean; timeoutSeconds: number; emulate: boolean; config?: string },
  log: Logger,
): Promise<number> {
  const report = await doctor({ ...cmd, env: process.env, log });
  process.stdout.write(cmd.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  return report.ok ? 0 : 1;
}
