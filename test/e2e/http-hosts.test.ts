/** Loopback is decided by address, never by spelling: for the bind (token or not) and for Host/Origin checks. */
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLoopback } from '../../src/transport/http.js';
import { assertBuilt, cleanupAfterEach, BASE_ENV, CLI, INIT, raw, startHttpCli } from './serve.js';

const { killLater } = cleanupAfterEach();
beforeAll(assertBuilt);

describe('isLoopback', () => {
  // The rule: IP literals in 127.0.0.0/8, ::1 (bracketed or not, any spelling), ::ffff:127.x.y.z, and `localhost`.
  const LOOPBACK = [
    '127.0.0.1',
    '127.0.0.2',
    '127.255.255.254',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    '[0::1]',
    '::ffff:127.0.0.1',
    '[::ffff:127.1.2.3]',
    '::ffff:7f00:1',
    'localhost',
    'LOCALHOST',
  ];
  const NOT_LOOPBACK = [
    '127.attacker.example',
    '127.0.0.1.nip.io',
    '127.0.0.1.',
    'localhost.evil.com',
    'localhost.',
    'evil-localhost',
    'sub.localhost',
    '0x7f000001',
    '2130706433',
    '127.1',
    '0177.0.0.1',
    '127.000.000.001',
    '[::1].evil',
    '[::1]evil',
    '::1.evil',
    '[127.0.0.1]',
    '[localhost]',
    '::ffff:10.0.0.1',
    '::ffff:128.0.0.1',
    '::2',
    '::',
    '0.0.0.0',
    '128.0.0.1',
    '10.0.0.1',
    '::1%lo',
    '',
    ' 127.0.0.1',
    'localhost:80',
    '127.0.0.1:80',
  ];
  it.each(LOOPBACK)('%j is loopback', (h) => expect(isLoopback(h)).toBe(true));
  it.each(NOT_LOOPBACK)('%j is not loopback', (h) => expect(isLoopback(h)).toBe(false));
});

describe('--http on a name that only looks like loopback', () => {
  it('refuses to start on 127.attacker.example without COMPUTE_MCP_HTTP_TOKEN (exit 2, one sentence)', async () => {
    const child = spawn(process.execPath, [CLI, '--emulate', '--http', '127.attacker.example:0'], { env: BASE_ENV });
    killLater(child);
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    expect(await new Promise((r) => child.on('exit', r))).toBe(2);
    expect(err).toContain('compute-mcp: refusing to listen on 127.attacker.example without COMPUTE_MCP_HTTP_TOKEN');
    expect(err).not.toMatch(/\n\s+at /); // a sentence, not a stack trace
  });
});

describe('the Host and Origin checks on a loopback bind', () => {
  it('take loopback literals and localhost, and refuse every other spelling', async () => {
    const { url } = await startHttpCli(['--emulate', '--http', '127.0.0.1:0'], {}, killLater);
    const port = new URL(url).port;
    const status = async (headers: Record<string, string>) => (await raw(url, 'POST', headers, INIT)).status;
    for (const host of ['127.0.0.1', 'localhost', '127.0.0.2', '[::1]', '[::ffff:7f00:1]']) {
      expect(await status({ host: `${host}:${port}` }), host).toBe(200);
    }
    expect(await status({ host: 'localhost' }), 'no port').toBe(200);
    const hostile = [
      '127.attacker.example',
      '127.0.0.1.nip.io',
      'localhost.evil.com',
      '0x7f000001',
      '2130706433',
      '127.1',
      '[::1].evil',
      'evil.example.com',
      'user@127.0.0.1',
      '127.0.0.1/x',
    ];
    for (const host of hostile) {
      expect(await status({ host: `${host}:${port}` }), host).toBe(403);
      expect(await status({ host }), host).toBe(403);
    }
    for (const origin of ['http://127.attacker.example', `http://localhost.evil.com:${port}`, 'null', 'file:///x'])
      expect(await status({ origin }), origin).toBe(403);
    for (const origin of [`http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`])
      expect(await status({ origin }), origin).toBe(200);
  });
});
