/**
 * The spend page (`compute-mcp spend --html FILE`) in a real headless Chromium. The report comes from the real pieces:
 * VMs created through create_vm on the emulators (auto-approved by the policy; ONET's unknown price by a human's
 * yes), one paused, one made on the cloud behind the server's back with a hostile name, a cloud that cannot be read
 * (its error text hostile too), and leases with every `then` (those the policy in force cannot make are rewritten
 * through the lease store, as another policy or a sweep would have left them). The report is taken 90 minutes later
 * (the lease store's clock), so one lease is overdue. Then the page is opened and read as a person would.
 *
 * Chromium: CHROMIUM_PATH, else /usr/bin/chromium (Debian's `chromium`). Without it the tests are skipped with a
 * warning, or fail when COMPUTE_MCP_REQUIRE_BROWSER=1 (CI).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseStore, type Lease } from '../../src/guardrails/leases.js';
import { spendPage } from '../../src/spend/html.js';
import { spendReport, type SpendReport } from '../../src/spend/report.js';
import { CLI, ROOT, requireBuilt } from '../helpers/cli.js';
import { CPU2, H100, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const HAVE = existsSync(CHROMIUM);
const REQUIRED = process.env.COMPUTE_MCP_REQUIRE_BROWSER === '1';
if (!HAVE && !REQUIRED)
  console.warn(
    `spend-page tests skipped: no Chromium at ${CHROMIUM}.\n` +
      'Install it: apt-get install -y chromium (as root), or point CHROMIUM_PATH at a Chromium.',
  );

const ARTIFACTS = join(ROOT, 'test-artifacts');
const HOSTILE = '<img src=x onerror=alert(1)>';
const HOSTILE_ERROR = '</svg><script>alert(2)</script>';
const usd = (v: number) => `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
/** What each lease's `then` says on the page. */
const THEN = { stop: 'pause', delete: 'delete', notify: 'notify', cloud_ends: 'cloud ends it' };

let browser: Browser;
let h: Harness;
let report: SpendReport;
let file: string;

/** A report with every case the page must show, from the emulators and the tools. */
async function buildReport(): Promise<SpendReport> {
  h = await startHarness({
    mithril: true,
    clouds: ['onet', 'instavm'],
    config: { policy: { autoApprove: { maxUsdPerHour: 100 }, leases: { onExpiry: 'stop' } } },
    elicit: () => ({ action: 'accept', content: { approve: true } }),
  });
  const create = async (args: Record<string, unknown>) => {
    const r = await h.call('create_vm', args);
    expect(r.isError, text(r)).toBeFalsy();
    return (r.structuredContent as { instance: { id: string } }).instance;
  };
  const cpu = { provider: 'genesiscloud', instance_type: CPU2, ssh_public_key: SSH_KEY };
  const gpu = await create({ ...cpu, instance_type: H100, name: 'train-llama', lifetime_hours: 1 });
  const nb = await create({ ...cpu, name: 'notebook', lifetime_hours: 8 });
  const etl = await create({ ...cpu, name: 'etl-nightly', lifetime_hours: 3 });
  await create({ provider: 'onet', instance_type: 'vps-s1', name: 'vps-web', ssh_public_key: SSH_KEY });
  const box = await create({ provider: 'instavm', instance_type: '2vcpu-4gb', name: 'sandbox', lifetime_hours: 2 });
  const paused = await h.call('pause_instances', { provider: 'genesiscloud', ids: [nb.id] });
  expect(paused.isError, text(paused)).toBeFalsy();

  // Made on the cloud, not through the server: no lease, and a name no tool would accept.
  const outside = await fetch(`${h.emulator.baseUrl}/compute/v1/instances`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.emulator.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: HOSTILE,
      hostname: 'x',
      type: CPU2,
      region: h.emulator.liveInstances()[0]!.region,
      image: 'ubuntu-22.04',
      password: 'Outside-the-server-1',
    }),
  });
  expect(outside.status, await outside.clone().text()).toBe(201);
  // Mithril cannot be read, and says something hostile about it.
  h.mithril!.http.injectFault({ method: 'GET', status: 403, body: { detail: HOSTILE_ERROR }, times: 0 });

  const later = Date.now() + 90 * 60_000;
  const leases = new LeaseStore(h.state, () => later);
  const rewrite = async (provider: string, id: string, change: Partial<Lease>) => {
    const { state: _, ...l } = (await leases.forInstance(provider, id))!;
    await leases.open({ ...l, ...change });
  };
  await rewrite('genesiscloud', etl.id, { on_expiry: 'delete' });
  await rewrite('genesiscloud', gpu.id, { on_expiry: 'notify' });
  await leases.mark(
    (await leases.forInstance('genesiscloud', gpu.id))!.key,
    'overdue',
    'notified: past its lease, still running',
  );
  if ((await leases.forInstance('instavm', box.id))!.enforced_by !== 'cloud')
    await rewrite('instavm', box.id, { enforced_by: 'cloud' });
  return spendReport(h.providers.enabled(), leases);
}

async function open(path: string, viewport = { width: 1100, height: 900 }) {
  const page = await browser.newPage({ viewport });
  const requests: string[] = [];
  const problems: string[] = [];
  const url = pathToFileURL(path).href;
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => problems.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => (problems.push(`dialog: ${d.message()}`), void d.dismiss()));
  await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  await page.goto(url);
  return { page, others: () => requests.filter((r) => r !== url), problems };
}

const count = (page: Page, selector: string) => page.locator(selector).count();

