/**
 * The one list of create fields. create_vm's inputs, what a confirmation token binds, what the approval summary
 * shows and what reaches the adapter all come from this table, so a field can never be approved and then dropped,
 * or sent without having been approved.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { CreateRequest } from './model.js';

/** Names are identifiers only: no name can read as a sentence in a summary ("(no GPU) at $0.01/hour") or break a line. */
export const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

interface Field {
  /** The tool argument (where it differs from the request field's name). */
  arg?: string;
  /** Built when create_vm's input fields are (tools/define.ts), not when this table is imported. */
  schema: () => z.ZodType;
  /** How the summary shows it, when set; undefined for fields the summary's first line already states. */
  show?: (value: never) => string;
}

const fingerprint = (key: string) => `sha256:${createHash('sha256').update(key.trim()).digest('hex').slice(0, 16)}`;

export const CREATE_FIELDS = {
  instance_type: { schema: () => z.string().min(1).max(200).describe('Type id from list_instance_types') },
  region: { schema: () => z.string().max(100).optional().describe('Region; omit for the first with capacity') },
  // Shown as resolved by the plan (the quote's image), also when omitted: the default is what gets booted.
  image: {
    schema: () => z.string().max(200).optional().describe('Image id (list_images); default Ubuntu'),
  },
  name: {
    schema: () =>
      z
        .string()
        .max(63)
        .regex(VM_NAME, 'use 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit')
        .describe('VM name'),
  },
  ssh_public_key: {
    schema: () => z.string().max(16_384).optional().describe('SSH public key'),
    show: (key: string) => `SSH key ${fingerprint(key)}`,
  },
  startup_script: {
    schema: () => z.string().max(65_536).optional().describe('Script run on first boot'),
    show: (script: string) => `startup script of ${Buffer.byteLength(script)} bytes`,
  },
  disk_gib: {
    schema: () => z.number().int().min(1).max(65_536).optional().describe('Boot disk size, GiB'),
    show: (gib: number) => `boot disk ${gib} GiB`,
  },
  from_snapshot: {
    schema: () => z.string().max(200).optional().describe('Snapshot id to restore (list_snapshots)'),
    show: (id: string) => `restored from snapshot ${JSON.stringify(id)}`,
  },
  limit_price_usd: {
    arg: 'limit_price',
    schema: () => z.number().positive().max(10_000).optional().describe('Spot bid, max $/hour'),
  },
} satisfies Record<keyof CreateRequest, Field>;

type Fields = typeof CREATE_FIELDS;
const KEYS = Object.keys(CREATE_FIELDS) as (keyof Fields)[];
const argOf = (k: keyof Fields): string => (CREATE_FIELDS[k] as Field).arg ?? k;

/** create_vm's input shape for the request fields, under their argument names. */
export const createInputShape = (): Record<string, z.ZodType> =>
  Object.fromEntries(KEYS.map((k) => [argOf(k), CREATE_FIELDS[k].schema()]));

/** The request fields of a create_vm call (by argument name), as the adapter gets them. */
export function requestOf(args: Record<string, unknown>): CreateRequest {
  const out: Record<string, unknown> = {};
  for (const k of KEYS) if (args[argOf(k)] !== undefined) out[k] = args[argOf(k)];
  return out as unknown as CreateRequest;
}

/** The fields the summary's first line does not already state, as the human reads them. */
export function shownFields(req: CreateRequest): string[] {
  const out: string[] = [];
  for (const k of KEYS) {
    const f = CREATE_FIELDS[k] as Field;
    const v = req[k];
    if (v !== undefined && f.show) out.push((f.show as (x: unknown) => string)(v));
  }
  return out;
}
