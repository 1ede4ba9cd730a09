// The published build of src/index.ts by esbuild: the launcher dist/index.js (src/launch.cts), which runs either the
// one-file build dist/cli.cjs with a V8 code cache or, with source maps on, the ES modules dist/main.mjs with the code
// each command needs in chunks imported when it runs (dist/chunks/); source maps beside them (stack traces name src/
// lines with NODE_OPTIONS=--enable-source-maps). Types are checked by `npm run typecheck`, not here.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = new URL('..', import.meta.url).pathname;

/**
 * Modules every start would parse and never use:
 * - zod's error messages in 50 languages (half of zod's size): only English is kept, which zod uses by default;
 * - the SDK server's default JSON Schema validator (Ajv and its formats), built for every server object: our server
 *   passes its own validator for the elicitation forms it sends (src/guardrails/form.ts), so the server's default is
 *   never constructed. The SDK client keeps Ajv (`call` and `demo` use it to check structured results);
 * - pino's worker-thread transports (thread-stream, and with it Node's worker_threads): our logger writes JSON lines to
 *   stderr synchronously (src/log.ts) and never starts a transport; pino asks worker_threads only whether it runs on
 *   the main thread, for asynchronous destinations, and compute-mcp runs there;
 * - Node's assert module, which sonic-boom (pino's stderr writer) loads for one check of one argument: loading it and
 *   the error formatting it brings cost every start a few milliseconds; a function of two lines makes that check;
 * - zod 3 and zod-to-json-schema, which the SDK imports to accept zod 3 schemas too (80 KB on the start path): every
 *   schema here, ours and the SDK's own, is zod 4, so the SDK's zod 3 branches never run.
 * - node:crypto, about 6 ms of a start to load, which no start uses (tokens, digests and ids are made by tool calls):
 *   our code's imports of it get functions that require it when first called.
 * And two rewrites, for start-up:
 * - `import { z } from 'zod'` in src/ becomes `import * as z from 'zod'` (the same namespace). zod's `z` export is a
 *   namespace object esbuild must build whole; imported as a namespace, only the parts used are bundled (half of zod's
 *   190 KB, parsed at every start);
 * - the SDK's protocol schemas (types.js: about 300 zod schemas, built at import, the largest single cost of a start)
 *   are each built when first used (lazySchemas below): a stdio server answering initialize uses a fraction of them;
 *   and the SDK is told the method a request or notification schema is for without building it (methodHints).
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
    b.onResolve({ filter: /^assert$/ }, (a) =>
      a.importer.includes('/node_modules/sonic-boom/') ? { path: 'assert', namespace: 'leaner' } : undefined,
    );
    b.onResolve({ filter: /^(zod\/v3|zod-to-json-schema)$/ }, (a) =>
      a.importer.includes('/node_modules/@modelcontextprotocol/sdk/')
        ? { path: a.path, namespace: 'leaner' }
        : undefined,
    );
    b.onResolve({ filter: /^node:crypto$/ }, (a) =>
      a.importer.startsWith(join(ROOT, 'src/')) ? { path: 'lazy-crypto', namespace: 'leaner' } : undefined,
    );
    b.onLoad({ filter: /\/src\/.*\.ts$/ }, (a) =>
      a.path.startsWith(join(ROOT, 'src/'))
        ? {
            contents: readFileSync(a.path, 'utf8').replace(
              /^import \{ z \} from 'zod';$/m,
              "import * as z from 'zod';",
            ),
            loader: 'ts',
          }
        : undefined,
    );
    b.onLoad({ filter: /\/@modelcontextprotocol\/sdk\/dist\/esm\/types\.js$/ }, (a) => ({
      contents: lazySchemas(readFileSync(a.path, 'utf8')),
      loader: 'js',
    }));
    b.onLoad(
      { filter: /\/@modelcontextprotocol\/sdk\/dist\/esm\/server\/(index|mcp|zod-json-schema-compat)\.js$/ },
      (a) => ({
        contents: methodHints(a.path, readFileSync(a.path, 'utf8')),
        loader: 'js',
      }),
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
      assert: `module.exports = function assert(ok, message) { if (!ok) throw new Error(message); };`,
      'zod/v3': `export function object() { throw new Error('compute-mcp gives the SDK zod 4 schemas only'); }`,
      'zod-to-json-schema': `export function zodToJsonSchema() {
                               throw new Error('compute-mcp gives the SDK zod 4 schemas only');
                             }`,
    };
    b.onLoad({ filter: /.*/, namespace: 'leaner' }, (a) => ({ resolveDir: ROOT, contents: stubs[a.path] }));
    // node:crypto's functions, each requiring node:crypto at its first call (a class or constant imported from it
    // fails the build: there is no such export here).
    const crypto = createRequire(import.meta.url)('node:crypto');
    stubs['lazy-crypto'] = [
      `let crypto; const c = () => (crypto ??= require('node:crypto'));`,
      ...Object.keys(crypto)
        .filter((k) => /^[a-z]/.test(k) && typeof crypto[k] === 'function')
        .map((k) => `export const ${k} = (...a) => c().${k}(...a);`),
    ].join('\n');
  },
};

