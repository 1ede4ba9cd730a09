/** A tool is a value: definition + handler. `tools/index.ts` lists them; `register.ts` wires them to the server. */
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { GateDeps } from '../guardrails/gate.js';
import type { ProviderSet } from '../providers/index.js';

export interface Annotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** What a handler gets per call. Tools never see the McpServer. */
export interface ToolContext {
  providers: ProviderSet;
  config: Config;
  /** Everything the spend gate needs for this call (policy, tokens, idempotency, audit, the human, the lock). */
  gate: GateDeps;
  log: Logger;
  signal: AbortSignal;
  /** Sends notifications/progress when the caller gave a progress token; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** How often wait loops poll the cloud. */
  pollIntervalMs: number;
  /** The client's name as it introduced itself (for the audit of answers from an app card). */
  clientName?: string;
}

/**
 * `output` is the schema tools/list shows and the SDK validates `structuredContent` against; `R` is the handler's own
 * (domain-typed) result, which must satisfy it.
 */
export interface ToolSpec<
  I extends z.ZodRawShape,
  O extends z.ZodRawShape,
  R extends z.infer<z.ZodObject<O>> = z.infer<z.ZodObject<O>>,
> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: Annotations;
  handler: (args: z.infer<z.ZodObject<I>>, ctx: ToolContext) => Promise<R>;
  /** Compact text of the same result, for clients that read text. */
  render: (out: R) => string;
  /**
   * Called by an MCP App (the approval card), never by the model: listed only to clients that render apps (with
   * `_meta.ui.visibility: ["app"]`, which such hosts keep from the model), and unknown to every other client.
   */
  appOnly?: true;
}

export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape, R extends z.infer<z.ZodObject<O>>>(
  spec: ToolSpec<I, O, R>,
): ToolSpec<I, O, R> {
  return spec;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTool = ToolSpec<any, any, any>;
