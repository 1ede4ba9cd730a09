/**
 * ONET Solutions wire format. Documented shapes come from shared/seeds/onet-console-and-instance.txt (seed 000: the
 * Instance schema, with its Size, Location, Image, ip_addresses and state_sync parts) and the public API pages listed
 * in providers.md §1 (https://help.onetsolutions.net/api-reference/compute/…, OpenAPI at
 * https://api.onetsolutions.net/schema). Unknown extra fields are tolerated (stripped).
 *
 * Everything the public docs do not give is marked `ASSUMPTION:` here, next to its shape or path, and nowhere else:
 * the rest of the folder uses these names. A search of the public docs (help.onetsolutions.net pages for console
 * sessions, tasks, SSH keys, snapshot restore, addons, instance metadata) found no page for the list/create/delete,
 * power, size, location, image, console-create or snapshot list/create endpoints, so those stay assumptions.
 */
import { z } from 'zod';

/** Everything lives under an organization and a project (providers.md §1.1; seed 000 URL). */
export const scopePrefix = (org: string, project: string) =>
  `/v1/organizations/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}/compute`;

/** Paths relative to the scope prefix. */
export const PATHS = {
  // ASSUMPTION (providers.md §1.2): DRF list endpoints for the catalog, each returning the Instance sub-schemas.
  sizes: '/sizes',
  locations: '/locations',
  images: '/images',
  // ASSUMPTION: GET (DRF page) and POST on the collection; GET on the item (the documented PUT path, seed 000);
  // DELETE on the item requests the cancellation (204), which takes effect at `billing_end_date` (seed 000).
  instances: '/instances',
  instance: (id: string) => `/instances/${id}`,
  // ASSUMPTION: power actions as POST …/{start|stop} answering 202 with a Task (task types start_vps, stop_vps exist).
  action: (id: string, action: 'start' | 'stop') => `/instances/${id}/${action}`,
  // ASSUMPTION: POST creates a console session; documented: GET …/console/{session_id} (seed 000).
  console: (id: string) => `/instances/${id}/console`,
  consoleSession: (id: string, session: string) => `/instances/${id}/console/${session}`,
  // ASSUMPTION: snapshot list/create per instance (only …/snapshots/{id}/restore is documented).
  snapshots: (id: string) => `/instances/${id}/snapshots`,
  // Documented: POST /compute/ssh-keys ([SSH Keys] Add a new SSH key). ASSUMPTION: GET on it lists (DRF page).
  sshKeys: '/ssh-keys',
  // Documented: GET /compute/tasks/{id} (Get instance task).
  task: (id: string) => `/tasks/${id}`,
} as const;

/** Documented (providers.md §1.2): reactivating a suspended instance charges the bill. Never called by the adapter. */
export const UNSUSPEND_PATH = (id: string) => `/instances/${id}/unsuspend`;

/**
 * ASSUMPTION: the login user of ONET's Linux images is `root` (VPS images; no page says which user the SSH keys are
 * installed for). The one place this is decided.
 */
export const SSH_USER = 'root';

const nullableString = z.lazy(() => z.string().nullable().optional());

// Source: seed 000, `size.pricing_options[]`. billing_cycle ∈ free, one_time, hourly, monthly, quarterly,
// semi_annually, annually, biennially, triennially.
export const WirePricingOption = z.lazy(() =>
  z.object({
    id: z.string(),
    billing_cycle: z.string(),
    price: z.string(),
    discount_percent: nullableString,
    is_default: z.boolean().optional(),
    is_active: z.boolean().optional(),
  }),
);
export type WirePricingOption = z.infer<typeof WirePricingOption>;

// Source: seed 000, `size.available_volumes[]`.
export const WireVolumeOption = z.lazy(() =>
  z.object({
    id: z.string(),
    volume_type: z.string().optional(),
    disk_gb: z.number(),
    is_default: z.boolean().optional(),
    is_active: z.boolean().optional(),
  }),
);

// Source: seed 000, `size` (no GPU fields: providers.md §1.3).
export const WireSize = z.lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    slug: z.string(),
    vcpu: z.number(),
    ram_mb: z.number(),
    bandwidth_mbps: z.number().nullable().optional(),
    available_volumes: z.array(WireVolumeOption).default([]),
    pricing_options: z.array(WirePricingOption).default([]),
    cpu_model: nullableString,
    is_active: z.boolean().optional(),
    description: nullableString,
  }),
);
export type WireSize = z.infer<typeof WireSize>;

// Source: seed 000, `location`.
export const WireLocation = z.lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    slug: z.string(),
    country_code: nullableString,
    is_active: z.boolean().optional(),
  }),
);
export type WireLocation = z.infer<typeof WireLocation>;

// Source: seed 000, `image`.
export const WireImage = z.lazy(() =>
  z.object({
    id: z.string(),
    organization_id: nullableString,
    name: z.string(),
    slug: z.string(),
    os_name: nullableString,
    os_version: nullableString,
    is_windows: z.boolean().optional(),
    requires_license_addon: z.boolean().optional(),
    visibility: nullableString,
    os_architecture: nullableString,
    is_active: z.boolean().optional(),
    min_disk_gb: z.number().nullable().optional(),
    min_ram_mb: z.number().nullable().optional(),
  }),
);
export type WireImage = z.infer<typeof WireImage>;