/**
 * The SDK's types.js with each top-level `const XSchema = <zod expression>;` made `lazySchema(() => <expression>)`: a
 * stand-in that builds the schema at its first use and from then on forwards everything to it (property reads and
 * writes, `in`, keys, descriptors, the prototype), so the SDK and zod see the schema itself (methods, `_zod`, `shape`,
 * `extend`, instanceof). Schemas built from others build those on the way. Fails the build if the file no longer has
 * the shape this expects, rather than shipping it half rewritten.
 */
function lazySchemas(src) {
  const out = [LAZY_SCHEMA];
  const decl = /^((?:export )?const \w+Schema = )/gm;
  let at = 0;
  let count = 0;
  for (let m; (m = decl.exec(src)); count++) {
    const start = m.index + m[1].length;
    const end = statementEnd(src, start);
    const expression = src.slice(start, end);
    // A request or notification schema names its one method: the stand-in tells it without building the schema.
    const methods = [...expression.matchAll(/\bmethod: z\.literal\('([\w/]+)'\)/g)].map((l) => l[1]);
    const hint = methods.length === 1 ? `, ${JSON.stringify(methods[0])}` : '';
    out.push(src.slice(at, start), `/* @__PURE__ */ lazySchema(() => ${expression}${hint})`);
    decl.lastIndex = at = end;
  }
  if (count < 100)
    throw new Error(`lazySchemas: found ${count} schemas in the SDK's types.js; has its layout changed?`);
  out.push(src.slice(at));
  return out.join('');
}

/**
 * The SDK finds the method a handler serves by reading it out of the request's schema (`getMethodLiteral`,
 * `getMethodValue`, and inline in `Server.setRequestHandler`), which builds that schema: making a server built the
 * schemas of every method it registers (prompts, resources, completion, logging, cancellation, progress), most of
 * which a session never receives. Each of those three places first asks the stand-in for its method (lazySchemas),
 * and reads the schema only when there is no hint. Fails the build if a place is no longer where this expects it.
 */
