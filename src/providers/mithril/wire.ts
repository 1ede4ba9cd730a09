/**
 * Mithril wire format. Source: shared/seeds/mithril-instances.txt (seed 003: instances, batch status, status,
 * history) and providers.md §4 (instance types, spot availability, pricing, bids, SSH keys). Parts the docs leave
 * open are marked ASSUMPTION where they are used.
 */
import { z } from 'zod';

const nullish = <T extends z.ZodType>(t: T) => t.nullable().optional();

// providers.md §4.2: InstanceTypeModel (published for /v2/reservation/instance-types). The same `name` appears once per
// region with its own FID: SkyPilot sky/provision/mithril/utils.py get_instance_types ("The same name can appear with
// different FIDs (one per region)"). ASSUMPTION: /v2/instance-types returns the full reservation model.
export const WireInstanceType = z.lazy(() =>
  z.object({
    fid: z.string(),
    name: z.string(),
    num_cpus: z.number(),
    cpu_type: nullish(z.string()),
    ram_gb: z.number(),
    num_gpus: z.number(),
    gpu_type: nullish(z.string()),
    gpu_memory_gb: nullish(z.number()),
    gpu_socket: nullish(z.string()),
    local_storage_gb: nullish(z.number()),
    network_type: nullish(z.string()),
    ib_count: nullish(z.number()),
    bridge_count: nullish(z.number()),
  }),
);
export type WireInstanceType = z.infer<typeof WireInstanceType>;

/**
 * A list read entry by entry: the answer's shape is checked here, each entry with its own schema by the adapter
 * (`readEach`), so one entry (or price) the adapter does not expect is skipped with a warning, not the whole list.
 */
export const RawList = z.lazy(() => z.array(z.unknown()));
/** `{data, next_cursor}` pages (seed 003), entries read one by one like RawList. */
export const RawPage = z.lazy(() => z.object({ data: z.array(z.unknown()), next_cursor: nullish(z.string()) }));

/** "$x.xx", as on bids and in spot availability. Prices are strings here and parsed one by one (map.parseDollars). */
export const Dollars = z.lazy(() => z.string().regex(/^\$\d+(\.\d{1,2})?$/, 'a price like "$25.60"'));

// providers.md §4.2 (spot availability, from SkyPilot utils and the flow SDK types). A price that is not "$x.xx" is
// dropped from its entry (the entry stays), so the prices are plain strings here.
export const WireAvailability = z.lazy(() =>
  z.object({
    fid: z.string().optional(),
    instance_type: z.string(),
    region: z.string(),
    capacity: nullish(z.number()),
    last_instance_price: nullish(z.string()),
    lowest_allocated_price: nullish(z.string()),
    min_bid_price: nullish(z.string()),
  }),
);
export type WireAvailability = z.infer<typeof WireAvailability>;
/** Whole-list schemas, kept for other readers; the adapter reads entries one by one (RawList, RawPage). */
export const InstanceTypeList = z.lazy(() => z.array(WireInstanceType));
export const AvailabilityList = z.lazy(() => z.array(WireAvailability));

// providers.md §4.2 (pricing/current): integer cents, USD.
export const CurrentPrice = z.lazy(() =>
  z.object({
    spot_price_cents: z.number().int(),
    reserved_price_cents: nullish(z.number().int()),
    minimum_price_cents: nullish(z.number().int()),
    lowest_allocated_bid_cents: nullish(z.number().int()),
  }),
);

// Seed 003 / providers.md §4.2: InstanceModel.
export const WireInstance = z.lazy(() =>
  z.object({
    fid: z.string(),
    name: z.string(),
    project: z.string().optional(),
    created_at: nullish(z.string()),
    created_by: nullish(z.string()),
    instance_type: z.string(),
    region: nullish(z.string()),
    bid: nullish(z.string()),
    reservation: nullish(z.string()),
    ssh_destination: nullish(z.string()),
    private_ip: nullish(z.string()),
    status: z.string(),
  }),
);
export type WireInstance = z.infer<typeof WireInstance>;
export const InstanceList = z.lazy(() => z.object({ data: z.array(WireInstance), next_cursor: nullish(z.string()) }));

// Seed 003: GET /v2/instances/{instance_fid}/status.
export const InstanceStatus = z.lazy(() =>
  z.object({
    fid: z.string(),
    name: z.string(),
    status: z.string(),
    bid: nullish(z.string()),
    reservation: nullish(z.string()),
    end_time: nullish(z.string()),
  }),
);

// Seed 003: PATCH /v2/instances "always includes an entry for every requested instance, keyed by instance FID, with that
// instance's current status after processing". The value's schema is not published, so each value is read as it comes
// (a status string, an object with `status`, or null: map.batchEntryStatus).
export const BatchStatus = z.lazy(() => z.record(z.string(), z.unknown()));

// providers.md §4.2: BidModel.
export const WireBid = z.lazy(() =>
  z.object({
    fid: z.string(),
    name: z.string(),
    project: z.string().optional(),
    created_by: nullish(z.string()),
    created_at: nullish(z.string()),
    deactivated_at: nullish(z.string()),
    /** "$x.xx"; parsed where used, so a bid with a price we cannot read is still listed (price unknown). */
    limit_price: z.string(),
    instance_quantity: z.number().int(),
    instance_type: z.string(),
    region: nullish(z.string()),
    instances: z.array(z.string()),
    launch_specification: z.object({
      ssh_keys: z.array(z.string()),
      volumes: z.array(z.string()).optional(),
      startup_script: nullish(z.string()),
      kubernetes_cluster: nullish(z.string()),
    }),
    status: z.string(),
  }),
);
export type WireBid = z.infer<typeof WireBid>;
export const BidList = z.lazy(() => z.object({ data: z.array(WireBid), next_cursor: nullish(z.string()) }));

/** An answer read but not used (e.g. the BidModel a bid update returns): any JSON. */
export const AnyBody = z.lazy(() => z.unknown());

export interface WireCreateBid {
  project: string;
  region: string;
  instance_type: string;
  limit_price: string;
  instance_quantity: number;
  name: string;
  launch_specification: { ssh_keys: string[]; volumes: string[]; startup_script?: string };
}

// providers.md §4.2 (SSH keys; flow SDK). GET /v2/ssh-keys answers a bare array: SkyPilot
// sky/provision/mithril/utils.py _get_or_create_ssh_key iterates the answer itself (`for key in key_list`).
export const WireSshKey = z.lazy(() =>
  z.object({
    fid: z.string(),
    name: z.string(),
    public_key: z.string(),
    required: z.boolean().optional(),
  }),
);
export const SshKeyList = z.lazy(() => z.array(WireSshKey));

// Seed 003: status history. ASSUMPTION: items are {instance_fid, bid_fid?, status, timestamp} under `data`.
export const StatusHistory = z.lazy(() =>
  z.object({
    data: z
      .array(
        z.object({ instance_fid: z.string(), bid_fid: nullish(z.string()), status: z.string(), timestamp: z.string() }),
      )
      .default([]),
    next_cursor: nullish(z.string()),
  }),
);

// providers.md §4.4: FastAPI errors. 422 `{detail:[{loc,msg,type}]}`; ASSUMPTION: `{detail: "..."}` otherwise.
export const ErrorBody = z.lazy(() =>
  z.object({
    detail: z
      .union([
        z.string(),
        z.array(
          z.object({
            loc: z.array(z.union([z.string(), z.number()])).optional(),
            msg: z.string(),
            type: z.string().optional(),
          }),
        ),
      ])
      .optional(),
    error: z.string().optional(),
    message: z.string().optional(),
  }),
);
