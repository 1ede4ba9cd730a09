/** `compute-mcp spend [--json | --html FILE]`: what runs now and what it costs, across every enabled cloud. */
import { writeFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import { startRuntime } from '../runtime.js';
import { spendReport, type SpendReport } from '../spend/report.js';

export async function runSpend(
  cmd: { json: boolean; html?: string; emulate: boolean; config?: string },
  log: Logger,
): Promise<number> {
  const rt = await startRuntime({ emulate: cmd.emulate, configFile: cmd.config, env: process.env, log });
  try {
    const report = await spendReport(rt.providers.enabled(), rt.guards.leases);
    if (cmd.html !== undefined) {
      const { spendPage } = await import('../spend/html.js');
      writeFileSync(cmd.html, spendPage(report));
      process.stderr.write(`compute-mcp: wrote ${cmd.html}\n`);
    } else process.stdout.write(cmd.json ? `${JSON.stringify(report, null, 2)}\n` : spendText(report));
    return 0;
  } finally {
    await rt.close();
  }
}

const usd = (v: number | null) => (v === null ? '?' : `$${v.toFixed(2)}`);

/** The report as a terminal table. */
export function spendText(r: SpendReport): string {
  const rows = r.vms.map((v) => [
    v.provider,
    `${v.id} ${JSON.stringify(v.name)}`,
    v.status,
    v.usd_per_hour === null ? '?' : v.usd_per_hour.toFixed(2),
    usd(v.cost_so_far_usd),
    v.lease ? usd(v.lease.cost_to_end_usd) : '-',
    v.lease
      ? `${v.lease.then} at ${v.lease.expires_at.slice(0, 16).replace('T', ' ')}Z (${v.lease.state})`
      : 'no lease (not created here)',
  ]);
  const head = ['CLOUD', 'VM', 'STATUS', '$/HOUR', 'SO FAR', 'TO LEASE END', 'LEASE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    `${cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()}\n`;
  const t = r.totals;
  const unreadable = r.clouds.filter((c) => c.error).map((c) => `${c.provider}: ${c.error}\n`);
  return (
    `Spend at ${r.generated_at} (${r.cost_basis})\n\n` +
    (rows.length ? line(head) + rows.map(line).join('') : 'No VMs.\n') +
    `\n${t.billing} of ${t.vms} VMs billing: $${t.usd_per_hour_now.toFixed(2)}/hour now` +
    `${t.unknown_priced ? ` plus ${t.unknown_priced} of unknown price` : ''}; $${t.cost_so_far_usd.toFixed(2)} so far; ` +
    `$${t.cost_to_lease_end_usd.toFixed(2)} more until their leases end.\n` +
    (unreadable.length ? `\nNot read (missing above):\n${unreadable.join('')}` : '')
  );
}
