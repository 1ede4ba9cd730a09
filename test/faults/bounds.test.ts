/**
 * A cloud that answers too much or too slowly is cut off: the size cap stops a huge body without reading it, and
 * the request timeout bounds headers that never come and bodies that trickle, for reads and for creates alike.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Fault } from '../../src/emulator/server.js';
import { CPU2, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const MiB = 1024 * 1024;
const HUGE = 64 * MiB;
const LIST = { provider: 'genesiscloud' };
const CREATE = { provider: 'genesiscloud', instance_type: CPU2, name: 'b', ssh_public_key: SSH_KEY };
const ON_LIST: Fault = { method: 'GET', path: '/compute/v1/instances', times: 0 };
const ON_CREATE: Fault = { method: 'POST', path: /^\/compute\/v1\/instances$/, times: 0 };

const TOO_LARGE = new RegExp(
  '^\\[PROVIDER_BAD_RESPONSE\\] genesiscloud: unexpected answer to GET /compute/v1/instances: ' +
    'the answer was larger than 8 MiB, so it was not read\\. ' +
    'Ask for less at a time \\(a smaller `limit`\\); if it persists, the cloud may be misbehaving\\.$',
);
const READ_TIMED_OUT = /^\[TIMEOUT\] genesiscloud: GET \/compute\/v1\/instances timed out\. Try again in a minute/;
const CREATE_TIMED_OUT = new RegExp(
  '^\\[TIMEOUT\\] genesiscloud: POST /compute/v1/instances timed out\\. ' +
    'The request may have reached the cloud and was not re-sent; check list_instances',
);

/** Memory this process holds in JS objects and in buffers. */
const heldBytes = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;

/** The last body the emulator streamed, once it stopped writing. */
async function lastStream(h: Harness) {
  const s = h.emulator.http.streams.at(-1);
  if (!s) throw new Error('the emulator streamed nothing');
  await s.done;
  return s;
}

describe('size cap', () => {
  it('a 64 MiB list body is refused once past the cap: the cloud is hung up on long before the end', async () => {
    h = await startHarness();
    h.emulator.http.injectFault({ ...ON_LIST, hugeBytes: HUGE });
    const before = heldBytes();
    const started = Date.now();
    const r = await h.call('list_instances', LIST);
    const ms = Date.now() - started;
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(TOO_LARGE);
    const s = await lastStream(h);
    expect(s.closedEarly).toBe(true);
    // The cap (8 MiB) plus what the sockets buffered: nowhere near the whole body.
    expect(s.bytesWritten).toBeLessThan(HUGE / 2);
    // Loose, as GC decides when garbage goes; a client that read it all would have held well over 64 MiB at once.
    expect(heldBytes() - before).toBeLessThan(32 * MiB);
    // Not retried: a body this size is not a passing hiccup.
    expect(h.emulator.http.count('GET', '/compute/v1/instances')).toBe(1);
    expect(ms).toBeLessThan(5_000);
    h.emulator.http.clearFaults();
    expect((await h.call('list_instances', LIST)).isError).toBeFalsy();
  });

  it('a body whose Content-Length is over the cap is refused before any of it is read', async () => {
    h = await startHarness();
    h.emulator.http.injectFault({ ...ON_LIST, hugeBytes: HUGE, announceLength: true });
    const r = await h.call('list_instances', LIST);
    expect(text(r)).toMatch(TOO_LARGE);
    const s = await lastStream(h);
    expect(s.closedEarly).toBe(true);
    expect(s.bytesWritten).toBeLessThan(HUGE / 2);
  });

  it('a huge error body is cut at the error cap: the status still says what happened', async () => {
    h = await startHarness({ retry: { maxAttempts: 1 } });
    h.emulator.http.injectFault({ ...ON_LIST, status: 500, hugeBytes: HUGE });
    const r = await h.call('list_instances', LIST);
    const unavailable = /^\[PROVIDER_UNAVAILABLE\] genesiscloud: GET \/compute\/v1\/instances failed with HTTP 500\. /;
    expect(text(r)).toMatch(unavailable);
    const s = await lastStream(h);
    expect(s.closedEarly).toBe(true);
    expect(s.bytesWritten).toBeLessThan(HUGE / 2);
  });
});

describe('slow clouds', () => {
  const requestMs = 200;
  // Seconds for a whole body, 2 bytes at a time, each piece well within undici's idle body timeout (requestMs):
  // only the request timeout can end it.
  const TRICKLE: Fault = { trickleMs: 100, trickleBytes: 2 };

  it('a read whose headers never come times out per attempt, is retried, then gives up before the answer', async () => {
    h = await startHarness({ timeouts: { requestMs }, retry: { maxAttempts: 2 } });
    h.emulator.http.injectFault({ ...ON_LIST, delayMs: 1_500 });
    const started = Date.now();
    const r = await h.call('list_instances', LIST);
    expect(text(r)).toMatch(READ_TIMED_OUT);
    expect(Date.now() - started).toBeLessThan(1_200);
  });

  it('a read whose body trickles is cut off by the request timeout, not left to finish', async () => {
    h = await startHarness({ timeouts: { requestMs }, retry: { maxAttempts: 2 } });
    h.emulator.http.injectFault({ ...ON_LIST, ...TRICKLE });
    const started = Date.now();
    const r = await h.call('list_instances', LIST);
    expect(text(r)).toMatch(READ_TIMED_OUT);
    expect(Date.now() - started).toBeLessThan(1_500);
    // Both attempts were hung up on mid-body.
    const streams = h.emulator.http.streams;
    expect(streams).toHaveLength(2);
    for (const s of streams) {
      await s.done;
      expect(s.closedEarly).toBe(true);
    }
    h.emulator.http.clearFaults();
    expect((await h.call('list_instances', LIST)).isError).toBeFalsy();
  });

  it('a create whose answer trickles times out, is not re-sent, and says to check before trying again', async () => {
    h = await startHarness({ timeouts: { requestMs } });
    // The cloud creates the VM, then sends its answer too slowly to arrive in time.
    h.emulator.http.injectFault({ ...ON_CREATE, ...TRICKLE });
    const started = Date.now();
    const r = await h.call('create_vm', CREATE);
    expect(text(r)).toMatch(CREATE_TIMED_OUT);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect((await lastStream(h)).closedEarly).toBe(true);
    expect(h.emulator.http.count('POST', '/compute/v1/instances')).toBe(1);
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });
});
