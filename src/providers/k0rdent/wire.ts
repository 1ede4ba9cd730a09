/**
 * k0rdent AI wire format. Documented shapes come from shared/seeds/k0rdent-get-instance.txt (seed 001: the Instance
 * schema and the `{error:{code:int,message,details}}` body), providers.md §2, and the public API pages:
 *  - GET    …/compute/instances/{id}  https://docs.kui.k0labs.com/docs/instances/get-instance-details
 *  - POST   …/compute/instances       https://docs.kui.k0labs.com/docs/instances/create-compute-instance
 *                                     (also https://team.k0labs.com/k0rdent-api/instances/create-compute-instance)
 *  - PATCH  …/compute/instances/{id}  https://docs.kui.k0labs.com/docs/instances/update-instance
 *                                     (displayName, description, labels, instanceMetadata; answers the Instance)
 *  - pagination (pageToken/pageSize → nextPageToken; "instances" named as a cursor resource)
 *                                     https://docs.kui.k0labs.com/docs/projects/list-projects
 *  - the common envelope `{success, error:{code:"NOT_FOUND", message}, meta}`
 *                                     https://docs.kui.k0labs.com/docs/common-structures
 * Unknown extra fields are tolerated (stripped).
 *
 * Everything the public docs do not give is marked `ASSUMPTION:` here, next to its shape or path, and nowhere else: the
 * rest of the folder uses these names. A search of the public docs (docs.kui.k0labs.com, team.k0labs.com) found no
 * page for listing, deleting, starting or stopping instances, nor for instance types, images, regions or zones, so
 * those stay assumptions (as providers.md §2.2 has them).
 */
import { z } from 'zod';

const seg = encodeURIComponent;

/** Region- and project-scoped instance collection (documented: the create and get pages). */
export const instancesPath = (region: string, project: string) =>
  `/v1/regions/${seg(region)}/projects/${seg(project)}/compute/instances`;

/** Paths. `id` arguments must already be safe path segments (adapter: `pathSegment`). */
export const PATHS = {
  // Documented: POST (create). ASSUMPTION (providers.md §2.2): GET on the collection lists, with the documented cursor
  // parameters `pageToken`/`pageSize` (1–500, default 50) → `{instances: [Instance], nextPageToken}`.
  instances: instancesPath,
  // Documented: GET (seed 001) and PATCH (update-instance page). ASSUMPTION: DELETE on it → 200/202 with the Instance
  // in `lifecycle.status = DELETING`, then 404 once it is gone.
  instance: (region: string, project: string, id: string) => `${instancesPath(region, project)}/${id}`,
  // ASSUMPTION (providers.md §2.2): GCE-style power actions, POST …/{id}/start and …/{id}/stop, answering the Instance.
  action: (region: string, project: string, id: string, action: 'start' | 'stop') =>
    `${instancesPath(region, project)}/${id}/${action}`,
  // ASSUMPTION (providers.md §2.2): the zone's instance types; only the URI form of one type is documented (seed 001).
  instanceTypes: (region: string, zone: string) => `/v1/regions/${seg(region)}/zones/${seg(zone)}/instance-types`,
  // ASSUMPTION (providers.md §2.2): the region's images; only the URI form of one image is documented (seed 001).
  images: (region: string) => `/v1/regions/${seg(region)}/compute/images`,
} as const;

// ---- resource references ----------------------------------------------------------------------------------------

/**
 * The one place resource references (URIs) are built and read. Documented forms (seed 001):
 *   instance type  /v1/regions/{region}/zones/{zone}/instance-types/{name}
 *   image          /v1/regions/{region}/compute/images/{image}
 * ASSUMPTION: a GPU type is `/v1/regions/{region}/zones/{zone}/gpu-types/{name}` (the seed's example is a bare
 * "http://example.com" with `format: uri`); any URI is read by its last path segment, so another form still parses.
 */
