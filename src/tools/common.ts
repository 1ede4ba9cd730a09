/** Input fields, output pieces and helpers shared by several tools. */
import { z } from 'zod';
import { ComputeError, isComputeError } from '../domain/errors.js';
import { ProviderIdSchema, type ProviderId } from '../domain/model.js';
import type { Provider } from '../domain/provider.js';
import type { ToolContext } from './define.js';

export const providerArg = ProviderIdSchema.describe('Cloud id');
export const optionalProviderArg = ProviderIdSchema.optional().describe('Only this cloud; omit for all enabled clouds');
export const instanceIdArg = z.string().min(1).max(200).describe('Instance id');
export const limitArg = (def: number) => z.number().int().min(1).max(100).default(def).describe('Max items');
export const cursorArg = z.string().max(2000).optional().describe('next_cursor of the last page');

export const ProviderErrorSchema = z.object({ provider: ProviderIdSchema, code: z.string(), message: z.string() });
export type ProviderError = z.infer<typeof ProviderErrorSchema>;

/** Calls `fn` on each cloud in parallel; one cloud's failure becomes an entry in `errors`, not a failed call. */
export async function fanOut<T>(
  providers: Provider[],
  fn: (p: Provider) => Promise<T>,
): Promise<{ results: { provider: ProviderId; value: T }[]; errors: ProviderError[] }> {
  const settled = await Promise.allSettled(providers.map((p) => fn(p)));
  const results: { provider: ProviderId; value: T }[] = [];
  const errors: ProviderError[] = [];
  settled.forEach((s, i) => {
    const provider = providers[i]!.id;
    if (s.status === 'fulfilled') results.push({ provider, value: s.value });
    else if (isComputeError(s.reason)) errors.push({ provider, code: s.reason.code, message: s.reason.toText() });
    else throw s.reason;
  });
  return { results, errors };
}

/** The clouds a list call covers: one if asked, else every enabled one. */
export function targets(ctx: ToolContext, provider?: ProviderId): Provider[] {
  return provider ? [ctx.providers.get(provider)] : ctx.providers.enabled();
}

/** Opaque cursors: base64url JSON, checked on the way back in. */
export function encodeCursor(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  try {
    const r = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (r.success) return r.data;
  } catch {
    // fall through
  }
  throw new ComputeError('INVALID_INPUT', 'the cursor is not valid', { hint: 'Pass next_cursor exactly as returned, with the same filters, or omit it.' });
}

/** Throws UNSUPPORTED with the cloud's own sentence when a capability is missing. */
export function requireCapability(p: Provider, cap: keyof Provider['capabilities'], what: string): void {
  const c = p.capabilities[cap];
  if (c !== true) throw new ComputeError('UNSUPPORTED', `${p.displayName} cannot ${what}: ${c}`, { provider: p.id });
}

export const money = (usd: number | null | undefined) => (usd === null || usd === undefined ? 'price unknown' : `$${usd.toFixed(2)}/h`);
