/**
 * InstaVM wire format. Documented shapes come from shared/seeds/instavm-create-vm.txt (seed 004: `POST /v1/vms`,
 * VMCreateRequest, VMCreateResponse, the 422 HTTPValidationError; the same as https://instavm.io/docs/api/vms/post-v1-vms)
 * and the public pages cited next to each shape: https://instavm.io/docs/concepts/snapshots (snapshot from a VM),
 * https://instavm.io/docs/sdks/python/snapshots (snapshot fields and statuses), the vendor's `instavm/skills` repo
 * (references/setup.md, access.md) and the `instavm` package README on PyPI (CLI `ls` / `ls -a`). Unknown extra fields
 * are tolerated (stripped).
 *
 * Everything the public docs do not give is marked `ASSUMPTION:` here, next to its shape or path, and nowhere else: the
 * rest of the folder uses these names. A search of the public docs, the vendor's repositories and the SDK pages found
 * no REST page for listing, reading or deleting VMs, nor for listing snapshots: those paths follow the SDK's method
 * names (`vms.list/get/delete`, `snapshots.list`), as providers.md §5.2 proposes.
 */
import { z } from 'zod';

export const PATHS = {
  // Documented (seed 004): POST /v1/vms?wait=, `wait` default true ("Wait for VM to be provisioned").
  // ASSUMPTION (providers.md §5.2, SDK `vms.list()`): GET on the same path lists VMs, as a bare array, without
  // pagination, and — like the CLI's `instavm ls` ("shows active VMs only", PyPI README) — without terminated VMs.
  vms: '/v1/vms',
  // ASSUMPTION (SDK `vms.get(vm_id)`, `vms.delete(vm_id)`; `PATCH /v1/vms/{vm_id}` is named in instavm/skills
  // setup.md): GET and DELETE on the item. GET still answers a terminated VM (its record, status `terminated`: the
  // CLI's `ls -a` lists "terminated VM records"); DELETE answers 200 or 204, and 404 for an unknown id.
  vm: (id: string) => `/v1/vms/${id}`,
  // Documented (https://instavm.io/docs/concepts/snapshots, providers.md §5.2): POST /v1/vms/{vm_id}/snapshot?wait=
  // with `{name?}` → `{snapshot_id, status}`.
  snapshotVm: (id: string) => `/v1/vms/${id}/snapshot`,
  // Documented as an SDK call (`client.snapshots.list()`, https://instavm.io/docs/sdks/python/snapshots) and as
  // `POST /v1/snapshots` for OCI builds. ASSUMPTION: GET /v1/snapshots lists them as a bare array.
  snapshots: '/v1/snapshots',
  // Documented (https://instavm.io/docs/api/sessions/get-v1-sessions-app-url-session-id): the URL of a port of a VM's
  // session.
  appUrl: (sessionId: string) => `/v1/sessions/app-url/${sessionId}`,
} as const;

/**
 * Documented (instavm/skills access.md, providers.md §5.2): `ssh <vm_id>@instavm.dev`, with a key registered on the
 * account (`instavm ssh-key add`, or the dashboard); keys are not part of the create.
 */
export const SSH_HOST = 'instavm.dev';

const nullableString = z.lazy(() => z.string().nullable().optional());
const nullableInt = z.lazy(() => z.number().int().nullable().optional());

/** Seed 004: VMCreateRequest; every field optional and nullable. `env`, `dns_credentials` and `vault_ids` are secrets. */
export interface WireCreateVm {
  vm_lifetime_seconds: number;
  vcpu_count: number;
  memory_mb: number;
  metadata: Record<string, string>;
  snapshot_id?: string;
  env?: Record<string, string>;
  share?: { port: number; is_public?: boolean };
  egress_policy?: Record<string, unknown>;
  custom_domain?: { domain: string; dns_provider?: string | null; dns_credentials?: Record<string, string> | null };
  vault_ids?: string[];
  snapshot_on_terminate?: boolean;
  snapshot_name?: string;
}

