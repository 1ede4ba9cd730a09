/**
 * Asking a human (SPEC §5.3), in order of preference: the approval page by URL-mode elicitation (the client shows the
 * link to the human; the model never sees it), form elicitation, and otherwise the `confirm.fallback` setting: the
 * approval page sent by the server itself (the user's browser, a webhook) with the call waiting for the answer, a
 * request-bound confirmation token, or a refusal. Decline, cancel, expiry, timeout and errors never approve anything.
 */
import { createHash } from 'node:crypto';
import { ComputeError } from '../domain/errors.js';
import type { ApprovalDesk } from '../approval/desk.js';
import type { Approval } from '../approval/approvals.js';
import type { CardApproval } from '../approval/card.js';

/** Where an answer carries the approval card's data (a symbol: never serialized into structuredContent). */
export const CARD = Symbol('approval card');
import { canonicalJson } from './canonical.js';
import { TOKEN_REFUSALS, type ConfirmationTokens, type TokenBinding } from './token.js';

export const ELICIT_TIMEOUT_MS = 10 * 60 * 1000;

export interface ElicitAnswer {
  action: 'accept' | 'decline' | 'cancel';
  content?: Record<string, unknown>;
}

/** How long a call waits for an answer on the approval page before it answers `approval_pending`. */
export const APPROVAL_WAIT_MS = 60 * 1000;

/** How this call can reach a human: built per tool call from the client's declared capabilities. */
export interface HumanChannel {
  canElicit: boolean;
  elicit(message: string, requestedSchema: Record<string, unknown>): Promise<ElicitAnswer>;
  /** URL-mode elicitation (the client declared `elicitation.url`): shows `url` to the human, not to the model. */
  elicitUrl?(message: string, url: string, elicitationId: string): Promise<ElicitAnswer>;
  /** Tells the client the URL interaction is over (notifications/elicitation/complete). */
  completeUrl?(elicitationId: string): Promise<void>;
  /** The client renders MCP Apps: the approval card can show the summary and take the answer. */
  appCard?: boolean;
  /** A progress notification while the call waits for a human. */
  waiting?(message: string): void;
  signal?: AbortSignal;
}

export type ConfirmOutcome =
  | { approved: true; how: 'elicitation' | 'token'; nonce?: string }
  /** A yes on the approval page; `nonce` is the approval's id (spent with it), `by` where the answer came from. */
  | { approved: true; how: 'url'; nonce: string; by: string }
  /** The page is with the human; the call may wait again with the approval id as its confirmation_token. */
  | {
      approved: false;
      kind: 'approval_pending';
      approval_id: string;
      expires_at: string;
      message: string;
      /** For the approval card: goes into the result's `_meta`, never into what the model reads. */
      card?: CardApproval;
    }
  | { approved: false; kind: 'declined'; reason: 'declined' | 'cancelled' | 'timeout' | 'error'; message: string }
  | { approved: false; kind: 'confirmation_required'; confirmation_token: string; expires_at: string; message?: string }
  /** The token was already spent: the caller decides (an idempotent replay, or a refusal). */
  | { approved: false; kind: 'token_used'; nonce: string };

export interface ConfirmRequest {
  /** The exact summary the human approves. */
  summary: string;
  binding: TokenBinding;
  token?: string;
  /** "create" / "delete": used in refusal hints. */
  action: string;
  channel: HumanChannel;
  tokens: ConfirmationTokens;
  fallback: 'token' | 'deny' | 'url';
  /** Where approval pages are served and sent from; without it there is no page. */
  desk?: ApprovalDesk;
  /** For the page: which tool asks, on which cloud. */
  tool?: string;
  provider?: string;
  /** How long a call waits on the page before answering approval_pending (default APPROVAL_WAIT_MS). */
  waitMs?: number;
  /** Set when asking again because something changed since the last yes. */
  again?: string;
}

