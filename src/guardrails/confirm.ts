/**
 * Asking a human (SPEC §5.3): form elicitation when the client declares it; otherwise the `confirm.fallback`
 * setting decides: a request-bound confirmation token, or a refusal. Decline, cancel, timeout and errors never
 * approve anything.
 */
import { ComputeError } from '../domain/errors.js';
import { TOKEN_REFUSALS, type ConfirmationTokens } from './token.js';

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
  | { approved: true; how: 'elicitation' | 'token' }
  | { approved: false; kind: 'declined'; reason: 'declined' | 'cancelled' | 'timeout' | 'error'; message: string }
  | { approved: false; kind: 'confirmation_required'; confirmation_token: string; expires_at: string };

export interface ConfirmRequest {
  /** The exact summary the human approves. */
  summary: string;
  /** Everything the approval is bound to: tool, arguments (without the token) and the quote. */
  binding: unknown;
  token?: string;
  /** "create" / "delete": used in refusal hints. */
  action: string;
  channel: HumanChannel;
  tokens: ConfirmationTokens;
  fallback: 'token' | 'deny';
}

export async function confirm(req: ConfirmRequest): Promise<ConfirmOutcome> {
  if (req.token !== undefined) {
    const check = req.tokens.redeem(req.token, req.binding);
    if (check.ok) return { approved: true, how: 'token' };
    throw new ComputeError('CONFIRMATION_INVALID', `${TOKEN_REFUSALS[check.reason]}; nothing was done`, {
      hint: `Call again with the same arguments and without confirmation_token to get a new summary and token, show the summary to the human, and ${req.action} only with their yes.`,
    });
  }
  if (req.channel.canElicit) {
    let answer: ElicitAnswer;
    try {
      answer = await req.channel.elicit(`${req.summary}\nApprove?`, {
        type: 'object',
        properties: { approve: { type: 'boolean', title: 'Approve', description: req.summary, default: false } },
        required: ['approve'],
      });
    } catch (e) {
      const timeout = /timed? ?out/i.test(String((e as Error)?.message ?? e));
      return {
        approved: false, kind: 'declined', reason: timeout ? 'timeout' : 'error',
        message: timeout ? 'The human did not answer in time; nothing was done.' : 'The confirmation request failed; nothing was done.',
      };
    }
    if (answer.action === 'accept' && answer.content?.approve === true) return { approved: true, how: 'elicitation' };
    if (answer.action === 'cancel') return { approved: false, kind: 'declined', reason: 'cancelled', message: 'The human dismissed the confirmation; nothing was done.' };
    return { approved: false, kind: 'declined', reason: 'declined', message: 'The human said no; nothing was done.' };
  }
  if (req.fallback === 'deny')
    throw new ComputeError('CONFIRMATION_UNAVAILABLE', `this client cannot ask a human, and confirm.fallback is "deny"; nothing was done`, {
      hint: 'Use a client with MCP elicitation, or ask the operator to set confirm.fallback to "token" or an autoApprove policy.',
    });
  const t = req.tokens.issue(req.binding);
  return { approved: false, kind: 'confirmation_required', confirmation_token: t.token, expires_at: t.expires_at };
}
