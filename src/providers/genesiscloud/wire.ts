/**
 * Genesis Cloud wire format, exactly as documented. Unknown extra fields are tolerated (stripped), missing documented
 * fields are not. Source: shared/seeds/genesiscloud-instances.txt (seed 002) and providers.md §3.
 */
import { z } from 'zod';

export const API_PREFIX = '/compute/v1';

const Ref = z.lazy(() => z.object({ id: z.string(), name: z.string().optional() }));

// Source: seed 002 "Instance Schema"; providers.md §3.3 (response fields).
export const WireInstance = z.lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    hostname: z.string().optional(),
    type: z.string(),
    region: z.string(),
    placement_option: z.string().optional(),
    image: Ref.nullable().optional(),
    floating_ip: Ref.nullable().optional(),
    ssh_keys: z.array(Ref).optional(),
    security_groups: z.array(Ref).optional(),
    volumes: z.array(Ref).optional(),
    is_protected: z.union([z.boolean(), z.string()]).optional(),
    status: z.string(),
    private_ip: z.string().nullable().optional(),
    public_ip: z.string().nullable().optional(),
    disk_size: z.number().optional(),
    created_at: z.string().optional(),
    updated_at: z.string().optional(),
  }),
);
export type WireInstance = z.infer<typeof WireInstance>;

const PageFields = { total_count: z.number().int(), page: z.number().int(), per_page: z.number().int() };

export const InstanceEnvelope = z.lazy(() => z.object({ instance: WireInstance }));
export const InstanceList = z.lazy(() => z.object({ instances: z.array(WireInstance), ...PageFields }));

// Source: seed 002 "Create an Instance" body parameters.
export interface WireCreateInstance {
  name: string;
  hostname: string;
  type: string;
  region: string;
  image: string;
  ssh_keys?: string[];
  password?: string;
  placement_option?: string;
  floating_ip?: string;
  volumes?: string[];
  security_groups?: string[];
  is_protected?: boolean;
  disk_size?: number;
  metadata?: { startup_script?: string; user_data?: { type: string; filename?: string; content: string }[] };
}

// Source: seed 002 "Snapshot an Instance" / "List Snapshots of an Instance"; status values from providers.md §3.5.
// The snapshotted instance comes as `resource_id` (seed 002; genesiscloud/genesiscloud-js src/models/Snapshot.ts) or
// as `source_instance_id` (genesiscloud/genesiscloud-go types.gen.go `Snapshot`, HEAD 163ad0b): either may be present.
export const WireSnapshot = z.lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    size: z.number().nullable().optional(),
    region: z.string().optional(),
    status: z.string(),
    resource_id: z.string().nullable().optional(),
    source_instance_id: z.string().nullable().optional(),
    source_snapshot_id: z.string().nullable().optional(),
    created_at: z.string().optional(),
  }),
);
export type WireSnapshot = z.infer<typeof WireSnapshot>;
export const SnapshotEnvelope = z.lazy(() => z.object({ snapshot: WireSnapshot }));
export const SnapshotList = z.lazy(() => z.object({ snapshots: z.array(WireSnapshot), ...PageFields }));

// Source: providers.md §3.2 (List images, genesiscloud-go).
export const WireImage = z.lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    slug: z.string().nullable().optional(),
    family: z.string().nullable().optional(),
    os_type: z.string().optional(),
    regions: z.array(z.string()).default([]),
    type: z.string().optional(),
    versions: z.array(z.string()).nullable().optional(),
    created_at: z.string().optional(),
  }),
);
export type WireImage = z.infer<typeof WireImage>;
export const ImageList = z.lazy(() => z.object({ images: z.array(WireImage), ...PageFields }));

// Source: providers.md §3.2 (Instance availability); genesiscloud-go types.gen.go `InstancesAvailability`. `region` is
// any string: the region list changes (the seed's own example, ARC-IS-HAF-1, is not in the current OpenAPI enum).
export const Availability = z.lazy(() =>
  z.object({
    availability: z.object({
      region: z.string(),
      type: z.string().optional(),
      placement: z.string().nullable().optional(),
      instance_types: z.array(z.object({ type: z.string(), available: z.boolean(), count: z.number().optional() })),
    }),
  }),
);

// Source: seed 002 "Get Instance actions".
export const Actions = z.lazy(() => z.object({ actions: z.array(z.string()) }));

// Source: providers.md §3.2 (SSH keys: POST/GET-one return the bare key).
export const WireSshKey = z.lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    value: z.string(),
    fingerprint: z.string().optional(),
    created_at: z.string().optional(),
  }),
);
// Source: genesiscloud/genesiscloud-go types.gen.go `PaginatedSSHKeysResponse` {ssh_keys, page, per_page, total_count}.
export const SshKeyList = z.lazy(() => z.object({ ssh_keys: z.array(WireSshKey), ...PageFields }));

// Source: providers.md §3.6 — `{code, message}` on every non-2xx.
export const ErrorBody = z.lazy(() => z.object({ code: z.string().optional(), message: z.string().optional() }));