// Source: seed 000, `ip_addresses[]`. `primary_ipv4` on the instance holds a UUID (an ip_addresses id), not an address.
export const WireIpAddress = z.lazy(() =>
  z.object({
    id: z.string(),
    address: z.string(),
    ip_type: z.string(),
    is_primary: z.boolean().optional(),
  }),
);

// Source: seed 000, `state_sync`. `vm_status` is a free string whose values are NOT DOCUMENTED.
// ASSUMPTION: running | stopped | unknown (providers.md §1.4), plus stopping/starting while a power task runs; and
// `state_sync` is null before the first sync of a new instance.
export const WireStateSync = z.lazy(() =>
  z.object({
    id: z.string().optional(),
    vm_status: nullableString,
    last_synced_at: nullableString,
  }),
);

// Source: seed 000, Instance. `status` is the billing/service status: pending, provisioning, active, suspended,
// terminated, cancelled.
export const WireInstance = z.lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    status: z.string(),
    size: WireSize,
    location: WireLocation,
    image: WireImage.nullable().optional(),
    os_name: nullableString,
    primary_ipv4: nullableString,
    primary_ipv6: nullableString,
    ip_addresses: z.array(WireIpAddress).default([]),
    billing_start_date: nullableString,
    // Seed 000: "For prepaid only"; cancellation_requested_at: "When cancellation was requested, effective at
    // billing_end_date".
    billing_end_date: nullableString,
    next_billing_date: nullableString,
    cancellation_requested_at: nullableString,
    is_active: z.boolean().optional(),
    is_installed: z.boolean().optional(),
    state_sync: WireStateSync.nullable().optional(),
    created: nullableString,
    modified: nullableString,
    hostname: nullableString,
    billing_cycle: nullableString,
  }),
);
export type WireInstance = z.infer<typeof WireInstance>;

/** DRF page (providers.md §1.5: `page`/`page_size` documented). ASSUMPTION: the `{count,next,previous,results}` body. */
export const drfPage = <T extends z.ZodType>(item: T) =>
  z.lazy(() =>
    z.object({
      count: z.number().int(),
      next: z.string().nullable(),
      previous: z.string().nullable().optional(),
      results: z.array(item),
    }),
  );

export const SizePage = drfPage(WireSize);
export const LocationPage = drfPage(WireLocation);
export const ImagePage = drfPage(WireImage);
export const InstancePage = drfPage(WireInstance);

// ASSUMPTION: the create body (providers.md §1.2): the documented PUT fields (name, size_id, location_id, image_id,
// hostname, billing_cycle) plus `ssh_key_ids`. Answered 201 with the Instance (status "pending").
export interface WireCreateInstance {
  name: string;
  hostname: string;
  size_id: string;
  location_id: string;
  image_id: string;
  billing_cycle: 'hourly';
  ssh_key_ids: string[];
}

// Source: providers.md §1.3 (Task, documented by "Get instance task"). ASSUMPTION: status ∈ pending, running,
// completed, failed (only "pending" is documented).
export const WireTask = z.lazy(() =>
  z.object({
    id: z.string(),
    instance_id: z.string().optional(),
    task_type: z.string(),
    status: z.string(),
    started_at: nullableString,
    completed_at: nullableString,
  }),
);

// ASSUMPTION (providers.md §1.2 note): a console session `{id, instance_id, status, url, protocol, expires_at}`,
// status ∈ pending | ready | expired | failed. The documented GET answers with the Instance schema (an OpenAPI
// generation artifact, providers.md §1.2), so a body of either shape is accepted; an Instance-shaped one has no URL.
export const WireConsoleSession = z.lazy(() =>
  z.object({
    id: z.string(),
    status: z.string().optional(),
    url: z.string().nullable().optional(),
    protocol: nullableString,
    expires_at: nullableString,
  }),
);
export type WireConsoleSession = z.infer<typeof WireConsoleSession>;

// ASSUMPTION: a snapshot `{id, name, instance_id, status, size_gb, created}`, status ∈ pending | creating |
// available | error (no snapshot schema is documented; the restore page only names the path).
export const WireSnapshot = z.lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    instance_id: nullableString,
    status: z.string(),
    size_gb: z.number().nullable().optional(),
    created: nullableString,
  }),
);
export type WireSnapshot = z.infer<typeof WireSnapshot>;
export const SnapshotPage = drfPage(WireSnapshot);

// Documented path (POST /compute/ssh-keys: "Only the public key portion should be provided"). ASSUMPTION: the body
// `{name, public_key}` and the answer `{id, name, public_key, fingerprint?}` (field names not in the excerpt).
export const WireSshKey = z.lazy(() =>
  z.object({
    id: z.string(),
    name: z.string(),
    public_key: z.string(),
    fingerprint: nullableString,
  }),
);
export const SshKeyPage = drfPage(WireSshKey);

/**
 * ASSUMPTION (DRF default, providers.md §1.5): `{"detail": "..."}` for 401/403/404/429, `{"field": ["msg"]}` on 400
 * (DRF also uses `non_field_errors`).
 */
export const ErrorBody = z.lazy(() =>
  z.union([z.object({ detail: z.string() }), z.record(z.string(), z.union([z.array(z.string()), z.string()]))]),
);
