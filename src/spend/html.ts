/**
 * The spend report as one self-contained page (written by `compute-mcp spend --html FILE`): inline CSS and SVG, no
 * script, nothing loaded from anywhere (its own Content-Security-Policy forbids that too). Names, ids and error texts
 * come from agents and clouds: every string reaches the page through `esc` (directly, or as an attribute of `el`).
 */
import type { SpendReport, SpendVm } from './report.js';

const HOUR = 3_600_000;
const esc = (v: unknown) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** An SVG element; attribute values are escaped, `inner` must already be. */
const el = (tag: string, attrs: Record<string, string | number | undefined>, inner?: string) => {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${esc(typeof v === 'number' ? Math.round(v * 10) / 10 : v)}"`)
    .join('');
  return inner === undefined ? `<${tag}${a}/>` : `<${tag}${a}>${inner}</${tag}>`;
};
const svg = (cls: string, w: number, h: number, label: string, parts: string[]) =>
  el('svg', { class: cls, viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': label }, parts.join(''));
const usd = (v: number | null) =>
  v === null ? '?' : `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const when = (iso: string, long = true) => (long ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16));
const THEN = { stop: 'pause', delete: 'delete', notify: 'notify', cloud_ends: 'cloud ends it' } as const;
const COLOR = { billing: '#2f6f9f', paused: '#9aa5b1', other: '#c9a227', 'lease end': '#3f8f5f', overdue: '#b42318' };
const kind = (v: SpendVm) => (v.billing ? 'billing' : v.status === 'paused' ? 'paused' : 'other');
const overdue = (v: SpendVm, now: number) =>
  !!v.lease && (v.lease.state === 'overdue' || (v.lease.state === 'open' && Date.parse(v.lease.expires_at) <= now));
/** What the lease does and when, e.g. "OVERDUE: notify at 07:36". */
const leaseWords = (l: NonNullable<SpendVm['lease']>, late: boolean, at: string) =>
  `${late ? 'OVERDUE: ' : ''}${THEN[l.then]} at ${at}` +
  (l.state === 'done' || l.state === 'lost' ? ` (${l.state})` : '');

const CSS = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2933;background:#fafaf7;margin:0 auto;
padding:16px;max-width:980px}
h1{font-size:1.4em;margin:0 0 4px}h2{font-size:1.1em;margin:28px 0 8px}p{margin:4px 0}
.est{background:#fff4d6;border:1px solid #e6c65c;border-radius:6px;padding:8px 10px;margin:10px 0}
.totals{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;margin:12px 0}
.totals div{background:#fff;border:1px solid #e1e4e8;border-radius:6px;padding:8px 10px}
.totals b{display:block;font-size:1.3em}.totals span{color:#616e7c;font-size:.9em}
svg{width:100%;max-width:760px;height:auto;display:block;background:#fff;border:1px solid #e1e4e8;border-radius:6px}
svg text{font:13px system-ui,sans-serif;fill:#1f2933}svg .dim{fill:#616e7c}svg .bad{fill:#b42318;font-weight:600}
.bad{color:#b42318}.key span{white-space:nowrap;margin-right:12px}
.key i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.scroll{overflow-x:auto}table{border-collapse:collapse;min-width:100%;background:#fff;font-size:.9em}
th,td{border-bottom:1px solid #e1e4e8;padding:6px 8px;text-align:left;white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums}.over{color:#b42318;font-weight:600}`;

function totals(r: SpendReport): string {
  const t = r.totals;
  const cell = (label: string, value: string) => `<div><span>${label}</span><b>${value}</b></div>`;
  return `<section class="totals">${[
    cell('VMs billing', `${t.billing} of ${t.vms}`),
    cell('$/hour now', usd(t.usd_per_hour_now)),
    cell('Cost so far (estimate)', usd(t.cost_so_far_usd)),
    cell('Until leases end (estimate)', usd(t.cost_to_lease_end_usd)),
    cell('Billing at unknown price', `${t.unknown_priced} VM${t.unknown_priced === 1 ? '' : 's'}`),
  ].join('')}</section>`;
}

/** Per cloud: its name, then a bar for the cost so far and one for the $/hour now, each scaled to the largest. */
function cloudChart(r: SpendReport): string {
  if (!r.clouds.length) return '<p>No cloud is enabled.</p>';
  const W = 480;
  const maxSo = Math.max(0.01, ...r.clouds.map((c) => c.cost_so_far_usd));
  const maxHr = Math.max(0.01, ...r.clouds.map((c) => c.usd_per_hour_now));
  let y = 8;
  const parts: string[] = [];
  for (const c of r.clouds) {
    const more = c.error
      ? ''
      : `${c.billing} of ${c.vms} billing${c.unknown_priced ? `, ${c.unknown_priced} at unknown price` : ''}`;
    const name = `<tspan font-weight="600">${esc(c.name)}</tspan>`;
    parts.push(el('text', { x: 8, y: y + 14 }, `${name} <tspan class="dim">${more}</tspan>`));
    y += 22;
    if (c.error) {
      parts.push(el('text', { class: 'bad', x: 8, y: y + 12 }, 'not read: its VMs are missing here (see below)'));
      y += 30;
      continue;
    }
    const bar = (cls: string, label: string, v: number, top: number, value: string, fill: string) => {
      const w = Math.max(1, (v / top) * (W - 190));
      parts.push(el('text', { class: 'dim', x: 8, y: y + 12 }, label));
      parts.push(
        el('rect', { class: cls, 'data-cloud': c.provider, x: 70, y: y + 1, width: w, height: 14, rx: 2, fill }),
      );
      parts.push(el('text', { x: 76 + w, y: y + 12 }, value));
      y += 20;
    };
    bar('so-far', 'so far', c.cost_so_far_usd, maxSo, usd(c.cost_so_far_usd), COLOR.billing);
    const unknown = c.unknown_priced ? ' + ?' : '';
    bar('per-hour', '$/hour', c.usd_per_hour_now, maxHr, `${usd(c.usd_per_hour_now)}/h${unknown}`, COLOR['lease end']);
    y += 10;
  }
  const errors = r.clouds.filter((c) => c.error);
  const said = errors.map((c) =>
    el('p', { class: 'bad cloud-error', 'data-cloud': c.provider }, esc(`${c.name} not read: ${c.error}`)),
  );
  return svg('clouds', W, y, 'Cost per cloud', parts) + said.join('');
}

/** Readable axis steps: the first that gives at most six ticks. */
const STEPS = [0.25, 0.5, 1, 2, 3, 6, 12, 24, 48, 168, 336, 720].map((h) => h * HOUR);

/** One row per VM: its name and lease, then a bar from creation to now, the rest of its lease dashed to its end. */
function timeline(r: SpendReport): string {
  if (!r.vms.length) return '<p>No VMs.</p>';
  const now = Date.parse(r.generated_at);
  const starts = r.vms.map((v) => (v.created_at ? Date.parse(v.created_at) : now));
  const ends = r.vms.map((v) => (v.lease ? Date.parse(v.lease.expires_at) : now));
  const [lo, hi] = [Math.min(now, ...starts, ...ends), Math.max(now, ...ends)];
  const pad = Math.max((hi - lo) * 0.04, 5 * 60_000);
  const [t0, t1] = [lo - pad, hi + pad];
  const long = t1 - t0 > 36 * HOUR;
  const [W, L, R, TOP, ROW] = [480, 8, 472, 40, 40];
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (R - L);
  const H = TOP + r.vms.length * ROW + 4;
  const step = STEPS.find((s) => (t1 - t0) / s <= 6) ?? STEPS.at(-1)!;
  const parts: string[] = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    parts.push(el('line', { x1: x(t), x2: x(t), y1: 22, y2: H, stroke: '#eef0f2' }));
    const at = when(new Date(t).toISOString(), long);
    parts.push(el('text', { class: 'dim axis', x: x(t), y: 16, 'text-anchor': 'middle' }, at));
  }
  r.vms.forEach((v, i) => {
    const y = TOP + i * ROW;
    const late = overdue(v, now);
    const who = `${v.provider}${v.created_at ? '' : ' · created ?'}`;
    const label = `${esc(cut(v.name, 28))} <tspan class="dim">${esc(who)}</tspan>`;
    parts.push(el('text', { x: L, y: y + 12 }, `${label}<title>${esc(`${v.name} (${v.id}), ${v.status}`)}</title>`));
    const [x0, w] = [x(starts[i]!), Math.max(2, x(now) - x(starts[i]!))];
    const bar = { class: `bar ${kind(v)}`, 'data-vm': `${v.provider}/${v.id}`, x: x0, y: y + 18, width: w, height: 12 };
    parts.push(el('rect', { ...bar, rx: 2, fill: COLOR[kind(v)], opacity: v.created_at ? undefined : 0.4 }));
    if (!v.lease) return;
    const [end, stroke] = [Date.parse(v.lease.expires_at), late ? COLOR.overdue : COLOR['lease end']];
    if (end > now)
      parts.push(el('line', { x1: x(now), x2: x(end), y1: y + 24, y2: y + 24, stroke, 'stroke-dasharray': '3 3' }));
    const said = esc(leaseWords(v.lease, late, when(v.lease.expires_at, long)));
    const words = el('text', { class: late ? 'bad' : 'dim', x: R, y: y + 12, 'text-anchor': 'end' }, said);
    const mark = el('path', { d: `M${x(end).toFixed(1)} ${y + 15}v18`, stroke, 'stroke-width': 3 });
    parts.push(el('g', { class: `lease${late ? ' overdue' : ''}`, 'data-then': v.lease.then }, mark + words));
  });
  const dashed = { stroke: '#1f2933', 'stroke-width': 1.5, 'stroke-dasharray': '4 3' };
  parts.push(el('line', { class: 'now', x1: x(now), x2: x(now), y1: 20, y2: H, ...dashed }));
  parts.push(el('text', { x: x(now) + 4, y: 31, 'font-weight': 600 }, 'now'));
  const key = Object.entries(COLOR).map(([k, c]) => `<span><i style="background:${c}"></i>${k}</span>`);
  return `${svg('timeline', W, H, 'VMs and leases over time', parts)}<p class="key">Times in UTC. ${key.join('')}</p>`;
}

function table(r: SpendReport): string {
  const now = Date.parse(r.generated_at);
  const head = ['Cloud', 'ID', 'Name', 'Type', 'Status', '$/hour', 'So far', 'To lease end', 'Lease'];
  const rows = r.vms.map((v) => {
    const cells = [v.provider, v.id, v.name, v.instance_type, v.status].map((s) => `<td>${esc(s)}</td>`);
    const money = [usd(v.usd_per_hour), usd(v.cost_so_far_usd), v.lease ? usd(v.lease.cost_to_end_usd) : '-'];
    const late = overdue(v, now);
    const at = `${v.lease?.expires_at.slice(0, 16).replace('T', ' ')} UTC`;
    const lease = v.lease
      ? `<span${late ? ' class="over"' : ''}>${esc(`${leaseWords(v.lease, late, at)} (${v.lease.state})`)}</span>`
      : 'none (not created here)';
    return `<tr>${cells.join('')}${money.map((m) => `<td class="n">${m}</td>`).join('')}<td>${lease}</td></tr>`;
  });
  const th = head.map((h) => `<th>${h}</th>`).join('');
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

export function spendPage(report: SpendReport): string {
  const at = `${report.generated_at.slice(0, 19).replace('T', ' ')} UTC`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>compute-mcp spend at ${esc(at)}</title><style>${CSS}</style></head><body>
<h1>Spend</h1><p>Report at <time datetime="${esc(report.generated_at)}">${esc(at)}</time></p>
<p class="est"><strong>ESTIMATE.</strong> Every cost on this page is an estimate, not a bill.
Basis: ${esc(report.cost_basis)}.</p>
${totals(report)}
<h2>Cost per cloud</h2>${cloudChart(report)}
<h2>Timeline</h2>${timeline(report)}
<h2>VMs</h2>${table(report)}
</body></html>
`;
}
