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
  /**
   * Aborted when the client cancels the call or its session closes. For this call only: a read call's signal may be
   * given to the session's next call once this one has ended with nothing listening (src/transport/session.ts), so
   * nothing may listen to it or read it after the handler returns.
   */
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

/**
 * What a tool file writes: the spec, with its input and output fields as functions that build them. Tool modules are
 * imported at every start, and a server is made before anything is asked of it; the zod fields are built when first
 * read (tools/list, a call, the docs), once per process.
 */
export type ToolDefinition<I extends z.ZodRawShape, O extends z.ZodRawShape, R extends z.infer<z.ZodObject<O>>> = Omit<
  ToolSpec<I, O, R>,
  'input' | 'output'
> & { input: () => I; output: () => O };

export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape, R extends z.infer<z.ZodObject<O>>>(
  definition: ToolDefinition<I, O, R>,
): ToolSpec<I, O, R> {
  const { input, output, ...spec } = definition;
  let i: I | undefined;
  let o: O | undefined;
  return Object.defineProperties(spec, {
    input: { get: () => (i ??= input()), enumerable: true },
    output: { get: () => (o ??= output()), enumerable: true },
  }) as ToolSpec<I, O, R>;
}

/** `make()`, called once, when first asked for: for fields several tools share (tools/common.ts, tools/shapes.ts). */
export function once<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTool = ToolSpec<any, any, any>;
