// Loads a src/ module in plain Node (for scripts and child processes of tests): esbuild bundles it, with packages
// left as imports, into node_modules/.cache (so they resolve from this project), imported from there, then removed.
import { mkdirSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = new URL('..', import.meta.url).pathname;

export async function loadSource(path) {
  const dir = `${ROOT}node_modules/.cache/compute-mcp`;
  mkdirSync(dir, { recursive: true });
  const out = `${dir}/${basename(path, '.ts')}-${process.pid}-${Date.now()}.mjs`;
  await build({
    absWorkingDir: ROOT,
    entryPoints: [path],
    outfile: out,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  try {
    return await import(pathToFileURL(out).href);
  } finally {
    rmSync(out, { force: true });
  }
}
