/** The server's check of a human's answer to an elicitation form: the form's own fields and types, nothing else. */
import { describe, expect, it } from 'vitest';
import { FormValidator } from '../../src/guardrails/form.js';

const approve = {
  type: 'object',
  properties: { approve: { type: 'boolean', title: 'Approve', default: false } },
  required: ['approve'],
} as const;
const check = (schema: object, answer: unknown) => new FormValidator().getValidator(schema)(answer);

describe('FormValidator', () => {
  it('takes an answer of the form', () => {
    expect(check(approve, { approve: true })).toEqual({
      valid: true,
      data: { approve: true },
      errorMessage: undefined,
    });
    expect(check(approve, { approve: false }).valid).toBe(true);
  });

  it.each([
    ['a string for a boolean', { approve: 'yes' }, 'approve must be true or false'],
    ['a missing required field', {}, 'approve is required'],
    ['a field the form does not have', { approve: true, admin: true }, 'admin is not a field of the form'],
    ['an array', [true], 'the answer is not an object'],
    ['null', null, 'the answer is not an object'],
    [
      'an inherited name',
      JSON.parse('{"approve": true, "__proto__": {"x": 1}}'),
      '__proto__ is not a field of the form',
    ],
  ])('refuses %s', (_what, answer, message) => {
    expect(check(approve, answer)).toEqual({ valid: false, data: undefined, errorMessage: message });
  });

  it('checks strings, numbers and choices', () => {
    const form = {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 2, maxLength: 4 },
        size: { type: 'string', enum: ['s', 'm'] },
        tier: { type: 'string', oneOf: [{ const: 'a', title: 'A' }] },
        hours: { type: 'integer', minimum: 1, maximum: 8 },
        ratio: { type: 'number' },
      },
    };
    expect(check(form, { name: 'abc', size: 'm', tier: 'a', hours: 8, ratio: 0.5 }).valid).toBe(true);
    expect(check(form, { name: 'a' }).errorMessage).toBe('name is too short');
    expect(check(form, { name: 'abcde' }).errorMessage).toBe('name is too long');
    expect(check(form, { size: 'xl' }).errorMessage).toBe('size is not one of the choices');
    expect(check(form, { tier: 'b' }).errorMessage).toBe('tier is not one of the choices');
    expect(check(form, { hours: 1.5 }).errorMessage).toBe('hours must be a whole number');
    expect(check(form, { hours: 9 }).errorMessage).toBe('hours must be at most 8');
    expect(check(form, { hours: 0 }).errorMessage).toBe('hours must be at least 1');
    expect(check(form, { ratio: Number.NaN }).errorMessage).toBe('ratio must be a number');
  });

  it('fails every answer on a schema it does not understand', () => {
    expect(check({ type: 'array' }, [] as unknown).valid).toBe(false);
    expect(check({ type: 'object', properties: { x: { type: 'object' } } }, { x: {} }).errorMessage).toBe(
      'x has a type forms do not have',
    );
  });
});
