/** Follows a cloud's pagination to the end, bounded so a misbehaving API cannot loop forever. */
import { ComputeError } from '../domain/errors.js';
import type { ProviderId } from '../domain/model.js';

export const MAX_PAGES = 50;

export async function collectPages<T, C>(
  provider: ProviderId,
  first: C,
  fetchPage: (cursor: C) => Promise<{ items: T[]; next?: C }>,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: C | undefined = first;
  // The first page is always read, whatever its cursor (undefined means "from the start" for cursor APIs).
  for (let i = 0; i === 0 || cursor !== undefined; i++) {
    if (i >= MAX_PAGES)
      throw new ComputeError('PROVIDER_BAD_RESPONSE', `more than ${MAX_PAGES} pages in one listing`, {
        provider,
        hint: 'Narrow the request (filter by provider or id).',
      });
    const page: { items: T[]; next?: C } = await fetchPage(cursor as C);
    out.push(...page.items);
    cursor = page.next;
  }
  return out;
}