export const Uri = {
  instanceType: (region: string, zone: string, name: string) => `${PATHS.instanceTypes(region, zone)}/${seg(name)}`,
  image: (region: string, image: string) => `${PATHS.images(region)}/${seg(image)}`,
  gpuType: (region: string, zone: string, name: string) =>
    `/v1/regions/${seg(region)}/zones/${seg(zone)}/gpu-types/${seg(name)}`,
  /** The resource's own name: the last path segment of a relative or absolute URI ("" when there is none). */
  name(uri: string): string {
    const path = /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? safeUrlPath(uri) : uri.split(/[?#]/)[0]!;
    const last = path.split('/').filter(Boolean).pop() ?? '';
    try {
      return decodeURIComponent(last);
    } catch {
      return last;
    }
  },
  /** Region and zone of a zonal URI (`/v1/regions/{r}/zones/{z}/…`), as far as it has them. */
  place(uri: string): { region?: string; zone?: string } {
    const m = /\/regions\/([^/]+)(?:\/zones\/([^/]+))?/.exec(uri);
    return {
      ...(m?.[1] ? { region: decodeURIComponent(m[1]) } : {}),
      ...(m?.[2] ? { zone: decodeURIComponent(m[2]) } : {}),
    };
  },
} as const;

function safeUrlPath(uri: string): string {
  try {
    return new URL(uri).pathname;
  } catch {
    return uri;
  }
}

// ---- ids, labels, metadata --------------------------------------------------------------------------------------

/** Documented (create page): `id` is 1–63 characters, `^[a-z]([-a-z0-9]*[a-z0-9])?$`, client-chosen, immutable. */
export const ID_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const ID_MAX = 63;

/**
 * The label that carries a create's idempotency key (labels are documented as a string → string map on create,
 * get and PATCH). ASSUMPTION: label keys and values follow Kubernetes-style rules (≤ 63 characters of
 * `[A-Za-z0-9._-]`), so the value is a digest of the key rather than the key itself.
 */
export const KEY_LABEL = 'compute-mcp-idempotency-key';
/** Labels the VMs this server creates, so they can be told from others in the project. */
export const MANAGED_LABEL = 'managed-by';
export const MANAGED_VALUE = 'compute-mcp';

/** Documented (seed 001): SSH keys go in `instanceMetadata` under this key, one `user:key comment` line each (GCE). */
export const SSH_KEYS_METADATA = 'ssh-keys';

/**
 * ASSUMPTION: the login user. The seed's `ssh-keys` example installs keys for `admin` (and `guest`); the guest agent is
 * assumed to create the user named in the entry, as GCE's does. The one place the user is decided: the metadata line
 * and the SSH command both use it.
 */
export const SSH_USER = 'admin';

// ---- schemas ----------------------------------------------------------------------------------------------------

const opt = z.lazy(() => z.string().nullable().optional());

// Source: seed 001, `instanceMetadata[]`.
export const WireMetadataItem = z.lazy(() => z.object({ key: z.string(), value: z.string() }));
export type WireMetadataItem = z.infer<typeof WireMetadataItem>;

// Source: seed 001, `disks[]`. ASSUMPTION (providers.md §2.3): mode ∈ READ_WRITE|READ_ONLY, type ∈
// PERSISTENT|EPHEMERAL, interface ∈ SCSI|NVME|VIRTIO (only SCSI, PERSISTENT and READ_ONLY appear in the docs).
export const WireDisk = z.lazy(() =>
  z.object({
    sizeGb: z.number().nullable().optional(),
    interface: opt,
    source: opt,
    boot: z.boolean().nullable().optional(),
    type: opt,
    mode: opt,
  }),
);
export type WireDisk = z.infer<typeof WireDisk>;

// Source: seed 001, `nics[]`. No address is marked public or private in the schema.
export const WireNic = z.lazy(() =>
  z.object({
    network: opt,
    subnet: opt,
    ipv4Address: opt,
    ipv6Address: opt,
    vlan: z.number().nullable().optional(),
  }),
);
export type WireNic = z.infer<typeof WireNic>;

// Source: seed 001, `gpus[]` (`type` is a URI). The instance's list may be empty: the type's GPUs count then.
export const WireGpu = z.lazy(() => z.object({ type: z.string(), count: z.number().int() }));
export type WireGpu = z.infer<typeof WireGpu>;

// Source: seed 001, `lifecycle`. Only `PROVISIONING` is documented; ASSUMPTION (providers.md §2.4): RUNNING, STOPPING,
// STOPPED, STARTING, DELETING, FAILED.
export const WireLifecycle = z.lazy(() => z.object({ status: z.string(), statusMessage: opt }));

// Source: seed 001, Instance.
export const WireInstance = z.lazy(() =>
  z.object({
    selfLink: opt,
    uid: opt,
    id: z.string(),
    displayName: opt,
    description: opt,
    labels: z.record(z.string(), z.string()).nullable().optional(),
    type: z.string(),
    instanceMetadata: z.array(WireMetadataItem).nullable().optional(),
    hostname: opt,
    lifecycle: WireLifecycle,
    disks: z.array(WireDisk).nullable().optional(),
    nics: z.array(WireNic).nullable().optional(),
    gpus: z.array(WireGpu).nullable().optional(),
    createdAt: opt,
    updatedAt: opt,
  }),
);
export type WireInstance = z.infer<typeof WireInstance>;

// ASSUMPTION (providers.md §2.2): the list answer `{instances: [Instance], nextPageToken}` (the documented list of
// projects answers `{projects, nextPageToken, total}`).
export const WireInstanceList = z.lazy(() =>
  z.object({
    instances: z.array(WireInstance).default([]),
    nextPageToken: opt,
  }),
);

// ASSUMPTION (providers.md §2.2): an instance type `{selfLink, id, displayName, vcpus, memoryGb, gpus: [{type,count}]}`;
// prices are not in the API (a `price` field, if any, is ignored: NOT DOCUMENTED).
export const WireInstanceType = z.lazy(() =>
  z.object({
    selfLink: opt,
    id: z.string(),
    displayName: opt,
    description: opt,
    vcpus: z.number(),
    memoryGb: z.number(),
    gpus: z.array(WireGpu).nullable().optional(),
  }),
);
export type WireInstanceType = z.infer<typeof WireInstanceType>;
export const WireInstanceTypeList = z.lazy(() =>
  z.object({
    instanceTypes: z.array(WireInstanceType).default([]),
    nextPageToken: opt,
  }),
);

// ASSUMPTION: an image `{selfLink, id, displayName, description, os}` and its list `{images, nextPageToken}`.
export const WireImage = z.lazy(() =>
  z.object({
    selfLink: opt,
    id: z.string(),
    displayName: opt,
    description: opt,
    os: opt,
  }),
);
export type WireImage = z.infer<typeof WireImage>;
export const WireImageList = z.lazy(() => z.object({ images: z.array(WireImage).default([]), nextPageToken: opt }));

/** The create body (documented fields, create page). What this server sends of it is decided in the adapter. */
export interface WireCreateInstance {
  id: string;
  displayName: string;
  labels: Record<string, string>;
  type: string;
  instanceMetadata: WireMetadataItem[];
  hostname: string;
  disks: {
    boot: true;
    source: string;
    // ASSUMPTION: a boot disk is READ_WRITE (only READ_ONLY appears in the docs) on the documented SCSI interface.
    mode: 'READ_WRITE';
    type: 'PERSISTENT';
    interface: 'SCSI';
    sizeGb?: number;
  }[];
  // ASSUMPTION: with no `nics` the server attaches the project's default network (network CRUD is not documented),
  // and with no `gpus` the instance gets its type's GPUs (sending them again could attach twice).
}

/** The PATCH body (documented: update-instance page). */
export interface WireUpdateInstance {
  displayName?: string;
  description?: string;
  labels?: Record<string, string>;
  instanceMetadata?: WireMetadataItem[];
}

// ---- errors -----------------------------------------------------------------------------------------------------

// Source: seed 001, every non-2xx answer of the instance pages: `{"error": {"code": <int>, "message", "details": []}}`.
export const RpcErrorBody = z.lazy(() =>
  z.object({
    error: z.object({
      code: z.number().int(),
      message: z.string().optional(),
      details: z.array(z.unknown()).optional(),
    }),
  }),
);
// Source: common-structures page: `{success: false, error: {code: "NOT_FOUND", message}, meta: {requestId, …}}`.
export const EnvelopeErrorBody = z.lazy(() =>
  z.object({
    success: z.literal(false).optional(),
    error: z.object({ code: z.string(), message: z.string().optional() }),
    meta: z.object({ requestId: z.string().optional() }).partial().optional(),
  }),
);
