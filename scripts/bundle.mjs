// The MCP Bundle (.mcpb) for one-click installs in Claude Desktop and other hosts: manifest.json (its user_config
// holds every cloud's keys, the secret ones marked sensitive so the host keeps them in the OS keychain), the built
// server under server/ (its own package.json says how Node reads its files), and the bundle's package.json. Packed by
// Anthropic's own `mcpb pack`, which validates the manifest first. The bundled manifest's version and tools are
// always those of package.json and of the built server's tools/list; manifest.json in the repository keeps the rest.
//
//   node scripts/bundle.mjs [--out FILE]     build the bundle from dist/ (npm run bundle builds dist first)
//   node scripts/bundle.mjs --sync-manifest  rewrite manifest.json's version and tools the same way (npm run manifest)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = new URL('..', import.meta.url).pathname;
const MCPB_CLI = join(ROOT, 'node_modules/@anthropic-ai/mcpb/dist/cli/cli.js');
const read = (f) => JSON.parse(readFileSync(join(ROOT, f), 'utf8'));

const { values } = parseArgs({
  options: { out: { type: 'string' }, 'sync-manifest': { type: 'boolean', default: false } },
});

if (!existsSync(join(ROOT, 'dist/index.js'))) {
  console.error('dist/index.js is missing: run `npm run build` first (npm run bundle does)');
  process.exit(2);
}

if (values['sync-manifest']) await syncManifest();
else await bundle(values.out);

async function bundle(out) {
  const pkg = read('package.json');
  const manifest = { ...read('manifest.json'), version: pkg.version, tools: await toolsOfBuiltServer() };
  const stage = mkdtempSync(join(tmpdir(), 'compute-mcp-mcpb-'));
  try {
    writeFileSync(join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // The bundle's own description (it has no node_modules: the build is self-contained); server/package.json, from
    // dist/, is the one Node reads for the server's files.
    const runtimePkg = { name: pkg.name, version: pkg.version, private: true, type: 'module', license: pkg.license };
    writeFileSync(join(stage, 'package.json'), `${JSON.stringify(runtimePkg, null, 2)}\n`);
    cpSync(join(ROOT, 'dist'), join(stage, 'server'), {
      recursive: true,
      filter: (src) => !src.endsWith('.map'),
    });
    for (const f of ['README.md', 'LICENSE']) cpSync(join(ROOT, f), join(stage, f));
    const file = resolve(out ?? join(ROOT, `${pkg.name}-${pkg.version}.mcpb`));
    mkdirSync(dirname(file), { recursive: true });
    rmSync(file, { force: true });
    // mcpb prints its progress on stdout; ours stays for the result.
    execFileSync(process.execPath, [MCPB_CLI, 'pack', stage, file], { stdio: ['ignore', 2, 2] });
    const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    console.log(JSON.stringify({ file, sha256 }));
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** The tools the built server lists, as the manifest lists them. */
async function toolsOfBuiltServer() {
  const [{ Client }, { StdioClientTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
  ]);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(ROOT, 'dist/index.js'), '--emulate'],
    stderr: 'ignore',
  });
  const client = new Client({ name: 'compute-mcp-manifest', version: '0' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  await client.close();
  return tools.map((t) => ({ name: t.name, description: t.description }));
}

/** manifest.json's version and tools, from package.json and what the built server lists. */
async function syncManifest() {
  const manifest = {
    ...read('manifest.json'),
    version: read('package.json').version,
    tools: await toolsOfBuiltServer(),
  };
  // Written as `npm run lint` (prettier) wants it.
  const prettier = await import('prettier');
  const file = join(ROOT, 'manifest.json');
  const options = { ...(await prettier.resolveConfig(file)), filepath: file };
  writeFileSync(file, await prettier.format(JSON.stringify(manifest, null, 2), options));
  console.error(`manifest.json: version ${manifest.version}, ${manifest.tools.length} tools`);
}