// ASSUMPTION: the shape of a share object (seed 004 types it only as `object`): the port and visibility it was asked
// with, and a URL when the cloud gives one.
export const WireShare = z.lazy(() =>
  z
    .object({
      share_id: nullableString,
      port: nullableInt,
      is_public: z.boolean().nullable().optional(),
      url: nullableString,
    })
    .nullable()
    .optional(),
);

// Seed 004: VMCreateResponse {vm_id?, session_id!, status!, share?, custom_domain?, env_status="none", env_error?}.
export const WireCreateResponse = z.lazy(() =>
  z.object({
    vm_id: nullableString,
    session_id: z.string(),
    status: z.string(),
    share: WireShare,
    custom_domain: z.record(z.string(), z.unknown()).nullable().optional(),
    env_status: z.string().optional(),
    env_error: nullableString,
  }),
);
export type WireCreateResponse = z.infer<typeof WireCreateResponse>;

// ASSUMPTION (providers.md §5.2): a VM record `{vm_id, session_id, status, vcpu_count, memory_mb, metadata,
// created_at, expires_at?}`, plus `vm_lifetime_seconds`, `snapshot_id` and `share` as sent at create. Statuses are NOT
// DOCUMENTED (free string); ASSUMPTION (providers.md §5.3, §6.1): provisioning, running (or active), terminating,
// terminated (or killed), failed.
export const WireVm = z.lazy(() =>
  z.object({
    vm_id: z.string(),
    session_id: nullableString,
    status: z.string(),
    vcpu_count: nullableInt,
    memory_mb: nullableInt,
    metadata: z.record(z.string(), z.unknown()).nullable().optional(),
    created_at: nullableString,
    expires_at: nullableString,
    vm_lifetime_seconds: nullableInt,
    snapshot_id: nullableString,
    share: WireShare,
  }),
);
export type WireVm = z.infer<typeof WireVm>;
export const WireVmList = z.lazy(() => z.array(WireVm));

// Documented (https://instavm.io/docs/concepts/snapshots): `{snapshot_id, status}` for a snapshot of a VM.
export const WireSnapshotCreated = z.lazy(() => z.object({ snapshot_id: z.string(), status: z.string() }));

// Documented fields (https://instavm.io/docs/sdks/python/snapshots): `snapshot_id` or `id`, name, status,
// snapshot_type (user | system), oci_image, size_bytes, last_error; statuses `ready` and `failed` are terminal.
// ASSUMPTION: `vm_id` names the VM a snapshot was taken of; `created_at`; a building snapshot is `creating`.
export const WireSnapshot = z.lazy(() =>
  z
    .object({
      snapshot_id: nullableString,
      id: nullableString,
      name: nullableString,
      status: z.string(),
      snapshot_type: nullableString,
      oci_image: nullableString,
      size_bytes: z.number().nullable().optional(),
      last_error: nullableString,
      vm_id: nullableString,
      created_at: nullableString,
    })
    .refine((s) => !!(s.snapshot_id ?? s.id), { message: 'a snapshot has snapshot_id or id' }),
);
export type WireSnapshot = z.infer<typeof WireSnapshot>;
export const WireSnapshotList = z.lazy(() => z.array(WireSnapshot));

// Documented (get-v1-sessions-app-url-session-id): `{url, direct_url, vm_ip, port, vm_id, session_id, status,
// expires_in_seconds?}`, status `active` | `killed`.
export const WireAppUrl = z.lazy(() =>
  z.object({
    url: z.string(),
    direct_url: nullableString,
    port: nullableInt,
    vm_id: nullableString,
    session_id: nullableString,
    status: nullableString,
    expires_in_seconds: z.number().nullable().optional(),
  }),
);

/**
 * Documented (seed 004): 422 `{detail: [{loc, msg, type}]}` (FastAPI). ASSUMPTION (providers.md §5.4): every other
 * error is `{"detail": "..."}`.
 */
export const ErrorBody = z.lazy(() =>
  z.object({
    detail: z.union([
      z.string(),
      z.array(z.object({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() })),
    ]),
  }),
);
