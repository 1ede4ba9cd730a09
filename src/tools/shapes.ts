/**
 * Output schemas of the domain objects as tools/list shows them: the identifying fields typed, the rest of the
 * SPEC §4 object allowed (loose). Every conversation pays for tools/list, so these stay small; the full shapes are in
 * src/domain/model.ts and the README.
 */
import { z } from 'zod';

const s = z.string();
const n = z.number();

export const OutInstance = z.looseObject({ id: s, name: s, status: s });
export const OutRequest = z.looseObject({ method: s, path: s });
export const OutInstanceType = z.looseObject({
  provider: s,
  id: s,
  vcpus: n,
  memory_gib: n,
  gpu: z.looseObject({ model: s, count: n }).nullable(),
  price: z.looseObject({ usd_per_hour: n.nullable() }),
  regions: z.array(s),
});
export const OutSnapshot = z.looseObject({ provider: s, id: s, name: s, status: s });
export const OutImage = z.looseObject({ id: s, name: s, kind: s });
export const OutConsole = z.looseObject({ kind: s, url: s.optional(), command: s.optional() });
export const OutQuote = z.looseObject({ usd_per_hour: n.nullable(), max_total_usd: n.nullable() });
export const OutError = z.object({ provider: s, code: s, message: s });
