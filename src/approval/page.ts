/**
 * The approval page: plain HTML, no script, readable on a phone. It shows exactly what will happen and two buttons,
 * each a POST form carrying the page's CSRF token. Everything shown is escaped: the summary holds names agents chose.
 */
import type { Approval } from './approvals.js';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const frame = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · compute-mcp</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:1rem;background:#f6f7f9;color:#1b1f24}
main{max-width:40rem;margin:auto;background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:1.25rem}
h1{font-size:1.3rem;margin:0 0 .75rem}.what{font-size:1.05rem;white-space:pre-wrap;overflow-wrap:anywhere}
.meta{color:#59636e;font-size:.9rem}.row{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:1.25rem}
button{font:inherit;padding:.7rem 1.4rem;border-radius:6px;border:1px solid #8c959f;background:#fff;cursor:pointer;flex:1}
button.yes{background:#1a7f37;border-color:#1a7f37;color:#fff}form{flex:1;display:flex}
</style></head><body><main>${body}</main></body></html>`;

/**
 * The page a valid, open link shows. Its forms post back to the page's own address (no `action`), so a link behind a
 * proxy that routes a path prefix to one replica is answered by the replica that holds the approval.
 */
export function approvalPage(a: Approval, csrf: string): string {
  const form = (action: 'approve' | 'decline', label: string, cls: string) =>
    `<form method="post"><input type="hidden" name="csrf" value="${esc(csrf)}">` +
    `<input type="hidden" name="action" value="${action}"><button type="submit" class="${cls}">${label}</button></form>`;
  return frame(
    'Approve?',
    `<h1>compute-mcp asks for your approval</h1>
<p class="what" id="summary">${esc(a.summary)}</p>
<p class="meta">Requested by <b>${esc(a.tool)}</b> on <b>${esc(a.provider)}</b>. This link works once, until
${esc(new Date(a.expires_at).toISOString())}. Nothing happens unless you approve.</p>
<div class="row">${form('approve', 'Approve', 'yes')}${form('decline', 'Decline', 'no')}</div>`,
  );
}

/** What every other answer of the page says. */
export function resultPage(kind: 'approved' | 'declined' | 'expired' | 'used' | 'unknown' | 'refused', a?: Approval) {
  const d = a?.decision;
  const text: Record<typeof kind, [string, string]> = {
    approved: ['Approved', 'Thank you. The server goes ahead now; you can close this page.'],
    declined: ['Declined', 'Nothing will be done. You can close this page.'],
    expired: [
      'This link expired',
      `It expired at ${a ? new Date(a.expires_at).toISOString() : ''}; nothing was done. Ask the agent again.`,
    ],
    used: [
      'This link was already used',
      d
        ? `It was ${d.action === 'approve' ? 'approved' : 'declined'} at ${new Date(d.at).toISOString()}; it works once.`
        : 'It works once.',
    ],
    unknown: ['This link is not valid', 'No approval has this link. Nothing was done.'],
    refused: [
      'Refused',
      'This request did not come from the approval page itself; nothing was done. Open the link again.',
    ],
  };
  const [title, body] = text[kind];
  return frame(
    title,
    `<h1>${esc(title)}</h1><p id="result">${esc(body)}</p>${a ? `<p class="meta what">${esc(a.summary)}</p>` : ''}`,
  );
}
