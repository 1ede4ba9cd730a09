/**
 * zod as this program runs it, set before any schema is made (src/index.ts imports this first; so does the tests'
 * setup, so that they run what users run):
 * - No generated code (`jitless`). Otherwise each object schema compiles a parser with `new Function` at its first
 *   parse: code no cache keeps, paid again by every start (about 9 ms of answering initialize).
 * - No cycle support. zod's default memoizer lets a parse take input with reference cycles: it walks each schema's
 *   tree at its first parse (about 6 ms of a start) and keeps a table per parse of every schema it cannot prove
 *   acyclic, which is every `z.lazy` (the clouds' wire schemas). Everything parsed here came from JSON (messages,
 *   cloud answers, the config file), which cannot hold a cycle.
 */
import { z } from 'zod';

const noCycles: z.core.$ZodMemoizer = {
  attach: () => undefined,
  guard: () => undefined,
  alloc: (_schema, _payload, empty) => empty,
};

z.config({ jitless: true, memoizer: noCycles });
