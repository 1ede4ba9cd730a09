/**
 * Expected failures carry a stable code, the cloud, and a next step. Tools turn them into `isError: true` results
 * with the text `[CODE] message. hint`; anything else is a bug and is reported generically.
 */
import type { ProviderId } from './model.js';

export const ERROR_CODES = [
  'INVALID_INPUT',
  'NOT_FOUND',
  'UNSUPPORTED',
  'CAPACITY',
  'CONFLICT',
  'RATE_LIMITED',
  'PROVIDER_AUTH',
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_BAD_RESPONSE',
  'PROVIDER_ERROR',
  'PROVIDER_DISABLED',
  'TIMEOUT',
  'POLICY_DENIED',
  'CONFIRMATION_INVALID',
  'CONFIRMATION_UNAVAILABLE',
  'NOT_READY',
  'CANCELLED',
  /** The state store (the database) cannot be reached: nothing that spends goes ahead; reads still work. */
  'STATE_UNAVAILABLE',
  /** A bug in compute-mcp (never a ComputeError): reported generically, details in the log. */
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ComputeErrorOptions {
  provider?: ProviderId;
  /** What the agent should do next; shown to the model. */
  hint?: string;
  /** For RATE_LIMITED: how long the cloud asked us to wait. */
  retryAfterMs?: number;
  /** HTTP status of the cloud's answer, if any. */
  status?: number;
  /** Log-only detail (raw upstream body, stack): never shown to the model. */
  internal?: unknown;
  cause?: unknown;
}

export class ComputeError extends Error {
  readonly code: ErrorCode;
  readonly provider?: ProviderId;
  readonly hint?: string;
  readonly retryAfterMs?: number;
  readonly status?: number;
  readonly internal?: unknown;

  constructor(code: ErrorCode, message: string, opts: ComputeErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ComputeError';
    this.code = code;
    this.provider = opts.provider;
    this.hint = opts.hint;
    this.retryAfterMs = opts.retryAfterMs;
    this.status = opts.status;
    this.internal = opts.internal;
  }

  /** `[CODE] provider: message. hint` — the text the model reads. */
  toText(): string {
    const who = this.provider ? `${this.provider}: ` : '';
    const msg = this.message.replace(/\.?$/, '.');
    return `[${this.code}] ${who}${msg}${this.hint ? ` ${this.hint}` : ''}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.provider ? { provider: this.provider } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.retryAfterMs !== undefined ? { retry_after_ms: this.retryAfterMs } : {}),
    };
  }
}

export const isComputeError = (e: unknown): e is ComputeError => e instanceof ComputeError;
