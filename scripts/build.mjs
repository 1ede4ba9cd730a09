// The published entry point: src/index.ts bundled by esbuild into dist/index.js, with the code each command needs in
// chunks it imports only when it runs (dist/chunks/), and source maps beside them (stack traces name src/ lines with
// NODE_OPTIONS=--enable-source-maps). Types are checked by `npm run typecheck`, not here.
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = new URL('..', import.meta.url).pathname;

/**
 * Two modules every start would parse and never use:
 * - zod's error messages in 50 languages (half of zod's size): only English is kept, which zod uses by default;
 * - the SDK server's default JSON Schema validator (Ajv and its formats), built for every server object: our server
 *   passes its own validator for the elicitation forms it sends (src/guardrails/form.ts), so the server's default is
 *   never constructed. The SDK client keeps Ajv (`call` and `demo` use it to check structured results);
 * - pino's worker-thread transports (thread-stream, and with it Node's worker_threads): our logger writes JSON lines to
 *   stderr synchronously (src/log.ts) and never starts a transport; pino asks worker_threads only whether it runs on
 *   the main thread, for asynchronous destinations, and compute-mcp runs there.
 */
const leaner = {
  name: 'leaner',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) =>
      a.importer.includes('/node_modules/zod/v4/') ? { path: 'zod-locales', namespace: 'leaner' } : undefined,
    );
    b.onResolve({ filter: /\/validation\/ajv-provider\.js$/ }, (a) =>
      a.importer.includes('/@modelcontextprotocol/sdk/dist/esm/server/')
        ? { path: 'ajv', namespace: 'leaner' }
        : undefined,
    );
    b.onResolve({ filter: /^(thread-stream|worker_threads)$/ }, (a) =>
      a.importer.includes('/node_modules/pino/') ? { path: a.path, namespace: 'leaner' } : undefined,
    );
    const stubs = {
      'zod-locales': `export { default as en } from 'zod/v4/locales/en.js';`,
      ajv: `export class AjvJsonSchemaValidator {
              constructor() { throw new Error('compute-mcp passes its own jsonSchemaValidator to the SDK server'); }
            }`,
      'thread-stream': `module.exports = class ThreadStream {
                          constructor() { throw new Error('pino transports are not used by compute-mcp'); }
                        };`,
      worker_threads: `module.exports = { isMainThread: true };`,
    };
    b.onLoad({ filter: /.*/, namespace: 'leaner' }, (a) => ({ resolveDir: ROOT, contents: stubs[a.path] }));
  },
};

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const { metafile } = await build({
  absWorkingDir: ROOT,
  entryPoints: { index: 'src/index.ts' },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: process.env.NO_MINIFY !== '1',
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  metafile: true,
  plugins: [leaner],
  // Bundled CommonJS dependencies (pino, undici) call require() for Node's own modules.
  banner: {
    js: `import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);`,
  },
  logLevel: 'warning',
});

// The bundle carries other people's code: their license texts go beside it.
const packages = new Set();
for (const input of Object.keys(metafile.inputs)) {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) packages.add(m[1]);
}
const notices = [...packages].sort().map((dir) => {
  const { name, version, license } = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
  const file = readdirSync(join(ROOT, dir)).find((f) => /^(licen[cs]e|copying)/i.test(f));
  const text =
    file && existsSync(join(ROOT, dir, file))
      ? readFileSync(join(ROOT, dir, file), 'utf8').trim()
      : `License: ${license}`;
  return `${name}@${version} (${license})\n\n${text}\n`;
});
writeFileSync(
  join(ROOT, 'dist/THIRD-PARTY-NOTICES.txt'),
  `Bundled in dist/ (scripts/build.mjs):\n\n${notices.join('\n' + '-'.repeat(78) + '\n\n')}`,
);
