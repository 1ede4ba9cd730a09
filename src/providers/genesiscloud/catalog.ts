/**
 * Genesis Cloud instance types. The API has no endpoint that lists types, so this is the documented table.
 * Source: shared/seeds/genesiscloud-instances.txt ("Instance Types"); providers.md §3.4. test/unit/genesis-catalog
 * checks every row against the seed text.
 */
import type { Gpu } from '../../domain/model.js';

export interface GenesisTypeRow {
  id: string;
  product: string;
  vcpus: number;
  memory_gib: number;
  disk_gib: number;
  gpu: Gpu | null;
  local_nvme_gib?: number;
}

const GPUS = {
  h100: { model: 'H100', memory_gib: 80, label: 'NVIDIA® H100 SXM5 80 GB' },
  gaudi2: { model: 'Gaudi2', memory_gib: 96, label: 'Intel® Gaudi®2' },
  rtx3090: { model: 'RTX 3090', memory_gib: 24, label: 'GeForce™ RTX 3090' },
  rtx3080: { model: 'RTX 3080', memory_gib: 10, label: 'GeForce™ RTX 3080' },
  gtx1080ti: { model: 'GTX 1080 Ti', memory_gib: 11, label: 'GeForce™ GTX 1080 Ti' },
} as const;

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const gpu = (g: (typeof GPUS)[keyof typeof GPUS], count: number): Gpu => ({
  model: g.model,
  count,
  memory_gib: g.memory_gib,
});

function family(
  g: (typeof GPUS)[keyof typeof GPUS],
  suffix: string,
  max: number,
  vcpuPer: number,
  memPer: number,
): GenesisTypeRow[] {
  return range(max).map((k) => ({
    id: `vcpu-${vcpuPer * k}_memory-${memPer * k}g_disk-80g_${suffix}-${k}`,
    product: `GPU Instance ${k}x ${g.label}`,
    vcpus: vcpuPer * k,
    memory_gib: memPer * k,
    disk_gib: 80,
    gpu: gpu(g, k),
  }));
}

export const GENESIS_TYPES: readonly GenesisTypeRow[] = [
  {
    id: 'vcpu-192_memory-1920g_nvidia-h100-sxm5-8',
    product: `Accelerator Instance 8x ${GPUS.h100.label}`,
    vcpus: 192,
    memory_gib: 1920,
    disk_gib: 80,
    local_nvme_gib: 28600,
    gpu: gpu(GPUS.h100, 8),
  },
  ...range(8).map((k) => ({
    id: `vcpu-${16 * k}_memory-${120 * k}g_intel-gaudi2-${k}`,
    product: `Accelerator Instance ${k}x ${GPUS.gaudi2.label}`,
    vcpus: 16 * k,
    memory_gib: 120 * k,
    disk_gib: 80,
    local_nvme_gib: 445 * k,
    gpu: gpu(GPUS.gaudi2, k),
  })),
  ...family(GPUS.rtx3090, 'nvidia3090', 8, 4, 24),
  // "Optimized CPU & Memory" variants share ids with the plain family's shape but double the vCPUs per GPU.
  ...family(GPUS.rtx3090, 'nvidia3090', 4, 8, 48).map((r) => ({
    ...r,
    product: `${r.product} (Optimized CPU & Memory)`,
  })),
  ...family(GPUS.rtx3080, 'nvidia3080', 8, 4, 12),
  ...family(GPUS.rtx3080, 'nvidia3080', 4, 8, 32).map((r) => ({
    ...r,
    product: `${r.product} (Optimized CPU & Memory)`,
  })),
  ...family(GPUS.gtx1080ti, 'nvidia1080ti', 8, 4, 12),
  ...[2, 4, 8, 12, 16, 20, 24].map((n) => ({
    id: `vcpu-${n}_memory-${2 * n}g_disk-80g`,
    product: `CPU Instance ${n}x vCPU`,
    vcpus: n,
    memory_gib: 2 * n,
    disk_gib: 80,
    gpu: null,
  })),
];

export const GENESIS_TYPES_BY_ID = new Map(GENESIS_TYPES.map((t) => [t.id, t]));

/**
 * Region enum of the current OpenAPI (genesiscloud-go types.gen.go `AllRegions`, HEAD 163ad0b; providers.md §3.4).
 * There is no regions endpoint. This is only where the adapter starts asking: the list changes (genesiscloud-js
 * src/models/Region.ts still has ARC-IS-HAF-1, the seed's example), so the adapter also asks about the seed's region,
 * adds every region the images endpoint names and never refuses a region for being absent here.
 */
export const GENESIS_REGIONS = [
  'EUC-DE-MUC-1',
  'EUW-GB-MNC-1',
  'EUW-NL-AMS-1',
  'NA-CA-FTS-1',
  'NA-CA-MNZ-1',
  'NA-CA-PRG-1',
  'NORD-NO-KRS-1',
] as const;

/**
 * Every region a document names: the OpenAPI enum, then ARC-IS-HAF-1, which seed 002 gives as its region identifier
 * ("eg. ARC-IS-HAF-1", and in every example) and providers.md §3.4 calls a legacy region the enum no longer lists.
 * Asking a region the cloud does not offer costs nothing more than a 404 in the same round trip (it is then left out).
 */
export const DOCUMENTED_REGIONS: readonly string[] = [...GENESIS_REGIONS, 'ARC-IS-HAF-1'];
