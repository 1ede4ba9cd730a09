/**
 * The configuration file (SPEC §6), validated at start. Every field is optional; a bad file stops the server with a
 * message that names the field, and nothing half-applies.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CLOUD_IDS } from './providers/clouds.js';

/** The config file's schema. Built when a config is first parsed: a server started without one never builds it. */
function buildSchema() {
  const usd = z.number().nonnegative();

  const PolicySchema = z
    .object({
      readOnly: z.boolean().default(false),
      disableDestructive: z.boolean().default(false),
      confirm: z
        .object({
          gpu: z.enum(['always', 'never']).default('always'),
          aboveUsdPerHour: usd.default(0.5),
          delete: z.enum(['always', 'never']).default('always'),
          // Unset: "token" on stdio and loopback HTTP, "deny" on HTTP off loopback (resolved at start).
          fallback: z.enum(['token', 'deny', 'url']).optional(),
          // "url": a Slack-compatible incoming webhook that receives each approval link (teams running the HTTP
          // server).
          webhook: z
            .object({ url: z.url({ protocol: /^https?$/ }) })
            .strict()
            .optional(),
          // "url" on stdio: open the approval page in the user's browser ("auto": when this machine has a desktop).
          openBrowser: z.enum(['auto', 'never']).default('auto'),
        })
        .strict()
        .prefault({}),
      autoApprove: z
        .object({ maxUsdPerHour: usd.default(0) })
        .strict()
        .prefault({}),
      limits: z
        .object({
          maxUsdPerHourPerVm: usd.optional(),
          maxUsdPerHourTotal: usd.optional(),
          maxGpusTotal: z.number().int().nonnegative().optional(),
          maxInstances: z.number().int().nonnegative().optional(),
          maxLifetimeHours: z.number().positive().optional(),
        })
        .strict()
        .prefault({}),
      // Every VM created here has a lease (guardrails/leases.ts); the sweep acts when it runs out.
      leases: z
        .object({
          onExpiry: z.enum(['stop', 'delete', 'notify']).default('stop'),
          defaultHours: z.number().positive().max(8_760).default(4),
          allowUnleased: z.boolean().default(false),
          sweepSeconds: z.number().min(5).max(3_600).default(60),
        })
        .strict()
        .prefault({}),
      allow: z
        .object({
          providers: z.array(z.string().min(1)).default(['*']),
          regions: z.array(z.string().min(1)).default(['*']),
          instanceTypes: z.array(z.string().min(1)).default(['*']),
        })
        .strict()
        .prefault({}),
    })
    .strict();

  return z
    .object({
      policy: PolicySchema.prefault({}),
      prices: z.partialRecord(z.enum(CLOUD_IDS), z.record(z.string(), usd)).default({}),
      enabledTools: z.array(z.string()).nullable().default(null),
      disabledTools: z.array(z.string()).default([]),
    })
    .strict();
}

let schema: ReturnType<typeof buildSchema> | undefined;
const configSchema = () => (schema ??= buildSchema());

type Parsed = z.infer<ReturnType<typeof buildSchema>>;
/** The config in force: the file's values, defaults filled in, the confirmation fallback resolved. */
export type Config = Parsed & {
  policy: Parsed['policy'] & { confirm: Parsed['policy']['confirm'] & { fallback: 'token' | 'deny' | 'url' } };
};
export type Policy = Config['policy'];

export interface ConfigContext {
  /** Serving HTTP off loopback: an unset `confirm.fallback` is "deny" there, "token" elsewhere (SPEC §5.3). */
  remote?: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses a config object; throws ConfigError naming every bad field. */
export function parseConfig(raw: unknown, source = 'config', ctx: ConfigContext = {}): Config {
  const r = configSchema().safeParse(raw ?? {});
  if (r.success) return resolved(r.data, ctx);
  const lines = r.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ConfigError(`Invalid ${source}:\n${lines.join('\n')}`);
}

/** The confirmation fallback resolved: unset, it is "deny" off loopback and "token" elsewhere. */
function resolved(data: Parsed, ctx: ConfigContext): Config {
  const confirm = { ...data.policy.confirm, fallback: data.policy.confirm.fallback ?? (ctx.remote ? 'deny' : 'token') };
  return { ...data, policy: { ...data.policy, confirm } };
}

/**
 * What the schema makes of an empty config, written out (test/unit/config.test.ts checks that they are equal): a
 * server started without a config file builds no schema. A new object each time: the runtime changes its copy.
 */
const defaults = (): Parsed => ({
  policy: {
    readOnly: false,
    disableDestructive: false,
    confirm: { gpu: 'always', aboveUsdPerHour: 0.5, delete: 'always', openBrowser: 'auto' },
    autoApprove: { maxUsdPerHour: 0 },
    limits: {},
    leases: { onExpiry: 'stop', defaultHours: 4, allowUnleased: false, sweepSeconds: 60 },
    allow: { providers: ['*'], regions: ['*'], instanceTypes: ['*'] },
  },
  prices: {},
  enabledTools: null,
  disabledTools: [],
});

/** Loads `--config FILE` / COMPUTE_MCP_CONFIG, or the defaults when neither is given. */
export function loadConfig(file?: string, ctx: ConfigContext = {}): Config {
  if (!file) return resolved(defaults(), ctx);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`Cannot read config file ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`Config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(json, `config file ${file}`, ctx);
}
