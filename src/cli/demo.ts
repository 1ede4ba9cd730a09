/**
 * `compute-mcp demo`: the main job on the embedded emulators, through a real MCP client: find an H100, quote,
 * confirm, create, wait, console, pause, snapshot, delete on Genesis Cloud; then a Mithril spot bid, paused and
 * resumed (a yes again: it bills again). The client cannot elicit, so the demo walks the confirmation-token path that
 * works with every client; the "human" approval is printed where a person would answer.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';
import { startRuntime } from '../runtime.js';
import { createServer } from '../server.js';
import { connectInProcess } from './inprocess.js';

const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyForTheEmulatorOnly0000000000000000 demo@compute-mcp';

type Out = Record<string, unknown> & { status?: string };

export async function runDemo(log: Logger, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const pace = process.env.COMPUTE_MCP_EMULATOR_PACE === 'instant' ? 'instant' : 'demo';
  const rt = await startRuntime({ emulate: true, env: {}, log, pace });
  const server = createServer({ providers: rt.providers, config: rt.config, state: rt.state, log, guards: rt.guards, pollIntervalMs: pace === 'instant' ? 20 : 500 });
  const client = await connectInProcess(server);
  const say = (s = '') => write(`${s}\n`);
  let step = 0;
  const call = async (title: string, name: string, args: Record<string, unknown>): Promise<Out> => {
    say(`\n${++step}. ${title}\n   → ${name} ${JSON.stringify(args, (_k, v) => (typeof v === 'string' && v.length > 40 ? `${v.slice(0, 24)}…` : v))}`);
    const r = await client.callTool({ name, arguments: args }, CallToolResultSchema, {
      onprogress: (p) => say(`   … ${p.message ?? `${p.progress}/${p.total}`}`),
    });
    const text = (r.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
    say(text.split('\n').map((l) => `   ${l}`).join('\n'));
    if (r.isError) return { error: text };
    return r.structuredContent as Out;
  };

  try {
    say('compute-mcp demo — every cloud call below goes to a local emulator; nothing is billed.');
    await call('Which clouds are there?', 'list_providers', {});
    await call('Find H100 types on every cloud, cheapest first', 'list_instance_types', { gpu: 'h100', limit: 5 });

    say('\n— Genesis Cloud: an on-demand H100 VM —');
    const types = await call('The cheapest H100 on Genesis Cloud', 'list_instance_types', { provider: 'genesiscloud', gpu: 'h100', limit: 1 });
    const gc = (types.items as { id: string }[] | undefined)?.[0];
    if (!gc) throw new Error('no H100 type found');
    const g = 'genesiscloud';
    const create = { provider: g, instance_type: gc.id, name: 'demo-h100', ssh_public_key: SSH_KEY, lifetime_hours: 2 };
    await call('Quote it without creating anything (dry run)', 'create_vm', { ...create, dry_run: true });
    const ask = await call('Ask to create it: a GPU VM needs a human yes', 'create_vm', create);
    if (ask.status !== 'confirmation_required') throw new Error(`expected confirmation_required, got ${ask.status}`);
    say('\n   [human] reads the summary above and says: yes.');
    const created = await call('Create it with the confirmation token', 'create_vm', { ...create, confirmation_token: ask.confirmation_token });
    const id = (created.instance as { id: string } | undefined)?.id;
    if (!id) throw new Error('create failed');
    await call('The same call again (a retry) never makes a second VM', 'create_vm', { ...create, confirmation_token: ask.confirmation_token });
    await call('Wait until it runs', 'wait_for_instance', { provider: g, id, status: 'running', timeout_seconds: 30 });
    await call('How do I get in?', 'get_console', { provider: g, id });
    await call('Pause it', 'pause_instances', { provider: g, ids: [id] });
    await call('Wait until it is paused', 'wait_for_instance', { provider: g, id, status: 'paused', timeout_seconds: 30 });
    const snap = await call('Snapshot its disk', 'snapshot', { provider: g, id, name: 'demo-h100-snap' });
    if (!snap.snapshot) throw new Error('snapshot failed');
    await call('List its snapshots', 'list_snapshots', { provider: g, id });
    const del = await call('Delete it: deletes need a human yes too', 'delete_vm', { provider: g, id });
    say('\n   [human] says: yes, delete it.');
    await call('Delete with the confirmation token', 'delete_vm', { provider: g, id, confirmation_token: del.confirmation_token });
    await call('Wait until it is gone', 'wait_for_instance', { provider: g, id, status: 'terminated', timeout_seconds: 30 });

    say('\n— Mithril: a spot bid at the quoted limit price —');
    const m = 'mithril';
    const bid = { provider: m, instance_type: 'h100-80gb.sxm.8x', name: 'demo-spot', ssh_public_key: SSH_KEY, lifetime_hours: 2 };
    const askBid = await call('Ask to bid: the limit price is what the human approves', 'create_vm', bid);
    if (askBid.status !== 'confirmation_required') throw new Error(`expected confirmation_required, got ${askBid.status}`);
    say('\n   [human] accepts the limit price: yes.');
    const placed = await call('Place the bid with the confirmation token', 'create_vm', { ...bid, confirmation_token: askBid.confirmation_token });
    const bidId = (placed.instance as { id: string } | undefined)?.id;
    if (!bidId) throw new Error('bid failed');
    await call('Wait until its instance runs', 'wait_for_instance', { provider: m, id: bidId, status: 'running', timeout_seconds: 30 });
    await call('How do I get in?', 'get_console', { provider: m, id: bidId });
    await call('Pause the bid (its boot disk is kept)', 'pause_instances', { provider: m, ids: [bidId] });
    await call('Wait until it is paused', 'wait_for_instance', { provider: m, id: bidId, status: 'paused', timeout_seconds: 30 });
    const askResume = await call('Ask to resume it: it bills again, so it needs a yes like a create', 'resume_instances', { provider: m, ids: [bidId] });
    if (askResume.status !== 'confirmation_required') throw new Error(`expected confirmation_required, got ${askResume.status}`);
    say('\n   [human] says: yes, resume it.');
    await call('Resume it with the confirmation token', 'resume_instances', { provider: m, ids: [bidId], confirmation_token: askResume.confirmation_token });
    await call('Wait until it runs again', 'wait_for_instance', { provider: m, id: bidId, status: 'running', timeout_seconds: 30 });
    const delBid = await call('Cancel the bid: a delete needs a human yes', 'delete_vm', { provider: m, id: bidId });
    say('\n   [human] says: yes.');
    await call('Cancel it with the confirmation token', 'delete_vm', { provider: m, id: bidId, confirmation_token: delBid.confirmation_token });
    await call('Wait until it is gone', 'wait_for_instance', { provider: m, id: bidId, status: 'terminated', timeout_seconds: 30 });
    await call('Nothing left running', 'list_instances', { status: 'running' });
    say('\nDone: an H100 on Genesis Cloud found, quoted, confirmed, created, reached, paused, snapshotted and deleted;');
    say('a Mithril spot bid placed at the approved limit price, paused, resumed and cancelled.');
    return 0;
  } catch (e) {
    say(`\nThe demo stopped: ${(e as Error).message}`);
    return 1;
  } finally {
    await (client as Client).close();
    await server.close();
    await rt.close();
  }
}
