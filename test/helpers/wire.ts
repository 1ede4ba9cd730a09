/** msw for wire tests: every request the adapter sends, recorded, and unhandled requests failing the test. */
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';

export interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  auth: string | null;
  body: unknown;
}

/** Sets up msw for the file; `seen()` lists this test's requests; every one must carry `auth`. */
export function wireServer(auth: string) {
  const server = setupServer();
  const state = { seen: [] as Seen[] };
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterAll(() => server.close());
  beforeEach(() => {
    state.seen = [];
    server.events.removeAllListeners();
    server.events.on('request:start', async ({ request }) => {
      const u = new URL(request.url);
      const text = await request.clone().text();
      state.seen.push({
        method: request.method,
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        auth: request.headers.get('authorization'),
        body: text ? JSON.parse(text) : undefined,
      });
    });
  });
  afterEach(() => {
    server.resetHandlers();
    // Every call of every test carries the documented auth header.
    for (const r of state.seen) expect(r.auth, `${r.method} ${r.path}`).toBe(auth);
  });
  return { server, state };
}
