// Rewrites the README's tool table from the tool definitions (run through `npm run docs`).
import { readFileSync, writeFileSync } from 'node:fs';
import { loadSource } from './load.mjs';

const { ALL_TOOLS } = await loadSource('src/tools/index.ts');
const { withToolTable } = await loadSource('src/tools/docs.ts');

const file = new URL('../README.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = withToolTable(before, ALL_TOOLS);
writeFileSync(file, after);
console.error(before === after ? 'README tool table already up to date' : 'README tool table rewritten');
