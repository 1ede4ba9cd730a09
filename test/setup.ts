// zod as the program runs it (src/zod.ts), before any test file makes a schema.
import '../src/zod.js';
