/**
 * No object literal in src/ has a getter or a setter. V8 allocates the pair behind an accessor in old space, so an
 * object made per call with one keeps everything its closure reaches alive through every young-generation collection
 * until the next full one: the server's RSS then grows with every call (it did, by about 3 KiB a call, when the HTTP
 * client's answers carried a `get headers()`). Class accessors are made once, with their class, and are fine.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) =>
    statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : /\.c?ts$/.test(f) ? [join(dir, f)] : [],
  );

/** `file:line: text` of every getter or setter written in an object literal, or defined with Object.defineProperty. */
function accessorsInLiterals(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (node: ts.Node) =>
    `${relative(SRC, path)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText().split('\n')[0]}`;
  const visit = (node: ts.Node): void => {
    if ((ts.isGetAccessor(node) || ts.isSetAccessor(node)) && ts.isObjectLiteralExpression(node.parent))
      found.push(at(node));
    // Object.defineProperty(o, k, { get … }) / { set … }
    if (
      ts.isCallExpression(node) &&
      /^Object\.definePropert(y|ies)$/.test(node.expression.getText()) &&
      /\b(get|set)\s*[:(]/.test(node.arguments.map((a) => a.getText()).join(' '))
    )
      found.push(at(node));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Accessors on objects made once per process, not per call. */
const ONCE = [
  'tools/define.ts', // each tool's input and output fields, built when first read: one object per tool
];

describe('objects made per call', () => {
  it('no object literal in src/ carries a getter or setter', () => {
    const found = files(SRC)
      .filter((f) => !ONCE.includes(relative(SRC, f)))
      .flatMap((f) => accessorsInLiterals(f, readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });

  it('the check finds them (a literal getter, a setter, defineProperty with get)', () => {
    const sample = [
      'const a = { status: 1, get headers() { return 1; } };',
      'const b = { set x(v: number) {} };',
      "Object.defineProperty(a, 'y', { get: () => 1 });",
      'class C { get fine() { return 1; } }',
    ].join('\n');
    expect(accessorsInLiterals(join(SRC, 'sample.ts'), sample).map((l) => l.split(':')[1])).toEqual(['1', '2', '3']);
  });
});
