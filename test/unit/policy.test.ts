import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { decideCreate, decideDelete } from '../../src/guardrails/policy.js';
import { fromMicros, makeQuote, quoteSummary, toMicros, type Quote } from '../../src/guardrails/quote.js';
import { globMatch } from '../../src/guardrails/glob.js';
import type { CreatePlan } from '../../src/domain/model.js';

const q = (over: Partial<Quote> = {}): Quote => ({
  provider: 'genesiscloud',
  instance_type: 'vcpu-2_memory-4g_disk-80g',
  region: 'NORD-NO-KRS-1',
  image: 'ubuntu-22.04',
  gpu: null,
  usd_per_hour: 0.04,
  price_source: 'config',
  lifetime_hours: null,
  max_total_usd: null,
  expires_at: null,
  on_expiry: null,
  ...over,
});
const policy = (p: unknown = {}) => parseConfig({ policy: p }).policy;

describe('decideCreate', () => {
  it.each([
    ['a cheap CPU VM is allowed', q(), {}, 'allow'],
    ['a GPU VM needs a yes', q({ gpu: { model: 'H100', count: 8 }, usd_per_hour: 17 }), {}, 'confirm'],
    ['an unknown price needs a yes', q({ usd_per_hour: null, price_source: null }), {}, 'confirm'],
    ['a CPU VM above aboveUsdPerHour needs a yes', q({ usd_per_hour: 0.6 }), {}, 'confirm'],
    [
      'confirm.gpu never lets a cheap GPU VM through',
      q({ gpu: { model: 'RTX 3080', count: 1 }, usd_per_hour: 0.35 }),
      { confirm: { gpu: 'never' } },
      'allow',
    ],
    [
      'autoApprove covers a GPU VM under its price',
      q({ gpu: { model: 'RTX 3080', count: 1 }, usd_per_hour: 0.35 }),
      { autoApprove: { maxUsdPerHour: 0.4 } },
      'allow',
    ],
    [
      'autoApprove never covers an unknown price',
      q({ gpu: { model: 'RTX 3080', count: 1 }, usd_per_hour: null }),
      { autoApprove: { maxUsdPerHour: 5 } },
      'confirm',
    ],
    ['read-only denies', q(), { readOnly: true }, 'deny'],
    ['a provider outside the allow-list is denied', q(), { allow: { providers: ['mithril'] } }, 'deny'],
    ['a region glob matches', q(), { allow: { regions: ['NORD-*'] } }, 'allow'],
    ['a region outside the globs is denied', q(), { allow: { regions: ['EUC-*'] } }, 'deny'],
    ['a type outside the globs is denied', q(), { allow: { instanceTypes: ['*nvidia*'] } }, 'deny'],
    ['over maxUsdPerHourPerVm is denied', q({ usd_per_hour: 41 }), { limits: { maxUsdPerHourPerVm: 40 } }, 'deny'],
    ['over maxLifetimeHours is denied', q({ lifetime_hours: 100 }), { limits: { maxLifetimeHours: 72 } }, 'deny'],
  ])('%s', (_name, quote, p, kind) => expect(decideCreate(quote, policy(p)).kind).toBe(kind));

  it('says which rule denied and what is allowed instead', () => {
    const d = decideCreate(q(), policy({ allow: { regions: ['EUC-*'] } }));
    expect(d).toMatchObject({ kind: 'deny', rule: 'policy.allow.regions', instead: expect.stringContaining('EUC-*') });
  });
});

describe('decideDelete', () => {
  it('confirms by default, allows with confirm.delete never, denies when destructive tools are off', () => {
    expect(decideDelete(policy()).kind).toBe('confirm');
    expect(decideDelete(policy({ confirm: { delete: 'never' } })).kind).toBe('allow');
    expect(decideDelete(policy({ disableDestructive: true })).kind).toBe('deny');
  });
});

describe('quotes', () => {
  const plan = {
    provider: 'genesiscloud',
    instance_type: { id: 't', gpu: { model: 'H100', count: 8 } },
    region: 'R',
    image: 'i',
    price: { usd_per_hour: 0.1, source: 'config' },
  } as unknown as CreatePlan;
  it('computes the cap in micro-dollars without float drift', () => {
    expect(0.1 * 3).not.toBe(0.3);
    expect(makeQuote(plan, 3).max_total_usd).toBe(0.3);
    expect(fromMicros(toMicros(17.92) * 2)).toBe(35.84);
  });
  it('has no cap without a lifetime or a price', () => {
    expect(makeQuote(plan, null).max_total_usd).toBeNull();
    expect(makeQuote({ ...plan, price: { usd_per_hour: null, source: null } }, 2).max_total_usd).toBeNull();
  });
  it('summarises GPUs, price and lifetime, and says when the price is unknown', () => {
    expect(quoteSummary(makeQuote(plan, 2), { name: 'x' })).toBe(
      'Create on genesiscloud: t (8× H100) in R, $0.10/hour (price from your config), a lease of 2 h (about $0.20), then it is paused (GPU billing stops, the disk is kept). Image i. Name: "x".',
    );
    expect(quoteSummary(makeQuote(plan, 2, 'delete'), { name: 'x' })).toContain(
      'then it is deleted (its disk is lost)',
    );
    expect(quoteSummary(makeQuote(plan, 2, 'cloud_ends'), { name: 'x' })).toContain('then the cloud ends it');
    expect(quoteSummary(makeQuote(plan, 2, 'notify'), { name: 'x' })).toContain('then you are told, and it bills');
    expect(
      quoteSummary(makeQuote({ ...plan, price: { usd_per_hour: null, source: null } }, null), { name: 'x' }),
    ).toContain('price unknown, no lease: it bills until paused or deleted');
  });
});

describe('globMatch', () => {
  it.each([
    ['*', 'anything', true],
    ['NORD-*', 'NORD-NO-KRS-1', true],
    ['nord-*', 'NORD-NO-KRS-1', true],
    ['EUC-?E-*', 'EUC-DE-MUC-1', true],
    ['EUC-*', 'NORD-NO-KRS-1', false],
    ['a.b', 'axb', false],
  ])('%s vs %s', (p, v, r) => expect(globMatch(p, v)).toBe(r));
});
