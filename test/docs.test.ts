/** The README's tool table is generated from the tool values; this fails when it is stale. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOOLS_END, TOOLS_START, withToolTable } from '../src/tools/docs.js';
import { ALL_TOOLS } from '../src/tools/index.js';

describe('README tool table', () => {
  it('matches the tool definitions (run `npm run docs` after changing a tool)', () => {
    const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
    expect(readme).toContain(TOOLS_START);
    expect(readme).toContain(TOOLS_END);
    expect(withToolTable(readme, ALL_TOOLS), 'README tool table is stale: run npm run docs').toBe(readme);
  });
});