function methodHints(path, src) {
  const ask = (v) => `const hinted = ${v}?.[${METHOD_HINT}]; if (typeof hinted === 'string') return hinted;`;
  const places = {
    'zod-json-schema-compat.js': [['export function getMethodLiteral(schema) {', (m) => `${m} ${ask('schema')}`]],
    'mcp.js': [['function getMethodValue(schema) {', (m) => `${m} ${ask('schema')}`]],
    'index.js': [
      [
        /( {4}setRequestHandler\(requestSchema, handler\) \{\n)( {8}const shape = getObjectShape\(requestSchema\);\n[\s\S]*?)( {8}const method = methodValue;)/,
        (_, head, body, tail) =>
          `${head}        const methodValue = (() => { ${ask('requestSchema')}\n${body}return methodValue; })();\n${tail}`,
      ],
    ],
  };
  let out = src;
  for (const [find, change] of places[path.split('/').pop()]) {
    const next = out.replace(find, change);
    if (next === out) throw new Error(`methodHints: ${path} has changed; ${String(find).slice(0, 60)} not found`);
    out = next;
  }
  return out;
}

/** Where the statement starting at `i` ends: its `;` outside brackets, strings, regular expressions and comments. */
function statementEnd(src, i) {
  let depth = 0;
  for (let quote = null; i < src.length; i++) {
    const c = src[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '/' && src[i + 1] === '/') i = src.indexOf('\n', i);
    else if (c === '/' && src[i + 1] === '*') i = src.indexOf('*/', i) + 1;
    else if (c === '/' && /[(,=:[!&|?{};]\s*$/.test(src.slice(Math.max(0, i - 20), i))) quote = '/';
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ';' && depth === 0) return i;
  }
  throw new Error("lazySchemas: a statement of the SDK's types.js does not end");
}

const METHOD_HINT = `Symbol.for('compute-mcp.method')`;
const LAZY_SCHEMA = `
function lazySchema(make, method) {
  let schema;
  const s = () => (schema ??= make());
  return new Proxy({}, {
    get: (_, k) => (k === ${METHOD_HINT} ? method : Reflect.get(s(), k, s())),
    set: (_, k, v) => Reflect.set(s(), k, v),
    has: (_, k) => Reflect.has(s(), k),
    ownKeys: () => Reflect.ownKeys(s()),
    getOwnPropertyDescriptor: (_, k) => {
      const d = Reflect.getOwnPropertyDescriptor(s(), k);
      return d && { ...d, configurable: true }; // the stand-in's own properties are not fixed (Proxy invariants)
    },
    defineProperty: (_, k, d) => Reflect.defineProperty(s(), k, d),
    deleteProperty: (_, k) => Reflect.deleteProperty(s(), k),
    getPrototypeOf: () => Reflect.getPrototypeOf(s()),
  });
}
`;

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

// The program as one CommonJS file: the launcher compiles it with a V8 code cache (faster to start than Node's own
// compile cache of the ES modules, which Node 20 does not have). Its dynamic imports become lazy requires inside the file: a command still runs only
// what it uses. The file is read at every start, so the largest libraries that no start needs (undici, at the first
// cloud request; pg, in team mode) are files of their own beside it, required when first used.
const VENDOR = ['undici', 'pg'];
const vendored = {
  name: 'vendored',
  setup(b) {
    // A bundled stand-in that requires the file beside it at run time (an import() would need a loader that code
    // compiled by node:vm does not have).
    b.onResolve({ filter: new RegExp(`^(${VENDOR.join('|')})$`) }, (a) => ({ path: a.path, namespace: 'vendored' }));
    b.onLoad({ filter: /.*/, namespace: 'vendored' }, (a) => ({
      contents: `module.exports = require('./vendor/${a.path}.cjs');`,
      loader: 'js',
    }));
    b.onResolve({ filter: /^\.\/vendor\// }, (a) => ({ path: a.path, external: true }));
  },
};
// Object spread is written out as plain assignments. In V8 11 (Node 20), a literal that begins with a spread and goes
// on (`{ ...a, b }`, `{ ...a, ...b }`) gets a hidden class of its own every time it runs; V8 keeps those in old space,
// and what they touched stayed with them to the next full collection: the server's RSS grew with every call. The
// assignments also run faster there.
const SUPPORTED = { 'object-rest-spread': false };
const commonJs = {
  absWorkingDir: ROOT,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  supported: SUPPORTED,
  minify: process.env.NO_MINIFY !== '1',
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
};
await build({
  ...commonJs,
  entryPoints: Object.fromEntries(VENDOR.map((v) => [v, v])),
  outdir: 'dist/vendor',
  external: ['pg-native'],
});
await build({ ...commonJs, entryPoints: { cli: 'src/index.ts' }, outdir: 'dist', plugins: [leaner, vendored] });
// The launcher reads cli.cjs as Latin-1 (faster than decoding UTF-8), which is right only for ASCII: esbuild escapes
// strings, but not every literal (a regular expression keeps its characters). An unminified build keeps comments,
// which may be wider, and are harmless read either way.
const cli = readFileSync(join(ROOT, 'dist/cli.cjs'));
const wide = cli.findIndex((byte) => byte > 0x7f);
if (wide >= 0 && process.env.NO_MINIFY !== '1')
  throw new Error(`dist/cli.cjs is not ASCII at byte ${wide}: …${cli.subarray(wide - 40, wide + 10).toString()}…`);

// The same program as ES modules with chunks per command, for source maps (which code compiled by node:vm does not
// get) and COMPUTE_MCP_CODE_CACHE=off. .mjs: dist/ is CommonJS (dist/package.json), for the launcher.
const { metafile } = await build({
  absWorkingDir: ROOT,
  entryPoints: { main: 'src/index.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  supported: SUPPORTED,
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

// The launcher, dist/index.js, as CommonJS, with the digest of the cli.cjs built beside it (the code cache's name).
writeFileSync(join(ROOT, 'dist/package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
await build({
  ...commonJs,
  outExtension: undefined,
  entryPoints: { index: 'src/launch.cts' },
  outdir: 'dist',
  define: { __CLI_DIGEST__: JSON.stringify(createHash('sha256').update(cli).digest('hex').slice(0, 24)) },
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
