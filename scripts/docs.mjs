// Rewrites the README's tool table from the built tool definitions (run through `npm run docs`).
import { readFileSync, writeFileSync } from 'node:fs';
import { ALL_TOOLS } from '../dist/tools/index.js';
import { withToolTable } from '../dist/tools/docs.js';

const file = new URL('../README.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = withToolTable(before, ALL_TOOLS);
writeFileSync(file, after);
console.error(before === after ? 'README tool table already up to date' : 'README tool table rewritten');
