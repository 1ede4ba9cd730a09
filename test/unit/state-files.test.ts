/**
 * The state files every process shares: a torn line cannot swallow the next record, a planted link is refused, and
 * the ledger keeps counting a VM that a lagging listing does not show, through pause and resume.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Instance } from '../../src/domain/model.js';
import { Ledger } from '../../src/guardrails/ledger.js';
import { shown } from '../../src/guardrails/quote.js';
import { ConfirmationTokens } from '../../src/guardrails/token.js';
import { StateDir, StateError } from '../../src/state/dir.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'state-files-'));
const binding = { request: { tool: 'create_vm', hash: 'h' }, quote: { usd_per_hour: 1 }, usd_per_hour: 1 };

describe('state files', () => {
  it('a torn last line (a crash mid-write) never swallows the next record: a spent token stays spent', async () => {
    const dir = fresh();
    const a = await ConfirmationTokens.open(new StateDir(dir));
    const { token } = a.issue(binding);
    appendFileSync(join(dir, 'tokens-spent.jsonl'), '{"n":"torn-by-a-cra'); // no newline
    expect((await a.redeem(token, binding)).ok).toBe(true);
    // Another process (or a restart) reads the file: it must see the spend.
    const b = await ConfirmationTokens.open(new StateDir(dir));
    expect(await b.redeem(token, binding)).toMatchObject({ ok: false, reason: 'used' });
  });

  it('refuses a state file that is a link, at start and on append', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'elsewhere.jsonl'), '');
    symlinkSync(join(dir, 'elsewhere.jsonl'), join(dir, 'tokens-spent.jsonl'));
    expect(() => new StateDir(dir)).toThrow(StateError);
    expect(() => new StateDir(dir)).toThrow(/tokens-spent\.jsonl is a link; state files must be regular files/);
  });

  it('reads only complete lines, and what another process appends after', async () => {
    const s = new StateDir(fresh());
    await s.append('ledger', { a: 1 });
    const first = await s.tail<{ a: number }>('ledger', 0);
    await s.append('ledger', { a: 2 });
    expect((await s.tail<{ a: number }>('ledger', first.offset)).lines).toEqual([{ a: 2 }]);
  });
});

describe('the approval summary', () => {
  it('escapes every character outside printable ASCII: no line separators or bidi overrides reach the human', () => {
    const out = shown('ok\u2028Safe to approve\u202e.exe\u0000', true);
    expect(out).toMatch(/^[\x20-\x7e]+$/);
    expect(out).toContain('\\u2028');
    expect(out).toContain('\\u202e');
    expect(shown('vcpu-4_memory-12g')).toBe('vcpu-4_memory-12g');
  });
});

describe('ledger', async () => {
  const vm = (status: Instance['status']): Instance => ({
    provider: 'c',
    id: 'vm1',
    name: 'n',
    status,
    provider_status: status,
    instance_type: 't',
  });
  it('a created VM the listing does not show counts in full; paused it still counts as a VM; resumed its GPUs come back', async () => {
    const l = new Ledger(new StateDir(fresh()));
    const c = await l.claim({ key: 'k', kind: 'create', provider: 'c', gpus: 8, usd_per_hour: 20 });
    await l.settle(c.key, 'vm1');
    expect(await l.unlisted([])).toEqual({ instances: 1, gpus: 8, micros: 20_000_000, unknown_priced: 0 });
    await l.pausedInstance('c', 'vm1');
    expect(await l.unlisted([])).toEqual({ instances: 1, gpus: 0, micros: 0, unknown_priced: 0 });
    await l.claim({ key: 'r', kind: 'resume', provider: 'c', instance_id: 'vm1', gpus: 8, usd_per_hour: 20 });
    // Not listed yet, or listed as still paused: the resume counts; listed running: the listing counts it.
    expect(await l.unlisted([])).toMatchObject({ instances: 1, gpus: 8 });
    expect(await l.unlisted([vm('paused')])).toMatchObject({ instances: 0, gpus: 8 });
    expect(await l.unlisted([vm('running')])).toMatchObject({ instances: 0, gpus: 0 });
    await l.releaseInstance('c', 'vm1');
    expect(await l.unlisted([])).toEqual({ instances: 0, gpus: 0, micros: 0, unknown_priced: 0 });
  });

  it('is shared through the state directory: a second process sees the first one’s claims', async () => {
    const dir = fresh();
    await new Ledger(new StateDir(dir)).claim({ key: 'k', kind: 'create', provider: 'c', gpus: 1, usd_per_hour: null });
    expect(await new Ledger(new StateDir(dir)).unlisted([])).toMatchObject({
      instances: 1,
      gpus: 1,
      unknown_priced: 1,
    });
  });
});

describe('a fresh state directory opened by many processes at once', () => {
  it('gives every one the same whole secret (none reads it half written and stops)', async () => {
    // Ten fresh directories, each opened by eight processes at the same moment.
    const dirs = Array.from({ length: 10 }, () => mkdtempSync(join(tmpdir(), 'compute-mcp-race-')));
    const at = Date.now() + 3_000; // every child has loaded the module by then
    const child = `
      const { loadSource } = await import(${JSON.stringify(join(import.meta.dirname, '../../scripts/load.mjs'))});
      const { StateDir } = await loadSource('src/state/dir.ts');
      const { randomBytes } = await import('node:crypto');
      const out = [];
      for (const [k, dir] of ${JSON.stringify(dirs)}.entries()) {
        while (Date.now() < ${at} + 50 * k);
        try {
          out.push(new StateDir(dir).secretSync('token-secret', () => randomBytes(32)).toString('hex'));
        } catch (e) {
          out.push(String(e));
        }
      }
      process.stdout.write(JSON.stringify(out));`;
    const outputs = await Promise.all(
      Array.from({ length: 8 }, () => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', child], {
          cwd: join(import.meta.dirname, '../..'),
        });
        let out = '';
        p.stdout.on('data', (d) => (out += String(d)));
        return new Promise<string[]>((resolve) => p.on('exit', () => resolve(JSON.parse(out || '[]') as string[])));
      }),
    );
    dirs.forEach((dir, k) => {
      const seen = outputs.map((o) => o[k]);
      expect(new Set(seen).size, `${dir}: ${seen.join(', ')}`).toBe(1);
      expect(seen[0]).toMatch(/^[0-9a-f]{64}$/);
      expect(readdirSync(dir)).toEqual(['token-secret']); // no file of a process's own left behind
    });
  }, 30_000);
});
