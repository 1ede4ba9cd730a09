#!/usr/bin/env node
/**
 * The entry point (dist/index.js, CommonJS: an ES-module entry would start Node's ES module loader, a few
 * milliseconds of every start). Compiling the program is the largest part of a start, and every client session starts
 * the server, so compiled code is kept between starts: the one-file build of the program (cli.cjs) is compiled with a
 * V8 code cache kept in the user's cache directory ($XDG_CACHE_HOME/compute-mcp, else ~/.cache/compute-mcp). The
 * directory must be the user's own and closed to others (cached code runs as the user); a cache V8 refuses (another
 * build, another Node, other V8 flags) is made again. This is also faster than Node's own compile cache of the ES
 * modules on Node 22 (bare + 60 ms to answer initialize against bare + 85, measured side by side).
 * With source maps on (--enable-source-maps: they apply to modules, not to code compiled by node:vm) or
 * COMPUTE_MCP_CODE_CACHE=off, the same program runs as ES modules (main.mjs and its chunks), with Node's compile
 * cache where Node has one (22.1 and later).
 */
import * as nodeModule from 'node:module';

/** sha256 of cli.cjs, written in by the build (scripts/build.mjs), which makes both files at once. */
declare const __CLI_DIGEST__: string;

const modules =
  (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true ||
  process.env.COMPUTE_MCP_CODE_CACHE === 'off';
if (modules) {
  (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  // The program's own errors are handled inside it; this is a chunk that cannot be loaded. (A name, not a literal:
  // main.mjs is built beside this file, not bundled into it.)
  const main: string = './main.mjs';
  import(main).catch((err: unknown) => {
    process.stderr.write(`compute-mcp: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
} else {
  runWithCodeCache(`${__dirname}/cli.cjs`);
}

function runWithCodeCache(file: string): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- Node's own modules, required when this path runs */
  const fs = require('node:fs') as typeof import('node:fs');
  const { dirname, join } = require('node:path') as typeof import('node:path');
  const { homedir } = require('node:os') as typeof import('node:os');
  const vm = require('node:vm') as typeof import('node:vm');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const unlinkQuiet = (f: string) => {
    try {
      fs.unlinkSync(f);
    } catch {
      // gone already
    }
  };
  // The build keeps the file ASCII, so it is read as Latin-1: V8 takes the bytes as they are, without the UTF-8
  // decoding that took about 7 ms of each start.
  const source = fs.readFileSync(file, 'latin1');
  const dir = ownDir();
  // One cache per build and per V8: a new version, or another Node, makes its own instead of taking turns. An early
  // cache is made right away, or at exit, when there is none (what start-up compiled: enough for a short command); the
  // full one by a process that has run for a while (a server, which has answered its client by then), from an early
  // cache or none, never at the exit of a short command, whose cache would lack what serving compiles.
  // V8 checks a cache against the source's length only, so a cache of another build of the same length would run that
  // build's code. Named by the build's digest of the file (npm gives every installed file the same time): written in
  // by the build, as computing it here would cost every start node:crypto and a pass over the file; and by the file's
  // size and time, for a file changed in place. A process that has run a while checks the digest against the file it
  // ran, and on a mismatch removes the cache and keeps none.
  const stat = fs.statSync(file);
  const build = `cli-${__CLI_DIGEST__}-`;
  const base = dir
    ? join(dir, `${build}${stat.size}-${Math.trunc(stat.mtimeMs)}-v8-${process.versions.v8}`)
    : undefined;
  const full = `${base}.cache`;
  const early = `${base}.early.cache`;
  const found = base ? (readCache(full) ?? readCache(early)) : undefined;
  const wrapped = nodeModule.wrap(source.replace(/^#!.*/, ''));
  const script = new vm.Script(wrapped, { filename: file, cachedData: found?.data });
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} };
  run.call(module.exports, module.exports, nodeModule.createRequire(file), module, file, dirname(file));
  const used = found && !script.cachedDataRejected;
  if (base && !used) {
    let saved = false;
    const saveEarly = () => {
      if (saved) return;
      saved = true;
      save(early, script.createCachedData());
    };
    setImmediate(saveEarly);
    process.once('exit', saveEarly); // a command that is over before that
  }
  // The full cache is made again when this process compiled more than it holds (another mode: a server with
  // --emulate after one with credentials): the new one holds both, so it settles after a run of each.
  const had = used ? found.data.length : 0;
  const fromEarly = used && found.file === early;
  if (base)
    setTimeout(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded here, after start-up, on purpose
      const { createHash } = require('node:crypto') as typeof import('node:crypto');
      if (!createHash('sha256').update(source, 'latin1').digest('hex').startsWith(__CLI_DIGEST__)) {
        unlinkQuiet(full);
        unlinkQuiet(early);
        return;
      }
      const data = script.createCachedData();
      if (!had || fromEarly || data.length > had * 1.05) save(full, data);
    }, 2_000).unref();

  function readCache(f: string): { file: string; data: Buffer } | undefined {
    try {
      return fs.lstatSync(f).isFile() ? { file: f, data: fs.readFileSync(f) } : undefined;
    } catch {
      return undefined; // none yet
    }
  }

  function ownDir(): string | undefined {
    const d = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'compute-mcp');
    try {
      fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      const s = fs.lstatSync(d);
      const mine = typeof process.getuid !== 'function' || s.uid === process.getuid();
      return s.isDirectory() && mine && (s.mode & 0o077) === 0 ? d : undefined;
    } catch {
      return undefined; // no home, a read-only one: no cache
    }
  }

  /** Writes the cache whole under a name of this process's own, then renames it into place; on any failure, none. */
  function save(to: string, data: Buffer): void {
    // Caches of other builds go (of any Node); this build's for other Nodes or other copies of it stay.
    try {
      for (const f of fs.readdirSync(dirname(to)))
        if (f.startsWith('cli-') && !f.startsWith(build)) unlinkQuiet(join(dirname(to), f));
    } catch {
      // the directory went away: nothing to save into either
    }
    const tmp = `${to}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    let out: number;
    try {
      out = fs.openSync(tmp, 'wx', 0o600);
    } catch {
      return; // not ours to remove
    }
    try {
      try {
        for (let at = 0; at < data.length;) at += fs.writeSync(out, data, at);
      } finally {
        fs.closeSync(out);
      }
      fs.renameSync(tmp, to);
    } catch {
      unlinkQuiet(tmp); // the disk is full: the next start tries again
    }
  }
}