export async function confirm(req: ConfirmRequest): Promise<ConfirmOutcome> {
  const summary = req.again ? `${req.again} ${req.summary}` : req.summary;
  // An approval id from an earlier approval_pending answer: wait on that page's answer (it cannot approve by itself).
  if (req.token?.startsWith('apr_') && !req.again && req.desk) return awaitPage(req, req.token, []);
  if (req.token !== undefined && !req.again) {
    // A server that never issues tokens accepts none, not even one another server on the same state directory signed.
    if (req.fallback === 'deny')
      throw new ComputeError(
        'CONFIRMATION_INVALID',
        'this server does not accept confirmation tokens (confirm.fallback is "deny"); nothing was done',
        {
          hint: 'Use a client with MCP elicitation so the human is asked directly, or ask the operator for an autoApprove policy.',
        },
      );
    const check = await req.tokens.redeem(req.token, req.binding);
    if (check.ok) return { approved: true, how: 'token', nonce: check.nonce };
    if (check.reason === 'used') return { approved: false, kind: 'token_used', nonce: check.nonce };
    if (check.reason === 'quote_changed') {
      const was =
        check.approved_usd_per_hour === null ? 'an unknown price' : `$${check.approved_usd_per_hour.toFixed(2)}/hour`;
      return confirm({ ...req, again: `Changed since the human approved ${was}; nothing was done. Ask again:` });
    }
    throw new ComputeError('CONFIRMATION_INVALID', `${TOKEN_REFUSALS[check.reason]}; nothing was done`, {
      hint: `Call again with the same arguments and without confirmation_token to get a new summary and token, show the summary to the human, and ${req.action} only with their yes.`,
    });
  }
  if (req.desk && req.channel.elicitUrl) return viaUrlElicitation(req, req.desk, summary);
  if (req.channel.canElicit) {
    let answer: ElicitAnswer;
    try {
      answer = await req.channel.elicit(`${summary}\nApprove?`, {
        type: 'object',
        properties: { approve: { type: 'boolean', title: 'Approve', description: summary, default: false } },
        required: ['approve'],
      });
    } catch (e) {
      const timeout = /timed? ?out/i.test(String((e as Error)?.message ?? e));
      return {
        approved: false,
        kind: 'declined',
        reason: timeout ? 'timeout' : 'error',
        message: timeout
          ? 'The human did not answer in time; nothing was done.'
          : 'The confirmation request failed; nothing was done.',
      };
    }
    if (answer.action === 'accept' && answer.content?.approve === true) return { approved: true, how: 'elicitation' };
    if (answer.action === 'cancel')
      return {
        approved: false,
        kind: 'declined',
        reason: 'cancelled',
        message: 'The human dismissed the confirmation; nothing was done.',
      };
    return { approved: false, kind: 'declined', reason: 'declined', message: 'The human said no; nothing was done.' };
  }
  if (req.fallback === 'url' && req.desk) return viaPage(req, req.desk, summary);
  if (req.fallback === 'deny' || req.fallback === 'url')
    throw new ComputeError(
      'CONFIRMATION_UNAVAILABLE',
      `this client cannot ask a human, and confirm.fallback is "deny"; nothing was done`,
      {
        hint: 'Use a client with MCP elicitation, or ask the operator to set confirm.fallback to "token" or an autoApprove policy.',
      },
    );
  const t = req.tokens.issue(req.binding);
  return {
    approved: false,
    kind: 'confirmation_required',
    confirmation_token: t.token,
    expires_at: t.expires_at,
    ...(req.again ? { message: req.again } : {}),
  };
}

const bindingHash = (b: TokenBinding) => createHash('sha256').update(canonicalJson(b)).digest('hex');

/** A new approval of this request: bound to exactly what the token binding binds (arguments and quote). */
const newApproval = (req: ConfirmRequest, desk: ApprovalDesk, summary: string) =>
  desk.approvals.create({
    tool: req.tool ?? req.action,
    provider: req.provider ?? '',
    summary,
    binding: bindingHash(req.binding),
  });

/** (a) The client shows the page's link to the human (URL-mode elicitation); the call waits for the page's answer. */
async function viaUrlElicitation(req: ConfirmRequest, desk: ApprovalDesk, summary: string): Promise<ConfirmOutcome> {
  const { approval, secret } = newApproval(req, desk, summary);
  let answer: ElicitAnswer;
  try {
    answer = await req.channel.elicitUrl!(
      `compute-mcp needs your approval to ${req.action}: open the page, check what it says, and approve or decline there.`,
      await desk.link(secret),
      approval.id,
    );
  } catch {
    desk.approvals.withdraw(approval.id);
    return declined('error', 'The approval page could not be shown; nothing was done.');
  }
  if (answer.action !== 'accept') {
    desk.approvals.withdraw(approval.id);
    return answer.action === 'cancel'
      ? declined('cancelled', 'The human dismissed the approval page; nothing was done.')
      : declined('declined', 'The human declined to open the approval page; nothing was done.');
  }
  const settled = await desk.approvals.wait(approval.id, {
    ms: ELICIT_TIMEOUT_MS,
    signal: req.channel.signal,
    tick: () => req.channel.waiting?.('Waiting for the human to answer on the approval page'),
    ...(desk.tickMs ? { tickMs: desk.tickMs } : {}),
  });
  await req.channel.completeUrl?.(approval.id).catch(() => undefined);
  const out = pageOutcome(desk, settled!);
  if (out.approved || out.kind !== 'approval_pending') return out;
  desk.approvals.withdraw(approval.id);
  return declined('timeout', 'The human did not answer on the approval page in time; nothing was done.');
}

