/**
 * The built program writes object spread out (scripts/build.mjs): in V8 11 (Node 20) a literal that begins with a
 * spread and goes on (`{ ...a, b }`) gets a hidden class of its own each time it runs, kept in old space with what it
 * touched until the next full collection, so the server's RSS grew with every call. This checks what is published.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { CLI, requireBuilt } from '../helpers/cli.js';

/** Object literals that begin with a spread and have more after it, as `file: text`. */
function leadingSpreads(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isObjectLiteralExpression(node) && node.properties.length > 1 && ts.isSpreadAssignment(node.properties[0]!))
      found.push(`${file}: ${node.getText(source).slice(0, 80)}`);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the built program', () => {
  it('has no object literal that begins with a spread and goes on (Node 20 would make a hidden class per run)', () => {
    requireBuilt();
    const dist = join(CLI, '..');
    const files = [
      join(dist, 'cli.cjs'),
      join(dist, 'main.mjs'),
      ...readdirSync(join(dist, 'chunks'))
        .filter((f) => f.endsWith('.mjs'))
        .map((f) => join(dist, 'chunks', f)),
      ...readdirSync(join(dist, 'vendor'))
        .filter((f) => f.endsWith('.cjs'))
        .map((f) => join(dist, 'vendor', f)),
    ];
    expect(files.flatMap(leadingSpreads)).toEqual([]);
  });

  it('the check finds one', () => {
    const sample = join(import.meta.dirname, '../../node_modules/.cache/leading-spread-sample.js');
    ts.sys.writeFile(sample, 'const a = { x: 1 }; const b = { ...a, y: 2 }; const c = { y: 2, ...a };');
    expect(leadingSpreads(sample)).toHaveLength(1);
  });
});
