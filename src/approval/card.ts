/**
 * The approval card: an MCP App (the `io.modelcontextprotocol/ui` extension) for hosts that render apps but cannot
 * elicit. A tool that needs a yes answers `approval_pending`; the host renders this card beside the result, the card
 * reads the approval from the result's `_meta` (which the host gives to the app, not to the model), shows the summary,
 * and its buttons call the app-only tool `approve_in_app`. This trusts the host to keep app-only tools and result
 * `_meta` from the model. The card speaks the Apps protocol over postMessage itself (ui/initialize, the tool-result
 * notification, tools/call): no library, no network.
 */
export const CARD_URI = 'ui://compute-mcp/approval.html';
export const CARD_MIME = 'text/html;profile=mcp-app';
export const UI_EXTENSION = 'io.modelcontextprotocol/ui';
/** Where a result carries the approval for the card: `_meta["compute-mcp/approval"]`. */
export const CARD_META = 'compute-mcp/approval';

/** What the card gets through the result's `_meta`. */
export interface CardApproval {
  approval_id: string;
  secret: string;
  summary: string;
}

/** Whether the client declared that it renders MCP Apps. */
export const rendersApps = (caps: { extensions?: Record<string, unknown> } | undefined): boolean => {
  const ui = caps?.extensions?.[UI_EXTENSION] as { mimeTypes?: unknown } | undefined;
  return !!ui && (!Array.isArray(ui.mimeTypes) || ui.mimeTypes.includes(CARD_MIME));
};

const SCRIPT = `
let next = 1; const pending = new Map(); let approval;
const $ = (id) => document.getElementById(id);
const send = (m) => window.parent.postMessage(Object.assign({ jsonrpc: '2.0' }, m), '*');
const request = (method, params) => new Promise((resolve, reject) => {
  const id = next++; pending.set(id, { resolve, reject }); send({ id, method, params });
});
window.addEventListener('message', (e) => {
  const m = e.data; if (!m || m.jsonrpc !== '2.0') return;
  if (m.id !== undefined && pending.has(m.id)) {
    const p = pending.get(m.id); pending.delete(m.id);
    return m.error ? p.reject(new Error(m.error.message)) : p.resolve(m.result);
  }
  if (m.method === 'ui/notifications/tool-result') show(m.params);
  if (m.id !== undefined && m.method === 'ping') send({ id: m.id, result: {} });
});
function show(result) {
  approval = result && result._meta && result._meta['${CARD_META}'];
  if (!approval) { $('summary').textContent = 'Nothing to approve.'; return; }
  $('summary').textContent = approval.summary;
  $('buttons').hidden = false;
}
async function answer(action) {
  $('buttons').hidden = true; $('status').textContent = 'Sending…';
  try {
    const r = await request('tools/call', { name: 'approve_in_app', arguments: {
      approval_id: approval.approval_id, secret: approval.secret, action } });
    $('status').textContent = (r.content && r.content[0] && r.content[0].text) || 'Done.';
  } catch (err) { $('status').textContent = 'Not sent: ' + err.message; }
}
$('approve').onclick = () => answer('approve');
$('decline').onclick = () => answer('decline');
request('ui/initialize', { appInfo: { name: 'compute-mcp approval', version: '1' }, appCapabilities: {},
  protocolVersion: '2026-01-26' }).then(() => send({ method: 'ui/notifications/initialized' }));
`;

/** The card's HTML: the summary as text (never as markup), two buttons, a status line. */
export function cardHtml(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Approve?</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:0;padding:.9rem;color:#1b1f24}
h1{font-size:1.05rem;margin:0 0 .5rem}#summary{white-space:pre-wrap;overflow-wrap:anywhere}
#buttons{display:flex;gap:.6rem;margin-top:.8rem}button{font:inherit;flex:1;padding:.55rem;border-radius:6px;
border:1px solid #8c959f;background:#fff;cursor:pointer}#approve{background:#1a7f37;border-color:#1a7f37;color:#fff}
#status{color:#59636e;margin-top:.6rem}</style></head><body>
<h1>compute-mcp asks for your approval</h1><p id="summary">Waiting for the request…</p>
<div id="buttons" hidden><button id="approve">Approve</button><button id="decline">Decline</button></div>
<p id="status" role="status"></p><script>${SCRIPT}</script></body></html>`;
}
