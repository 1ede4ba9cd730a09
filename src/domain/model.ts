/**
 * The one domain model every tool speaks (SPEC §4). Adapters translate their cloud's wire format into these
 * shapes; no cloud field name crosses an adapter. Units are in the field names: `_gib`, `usd_per_hour`.
 */
import { z } from 'zod';

// The schemas of the domain objects (price, instance type, instance, snapshot, image, console, power result) are in
// z.lazy: they type the code (z.infer) and are built only if something parses with them, not at every start.

/** A cloud's id; which ids exist is the table in providers/clouds.ts (tools validate against it). */
export const ProviderIdSchema = z.string();
export type ProviderId = string;

export const INSTANCE_STATUSES = [
  'pending',
  'running',
  'stopping',
  'paused',
  'starting',
  'terminating',
  'terminated',
  'error',
  'unknown',
] as const;
export const InstanceStatusSchema = z.enum(INSTANCE_STATUSES);
export type InstanceStatus = z.infer<typeof InstanceStatusSchema>;

export const GpuSchema = z.object({
  model: z.string(),
  count: z.number().int(),
  memory_gib: z.number().optional(),
});
export type Gpu = z.infer<typeof GpuSchema>;

export const PriceSourceSchema = z.enum(['api', 'config', 'limit_price', 'emulator']);
export type PriceSource = z.infer<typeof PriceSourceSchema>;

/** Hourly price in USD; `null` when the cloud has no price API and the config has none: never invented. */
export const PriceSchema = z.lazy(() =>
  z.object({
    usd_per_hour: z.number().nullable(),
    source: PriceSourceSchema.nullable(),
    spot: z.boolean().optional(),
  }),
);
export type Price = z.infer<typeof PriceSchema>;

export const InstanceTypeSchema = z.lazy(() =>
  z.object({
    provider: ProviderIdSchema,
    id: z.string(),
    name: z.string(),
    gpu: GpuSchema.nullable(),
    vcpus: z.number(),
    memory_gib: z.number(),
    disk_gib: z.number().optional(),
    price: PriceSchema,
    regions: z.array(z.string()),
    available: z.boolean().optional(),
  }),
);
export type InstanceType = z.infer<typeof InstanceTypeSchema>;

export const InstanceSchema = z.lazy(() =>
  z.object({
    provider: ProviderIdSchema,
    id: z.string(),
    name: z.string(),
    status: InstanceStatusSchema,
    provider_status: z.string(),
    instance_type: z.string(),
    region: z.string().optional(),
    /** Per VM; `null` = no GPU; absent = unknown (the guardrails count an unknown GPU count as unknown, never as 0). */
    gpu: GpuSchema.nullable().optional(),
    /** How many VMs this id stands for (e.g. a spot bid for several instances); 1 when absent. Prices are per VM. */
    quantity: z.number().int().positive().optional(),
    public_ip: z.string().optional(),
    private_ip: z.string().optional(),
    ssh: z.string().optional(),
    created_at: z.string().optional(),
    price_usd_per_hour: z.number().nullable().optional(),
    expires_at: z.string().optional(),
    /** Clouds that bill by period: when billing stops if the VM is deleted now (the end of the paid period). */
    billing_ends_at: z.string().optional(),
    /** Added by the server, never by a cloud: the lease of a VM created here (guardrails/leases.ts). */
    lease: z
      .object({
        expires_at: z.string(),
        then: z.enum(['stop', 'delete', 'notify', 'cloud_ends']),
        state: z.enum(['open', 'done', 'overdue', 'lost']),
      })
      .optional(),
  }),
);
export type Instance = z.infer<typeof InstanceSchema>;

export const SnapshotSchema = z.lazy(() =>
  z.object({
    provider: ProviderIdSchema,
    id: z.string(),
    name: z.string(),
    instance_id: z.string().optional(),
    status: z.enum(['creating', 'available', 'deleting', 'error', 'unknown']),
    provider_status: z.string(),
    region: z.string().optional(),
    created_at: z.string().optional(),
    size_gib: z.number().optional(),
  }),
);
export type Snapshot = z.infer<typeof SnapshotSchema>;

export const ImageSchema = z.lazy(() =>
  z.object({
    provider: ProviderIdSchema,
    id: z.string(),
    name: z.string(),
    kind: z.enum(['image', 'snapshot']),
    regions: z.array(z.string()).optional(),
    os: z.string().optional(),
  }),
);
export type Image = z.infer<typeof ImageSchema>;

export const ConsoleSchema = z.lazy(() =>
  z.object({
    provider: ProviderIdSchema,
    instance_id: z.string(),
    kind: z.enum(['web', 'vnc', 'ssh', 'url']),
    url: z.string().optional(),
    command: z.string().optional(),
    expires_at: z.string().optional(),
  }),
);
export type Console = z.infer<typeof ConsoleSchema>;

export const CAPABILITY_NAMES = ['pause', 'resume', 'snapshot', 'console', 'list_images', 'regions'] as const;
export type CapabilityName = (typeof CAPABILITY_NAMES)[number];
/**
 * Three states: supported (`true`); works differently, with the sentence that says how (e.g. "no web console; the SSH
 * command is returned"); unsupported, with why and what to do instead (SkyPilot-style).
 */
export const CapabilitySchema = z.union([
  z.literal(true),
  z.object({ differently: z.string() }),
  z.object({ unsupported: z.string() }),
]);
export type Capability = z.infer<typeof CapabilitySchema>;
export type Capabilities = Record<CapabilityName, Capability>;
export const isUnsupported = (c: Capability): c is { unsupported: string } =>
  typeof c === 'object' && 'unsupported' in c;

/** Per-instance outcome of a batch power action (pause_instances / resume_instances). */
export const PowerResultSchema = z.lazy(() =>
  z.object({
    id: z.string(),
    result: z.enum(['paused', 'already_paused', 'resumed', 'already_running', 'unsupported', 'failed']),
    status: InstanceStatusSchema.optional(),
    message: z.string().optional(),
  }),
);
export type PowerResult = z.infer<typeof PowerResultSchema>;

/** What the agent asked create_vm for, in domain terms. */
export interface CreateRequest {
  instance_type: string;
  region?: string;
  image?: string;
  name: string;
  ssh_public_key?: string;
  startup_script?: string;
  disk_gib?: number;
  from_snapshot?: string;
  /** Clouds that sell by auction: the most to pay per hour; default the current spot price. */
  limit_price_usd?: number;
}

/**
 * A create fully resolved by the adapter (region and image chosen, price known or null), before anything is sent.
 * `request` is the exact wire request the adapter will send (shown by `dry_run`); steps that happen first (such as
 * registering an SSH key) are listed in `preparatory_steps`.
 */
export interface CreatePlan {
  provider: ProviderId;
  instance_type: InstanceType;
  region: string;
  image: string;
  name: string;
  price: Price;
  request: { method: string; path: string; body: Record<string, unknown> };
  preparatory_steps: string[];
  /** What the human must know about this price (e.g. an auction that may charge less, preemption). */
  notes?: string[];
  /** Adapter-private data needed to execute the plan. */
  internal: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string;
}
