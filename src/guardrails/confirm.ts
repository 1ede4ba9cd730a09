/**
 * Asking a human (SPEC §5.3): form elicitation when the client declares it; otherwise the `confirm.fallback`
 * setting decides: a request-bound confirmation token, or a refusal. Decline, cancel, timeout and errors never
 * approve anything.
 */
import { ComputeError } from '../domain/errors.js';
import { TOKEN_REFUSALS, type ConfirmationTokens, type TokenBinding } from './token.js';

export const ELICIT_TIMEOUT_MS = 10 * 60 * 1000;

export interface ElicitAnswer {
  action: 'accept' | 'decline' | 'cancel';
  content?: Record<string, unknown>;
}

/** How this call can reach a human: built per tool call from the client's declared capabilities. */
export interface HumanChannel {
  canElicit: boolean;
  elicit(message: string, requestedSchema: Record<string, unknown>): Promise<ElicitAnswer>;
}

export type ConfirmOutcome =
  | { approved: true; how: 'elicitation' | 'token'; nonce?: string }
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
  fallback: 'token' | 'deny';
  /** Set when asking again because something changed since the last yes. */
  again?: string;
}

export async function confirm(req: ConfirmRequest): Promise<ConfirmOutcome> {
  const summary = req.again ? `${req.again} ${req.summary}` : req.summary;
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
  if (req.fallback === 'deny')
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
