/**
 * The layout shows the architecture: a cloud lives in its folder (src/providers/<id>/) and is listed once in the
 * table of clouds; tools never do HTTP; the guardrails never reach into the clouds.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLOUDS } from '../../src/providers/clouds.js';

const SRC = join(import.meta.dirname, '../../src');
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) =>
    statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : [],
  );
const ALL = files(SRC).map((f) => ({ path: relative(SRC, f), text: readFileSync(f, 'utf8') }));
const TABLE = 'providers/clouds.ts';

describe('layout', () => {
  it('names no cloud outside its own folder and the table of clouds', () => {
    const found: string[] = [];
    for (const cloud of CLOUDS) {
      // The id (also as the start of env names like GENESISCLOUD_API_TOKEN) and each word of the name ("Genesis",
      // "ONET"), as whole words: "monetary" does not name ONET.
      const esc = (w: string) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const names = [
        cloud.id,
        ...cloud.name.split(/\s+/).filter((w) => w.length > 3 && !/^(cloud|solutions)$/i.test(w)),
      ];
      const words = names.map((w) => new RegExp(`(?<![a-z])${esc(w)}(?![a-z])`, 'i'));
      for (const f of ALL) {
        if (f.path === TABLE || f.path.startsWith(`providers/${cloud.id}/`)) continue;
        for (const w of words) if (w.test(f.text)) found.push(`${f.path}: ${w.source}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('tools import nothing from http/, guardrails nothing from providers/', () => {
    const imports = (f: { text: string }) => [...f.text.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
    const bad = ALL.flatMap((f) => {
      if (f.path.startsWith('tools/'))
        return imports(f)
          .filter((i) => i.startsWith('../http/'))
          .map((i) => `${f.path} → ${i}`);
      if (f.path.startsWith('guardrails/'))
        return imports(f)
          .filter((i) => i.startsWith('../providers/'))
          .map((i) => `${f.path} → ${i}`);
      return [];
    });
    expect(bad).toEqual([]);
  });

  it('uses no AbortSignal.any: the HTTP direct path reuses signals, and could not see what depends on one', () => {
    expect(ALL.filter((f) => /AbortSignal\.any\b/.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  it('every cloud folder is in the table, and every built cloud in the table has a folder with its module', () => {
    const folders = readdirSync(join(SRC, 'providers')).filter((f) =>
      statSync(join(SRC, 'providers', f)).isDirectory(),
    );
    const built = CLOUDS.filter((c) => !('planned' in c)).map((c) => c.id);
    expect(folders.sort()).toEqual([...built].sort());
    for (const id of built)
      expect(readFileSync(join(SRC, 'providers', id, 'index.ts'), 'utf8')).toMatch(
        new RegExp(`export const \\w+: CloudModule`),
      );
  });
});

describe('the test harness', () => {
  it('starts every built cloud of the table through its module, and the server enables each as emulated', async () => {
    const { startHarness } = await import('../helpers/harness.js');
    const ids = CLOUDS.filter((c) => !('planned' in c)).map((c) => c.id);
    const h = await startHarness({ clouds: ids });
    try {
      const enabled = h.providers
        .info()
        .filter((i) => i.enabled)
        .map((i) => i.id);
      expect(enabled.sort()).toEqual([...ids].sort());
    } finally {
      await h.close();
    }
  });
});
