/**
 * Reading and writing a client's JSON config file for `compute-mcp setup`: a parser that says where a file is broken
 * (line and column, which JSON.parse does not always give), and a write that backs the file up first and replaces it
 * in one rename, keeping its mode.
 */
import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';

export class JsonSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
  }
}

export interface ParseOptions {
  /** JSON with comments (`//`, `/* *\/`) and trailing commas, as VS Code reads its own files. */
  jsonc?: boolean;
}

/** Parses JSON (or JSONC); a syntax error names the line and column (1-based) where it is. */
export function parseJson(text: string, opts: ParseOptions = {}): unknown {
  return new Parser(text.replace(/^\uFEFF/, ''), opts.jsonc ?? false).parseDocument();
}

class Parser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly jsonc: boolean,
  ) {}

  parseDocument(): unknown {
    this.space();
    if (this.i >= this.s.length) this.fail('the file is empty; it should hold one JSON object');
    const v = this.value();
    this.space();
    if (this.i < this.s.length) this.fail(`unexpected ${this.show()} after the end of the JSON value`);
    return v;
  }

  private fail(reason: string, at = this.i): never {
    const before = this.s.slice(0, at);
    const line = before.split('\n').length;
    const column = at - (before.lastIndexOf('\n') + 1) + 1;
    throw new JsonSyntaxError(reason, line, column);
  }

  private show(): string {
    const c = this.s[this.i];
    return c === undefined ? 'end of file' : JSON.stringify(c);
  }

  private space(): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.i++;
      else if (c === '/' && (this.s[this.i + 1] === '/' || this.s[this.i + 1] === '*')) {
        if (!this.jsonc) this.fail('comments are not allowed in JSON');
        if (this.s[this.i + 1] === '/') {
          const end = this.s.indexOf('\n', this.i);
          this.i = end < 0 ? this.s.length : end;
        } else {
          const end = this.s.indexOf('*/', this.i + 2);
          if (end < 0) this.fail('a comment is not closed');
          this.i = end + 2;
        }
      } else return;
    }
  }

  private value(): unknown {
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const)
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    return this.fail(c === undefined ? 'the file ends where a value should be' : `unexpected ${this.show()}`);
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++;
    this.space();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    let comma = -1;
    for (;;) {
      if (this.s[this.i] === '}' && comma >= 0) this.fail('a trailing comma is not allowed in JSON', comma);
      if (this.s[this.i] !== '"') this.fail(`expected a "quoted" key, found ${this.show()}`);
      const key = this.string();
      this.space();
      if (this.s[this.i] !== ':') this.fail(`expected ":" after the key ${JSON.stringify(key)}, found ${this.show()}`);
      this.i++;
      this.space();
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.space();
      if (this.s[this.i] === ',') {
        comma = this.i++;
        this.space();
        if (this.jsonc && this.s[this.i] === '}') {
          this.i++;
          return out;
        }
        continue;
      }
      if (this.s[this.i] === '}') {
        this.i++;
        return out;
      }
      this.fail(`expected "," or "}" in an object, found ${this.show()}`);
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.i++;
    this.space();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    let comma = -1;
    for (;;) {
      if (this.s[this.i] === ']' && comma >= 0) this.fail('a trailing comma is not allowed in JSON', comma);
      out.push(this.value());
      this.space();
      if (this.s[this.i] === ',') {
        comma = this.i++;
        this.space();
        if (this.jsonc && this.s[this.i] === ']') {
          this.i++;
          return out;
        }
        continue;
      }
      if (this.s[this.i] === ']') {
        this.i++;
        return out;
      }
      this.fail(`expected "," or "]" in an array, found ${this.show()}`);
    }
  }

  private string(): string {
    const start = this.i;
    this.i++;
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) this.fail('a string is not closed', start);
      if (c === '"') break;
      if (c === '\n') this.fail('a string is not closed before the end of the line', start);
      if (c < ' ') this.fail('a control character must be escaped in a string');
      if (c === '\\') {
        const e = this.s[this.i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6)))
            this.fail('a \\u escape needs 4 hex digits');
          this.i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail(`unknown escape \\${e ?? ''}`);
        this.i += 2;
        continue;
      }
      this.i++;
    }
    this.i++;
    return JSON.parse(this.s.slice(start, this.i)) as string;
  }

  private number(): number {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.s.slice(this.i));
    if (!m) this.fail('a number is malformed');
    this.i += m[0].length;
    return Number(m[0]);
  }
}

/** The indentation a JSON file uses (its first indented line), to write it back the same way. */
export function indentOf(text: string): string | number {
  const m = /\n([ \t]+)\S/.exec(text);
  if (!m) return 2;
  return m[1]!.startsWith('\t') ? '\t' : m[1]!.length;
}

/**
 * Writes `text` to `path`: an existing file is first copied to a backup (returned) with its mode, then replaced in
 * one rename so a crash leaves either the old file or the new one. A new file is created 0600 (a client's config may
 * come to hold keys), in a directory created 0700 if missing.
 */
export function writeWithBackup(path: string, text: string, now = new Date()): { backup?: string } {
  // A linked config file (dotfiles) is written where the link points, and stays a link.
  const file = existsSync(path) ? realpathSync(path) : path;
  let backup: string | undefined;
  let mode = 0o600;
  if (existsSync(file)) {
    mode = statSync(file).mode & 0o777;
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    for (let n = 0; ; n++) {
      const candidate = `${file}.bak-${stamp}${n ? `-${n}` : ''}`;
      try {
        copyFileSync(file, candidate, constants.COPYFILE_EXCL);
        backup = candidate;
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n > 20) throw e;
      }
    }
    chmodSync(backup, mode);
  } else mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
  return backup ? { backup } : {};
}