/** (c, d) The server sends the page itself (the user's browser, a webhook) and waits for it, bounded. */
async function viaPage(req: ConfirmRequest, desk: ApprovalDesk, summary: string): Promise<ConfirmOutcome> {
  const { approval, secret } = newApproval(req, desk, summary);
  // (b) A host that renders MCP Apps shows the card beside the result: it cannot render before the call answers.
  if (req.channel.appCard)
    return {
      ...(pageOutcome(desk, approval, 'the approval card') as Extract<ConfirmOutcome, { kind: 'approval_pending' }>),
      card: { approval_id: approval.id, secret, summary },
    };
  const ways = await desk.deliver(approval, secret);
  if (!ways.length) {
    desk.approvals.withdraw(approval.id);
    throw new ComputeError(
      'CONFIRMATION_UNAVAILABLE',
      'no way to reach a human with the approval page; nothing was done',
      {
        hint: 'Use a client with URL-mode elicitation, run where a browser can open, or ask the operator to set confirm.webhook.url.',
      },
    );
  }
  return awaitPage(req, approval.id, ways);
}

/** Waits (bounded, with progress, cancellable) for the page's answer to the approval `id`, which must be this request's. */
async function awaitPage(req: ConfirmRequest, id: string, ways: string[]): Promise<ConfirmOutcome> {
  const desk = req.desk!;
  const a = desk.approvals.get(id);
  if (!a || a.binding !== bindingHash(req.binding))
    throw new ComputeError(
      'CONFIRMATION_INVALID',
      'no approval with this id is waiting for this request; nothing was done',
      {
        hint: 'Call again without confirmation_token: the human gets a new approval page.',
      },
    );
  if (a.consumed) return { approved: false, kind: 'token_used', nonce: a.id };
  const said = { browser: 'the page opened in the browser', webhook: 'the link sent to the webhook' } as Record<
    string,
    string
  >;
  const where = ways.length ? ways.map((w) => said[w] ?? w).join(' and ') : 'the approval page';
  const settled = await desk.approvals.wait(id, {
    ms: req.waitMs ?? desk.waitMs ?? APPROVAL_WAIT_MS,
    signal: req.channel.signal,
    tick: () => req.channel.waiting?.(`Waiting for the human to answer on ${where}`),
    ...(desk.tickMs ? { tickMs: desk.tickMs } : {}),
  });
  return pageOutcome(desk, settled!, where);
}

/** An approval as the gate takes it: a yes (spent now), a no, an expiry, or still waiting. */
function pageOutcome(desk: ApprovalDesk, a: Approval, where = 'the approval page'): ConfirmOutcome {
  const d = a.decision;
  if (d?.action === 'approve') {
    if (a.consumed) return { approved: false, kind: 'token_used', nonce: a.id };
    desk.approvals.consume(a.id);
    return { approved: true, how: 'url', nonce: a.id, by: d.from };
  }
  if (d) return declined('declined', 'The human declined on the approval page; nothing was done.');
  if (desk.approvals.stateOf(a) === 'expired')
    return declined('timeout', 'The approval page expired without an answer; nothing was done.');
  return {
    approved: false,
    kind: 'approval_pending',
    approval_id: a.id,
    expires_at: new Date(a.expires_at).toISOString(),
    message: `The approval is waiting for the human (${where}); nothing was done yet. To wait for the answer, call again with the same arguments and confirmation_token set to this approval_id.`,
  };
}

const declined = (
  reason: 'declined' | 'cancelled' | 'timeout' | 'error',
  message: string,
): Extract<ConfirmOutcome, { kind: 'declined' }> => ({ approved: false, kind: 'declined', reason, message });