describe.skipIf(!HAVE && !REQUIRED)('the spend page in headless Chromium', () => {
  beforeAll(async () => {
    if (!HAVE)
      throw new Error(`COMPUTE_MCP_REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    report = await buildReport();
    file = join(mkdtempSync(join(tmpdir(), 'compute-mcp-spend-')), 'spend.html');
    writeFileSync(file, spendPage(report));
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('the report covers every case the page must show', () => {
    const thens = new Set(report.vms.map((v) => v.lease?.then));
    expect([...thens].sort()).toEqual(['cloud_ends', 'delete', 'notify', 'stop', undefined]);
    expect(report.vms.some((v) => v.lease?.state === 'overdue')).toBe(true);
    expect(report.vms.some((v) => v.status === 'paused') && report.vms.some((v) => v.billing)).toBe(true);
    expect(report.vms.some((v) => v.usd_per_hour === null && v.billing)).toBe(true);
    expect(report.vms.find((v) => v.name === HOSTILE)?.lease).toBeUndefined();
    expect(report.clouds.find((c) => c.provider === 'mithril')?.error).toContain(HOSTILE_ERROR);
  });

  it('shows the estimate, the totals, every VM by name, the clouds, the leases; hostile text stays text', async () => {
    const { page, others, problems } = await open(file);
    const body = await page.locator('body').innerText();
    expect(body).toContain('ESTIMATE');
    expect(body).toContain(report.cost_basis);
    expect(body).toContain(report.generated_at.slice(0, 19).replace('T', ' '));
    const t = report.totals;
    const totals = await page.locator('.totals').innerText();
    for (const s of [`${t.billing} of ${t.vms}`, usd(t.usd_per_hour_now), usd(t.cost_so_far_usd)])
      expect(totals).toContain(s);
    expect(totals).toContain(usd(t.cost_to_lease_end_usd));
    expect(totals).toMatch(new RegExp(`unknown price\\s+${t.unknown_priced} VMs?`, 'i'));

    // Every VM: its name as text in the table and the timeline, one bar in the timeline.
    const names = await page.locator('tbody tr td:nth-child(3)').allInnerTexts();
    expect(names.sort()).toEqual(report.vms.map((v) => v.name).sort());
    expect(await page.locator('svg.timeline').textContent()).toContain(HOSTILE);
    expect(await count(page, 'svg.timeline rect.bar')).toBe(report.vms.length);
    for (const v of report.vms) {
      const kind = v.billing ? 'billing' : v.status === 'paused' ? 'paused' : 'other';
      expect(await count(page, `svg.timeline rect.bar.${kind}[data-vm="${v.provider}/${v.id}"]`)).toBe(1);
    }
    expect(await count(page, 'svg.timeline line.now')).toBe(1);
    expect((await page.locator('svg.timeline text.axis').allInnerTexts()).length).toBeGreaterThanOrEqual(3);

    // A lease marker per lease, saying what happens; the overdue one flagged.
    const leased = report.vms.filter((v) => v.lease);
    expect(await count(page, 'svg.timeline g.lease')).toBe(leased.length);
    for (const [then, words] of Object.entries(THEN))
      expect(await page.locator(`svg.timeline g.lease[data-then="${then}"]`).first().textContent()).toContain(words);
    const late = await page.locator('svg.timeline g.lease.overdue').allTextContents();
    expect(late).toHaveLength(1);
    expect(late[0]).toMatch(/^OVERDUE: notify at /);
    expect(await page.locator('td .over').allInnerTexts()).toHaveLength(1);

    // Per cloud: two bars for each cloud read, the error text of the one not read.
    const read = report.clouds.filter((c) => !c.error);
    expect(await count(page, 'svg.clouds rect.so-far')).toBe(read.length);
    expect(await count(page, 'svg.clouds rect.per-hour')).toBe(read.length);
    expect(await page.locator('svg.clouds').textContent()).toContain('not read');
    const err = await page.locator('p.cloud-error[data-cloud="mithril"]').textContent();
    expect(err).toContain('Mithril not read');
    expect(err).toContain(HOSTILE_ERROR);

    // Nothing made from the hostile strings, nothing that loads, nothing run, nothing asked for.
    expect(await count(page, 'img, script, iframe, object, embed, link, [src], [href], [onerror]')).toBe(0);
    expect(await page.locator('style').textContent()).not.toMatch(/url\(|@import/);
    expect(others()).toEqual([]);
    expect(problems).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'spend-page.png'), fullPage: true });
    await page.close();
  });

  it('fits a phone: no horizontal overflow of the body; the table scrolls in its own box', async () => {
    const { page, others } = await open(file, { width: 390, height: 844 });
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(await page.evaluate<number>('document.body.scrollWidth')).toBeLessThanOrEqual(390);
    for (const svg of await page.locator('svg').all()) {
      const box = (await svg.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(390);
    }
    const table = "document.querySelector('.scroll')";
    expect(await page.evaluate<boolean>(`${table}.scrollWidth > ${table}.clientWidth`)).toBe(true);
    expect(others()).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'spend-page-phone.png'), fullPage: true });
    await page.close();
  });

  it('the built CLI writes a page that opens: spend --html FILE --emulate', async () => {
    requireBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'compute-mcp-spend-cli-'));
    const out = join(dir, 'spend.html');
    const { stderr } = await promisify(execFile)(process.execPath, [CLI, 'spend', '--html', out, '--emulate'], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, COMPUTE_MCP_EMULATOR_PACE: 'instant' },
      timeout: 30_000,
    });
    expect(stderr).toContain(`wrote ${out}`);
    const { page, others, problems } = await open(out);
    expect(await page.locator('h1').innerText()).toBe('Spend');
    expect(await page.locator('body').innerText()).toContain('ESTIMATE');
    expect(await count(page, '.totals > div')).toBe(5);
    expect(others()).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 40_000);
});
