/** `*` and `?` globs for allow-lists, matched case-insensitively against the whole value. */
export function globMatch(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(value);
}
export const anyGlob = (patterns: string[], value: string) => patterns.some((p) => globMatch(p, value));
