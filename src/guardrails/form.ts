/**
 * Checks a human's answer to an elicitation form against the form's schema, for the SDK server (its
 * `jsonSchemaValidator`). Forms are flat objects of primitive fields (MCP 2025-11-25, elicitation): strings (length,
 * enum, oneOf), numbers and integers (bounds) and booleans. A schema outside that subset fails every answer: an
 * answer is never taken on a schema this does not understand.
 */
import type {
  jsonSchemaValidator,
  JsonSchemaType,
  JsonSchemaValidator,
} from '@modelcontextprotocol/sdk/validation/types.js';

type Field = {
  type?: unknown;
  enum?: unknown;
  oneOf?: unknown;
  minLength?: unknown;
  maxLength?: unknown;
  minimum?: unknown;
  maximum?: unknown;
};

export class FormValidator implements jsonSchemaValidator {
  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    const s = schema as { type?: unknown; properties?: Record<string, Field>; required?: unknown };
    const fields = s.type === 'object' && s.properties && typeof s.properties === 'object' ? s.properties : undefined;
    const required = Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === 'string') : [];
    return (input: unknown) => {
      const problem = fields ? checkForm(fields, required, input) : 'the form schema is not a flat object';
      return problem === undefined
        ? { valid: true, data: input as T, errorMessage: undefined }
        : { valid: false, data: undefined, errorMessage: problem };
    };
  }
}

function checkForm(fields: Record<string, Field>, required: string[], input: unknown): string | undefined {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return 'the answer is not an object';
  const answer = input as Record<string, unknown>;
  for (const name of required) if (!Object.hasOwn(answer, name)) return `${name} is required`;
  for (const [name, value] of Object.entries(answer)) {
    if (!Object.hasOwn(fields, name)) return `${name} is not a field of the form`;
    const problem = checkField(fields[name]!, value);
    if (problem) return `${name} ${problem}`;
  }
  return undefined;
}

function checkField(f: Field, v: unknown): string | undefined {
  const num = (x: unknown) => (typeof x === 'number' ? x : undefined);
  switch (f.type) {
    case 'boolean':
      return typeof v === 'boolean' ? undefined : 'must be true or false';
    case 'number':
    case 'integer': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return 'must be a number';
      if (f.type === 'integer' && !Number.isInteger(v)) return 'must be a whole number';
      if (num(f.minimum) !== undefined && v < num(f.minimum)!) return `must be at least ${String(f.minimum)}`;
      if (num(f.maximum) !== undefined && v > num(f.maximum)!) return `must be at most ${String(f.maximum)}`;
      return undefined;
    }
    case 'string': {
      if (typeof v !== 'string') return 'must be text';
      if (num(f.minLength) !== undefined && v.length < num(f.minLength)!) return 'is too short';
      if (num(f.maxLength) !== undefined && v.length > num(f.maxLength)!) return 'is too long';
      const allowed = Array.isArray(f.enum)
        ? f.enum
        : Array.isArray(f.oneOf)
          ? f.oneOf.map((o: { const?: unknown }) => o?.const)
          : undefined;
      return allowed && !allowed.includes(v) ? 'is not one of the choices' : undefined;
    }
    default:
      return 'has a type forms do not have';
  }
}
