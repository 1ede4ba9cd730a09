/**
 * Output schemas of the domain objects as tools/list shows them: the identifying fields typed, the rest of the
 * SPEC §4 object allowed (loose). Every conversation pays for tools/list, so these stay small; the full shapes are in
 * src/domain/model.ts and the README.
 */
import { z } from 'zod';
import { once } from './define.js';

// Each built once, when the first tool's output fields are (tools/define.ts).
const s = once(() => z.string());
const n = once(() => z.number());

export const OutInstance = once(() => z.looseObject({ id: s(), name: s(), status: s() }));
export const OutRequest = once(() => z.looseObject({ method: s(), path: s() }));
export const OutInstanceType = once(() =>
  z.looseObject({
    provider: s(),
    id: s(),
    vcpus: n(),
    memory_gib: n(),
    gpu: z.looseObject({ model: s(), count: n() }).nullable(),
    price: z.looseObject({ usd_per_hour: n().nullable() }),
    regions: z.array(s()),
  }),
);
export const OutSnapshot = once(() => z.looseObject({ provider: s(), id: s(), name: s(), status: s() }));
export const OutImage = once(() => z.looseObject({ id: s(), name: s(), kind: s() }));
export const OutConsole = once(() => z.looseObject({ kind: s(), url: s().optional(), command: s().optional() }));
export const OutQuote = once(() => z.looseObject({ usd_per_hour: n().nullable(), max_total_usd: n().nullable() }));
export const OutError = once(() => z.object({ provider: s(), code: s(), message: s() }));
