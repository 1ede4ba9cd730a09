/**
 * The approval page, in a real headless Chromium: a human's yes the model cannot give. URL-mode elicitation through the
 * SDK's real Client; the server's own fallback (the user's browser, a webhook) with approval_pending and a later call
 * that waits; and every way around it refused: a reused link, no CSRF token, a foreign Origin or Host, a guessed
 * approval id, an expired link. No tool result ever holds the link or its secret.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitationCompleteNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { APPROVAL_TTL_MS } from '../../src/approval/approvals.js';
import { ARTIFACTS, HAVE_BROWSER, useBrowser } from '../helpers/browser.js';
import { configFile } from '../helpers/cli.js';
import { H100, SSH_KEY, startHarness, text, type Harness, type HarnessOptions } from '../helpers/harness.js';
import { startHttpCli } from './serve.js';

const browser = useBrowser('approval page tests');
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

const ARGS = { provider: 'genesiscloud', instance_type: H100, name: 'approved-by-a-human', ssh_public_key: SSH_KEY };
const LINK = /http:\/\/127\.0\.0\.1:\d+\/approve\/[A-Za-z0-9_-]{43}/;

async function harness(opts: HarnessOptions) {
  const h = await startHarness(opts);
  open.push(h);
  return h;
}

/** The human: opens the link, checks the page says what will happen, and clicks a button. */
async function answerOnPage(url: string, button: 'Approve' | 'Decline', shot?: string) {
  const page = await browser.page({ viewport: { width: 390, height: 800 } });
  await page.goto(url);
  const summary = await page.locator('#summary').innerText();
  expect(summary).toContain('8× H100');
  expect(summary).toContain('$17.92/hour');
  expect(summary).toContain('"approved-by-a-human"');
  if (shot) await page.screenshot({ path: join(ARTIFACTS, shot), fullPage: true });
  await page.getByRole('button', { name: button }).click();
  const result = await page.locator('h1').innerText();
  await page.close();
  return result;
}

/** No result, text or structured, holds a link or a link secret. */
function expectNoLink(r: CallToolResult) {
  expect(JSON.stringify(r)).not.toMatch(/\/approve\/|[A-Za-z0-9_-]{43}/);
}

describe.runIf(HAVE_BROWSER)('URL-mode elicitation: the client shows the link, the human answers on the page', () => {
  it('Approve creates exactly one VM, tells the client the page is done, and audits who approved from where', async () => {
    let link = '';
    const completed: string[] = [];
    const h = await harness({
      desk: {},
      elicitUrl: (req) => {
        link = (req.params as { url: string }).url;
        // The client asked the human whether to open the page; they said yes and answer there.
        void answerOnPage(link, 'Approve', 'approval-page.png');
        return { action: 'accept' };
      },
    });
    h.client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
      completed.push(n.params.elicitationId);
    });
    const r = await h.call('create_vm', ARGS);
    expect(r.isError, text(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ status: 'created' });
    expectNoLink(r);
    expect(link).toMatch(LINK);
    expect(h.emulator.liveInstances()).toHaveLength(1);
    await expect.poll(() => completed.length).toBe(1);
    const audit = h.state.lines<{ decision?: string; how?: string; reason?: string }>('audit.jsonl');
    expect(audit.find((a) => a.decision === 'approved')).toMatchObject({
      how: 'url',
      reason: expect.stringMatching(/^on the approval page from 127\.0\.0\.1 \(.*HeadlessChrome/),
    });

    // The link works once.
    const page = await browser.page();
    const again = await page.goto(link);
    expect(again?.status()).toBe(409);
    expect(await page.locator('h1').innerText()).toBe('This link was already used');
    await page.close();
  });

  it('Decline creates nothing', async () => {
    const h = await harness({
      desk: {},
      elicitUrl: (req) => {
        void answerOnPage((req.params as { url: string }).url, 'Decline');
        return { action: 'accept' };
      },
    });
    const r = await h.call('create_vm', ARGS);
    expect(r.structuredContent).toMatchObject({ status: 'declined' });
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });

  it('a client that declines to open the page creates nothing, and the link is dead', async () => {
    let link = '';
    const h = await harness({
      desk: {},
      elicitUrl: (req) => {
        link = (req.params as { url: string }).url;
        return { action: 'decline' };
      },
    });
    expect((await h.call('create_vm', ARGS)).structuredContent).toMatchObject({ status: 'declined' });
    const res = await fetch(link);
    expect(res.status).toBe(409);
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });
});

/** GET with another Host header (fetch cannot set one). */
function statusWithHost(url: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A $BROWSER that writes the link it is given to a file: the "user's browser" the server starts. */
function recordingBrowser(): { env: Record<string, string>; link: () => string | undefined } {
  const dir = mkdtempSync(join(tmpdir(), 'cm-browser-'));
  const out = join(dir, 'link');
  const script = join(dir, 'browser.sh');
  writeFileSync(script, `#!/bin/sh\nprintf '%s' "$1" > ${JSON.stringify(out)}\n`);
  chmodSync(script, 0o755);
  return { env: { BROWSER: script }, link: () => (existsSync(out) ? readFileSync(out, 'utf8') : undefined) };
}

describe.runIf(HAVE_BROWSER)('confirm.fallback "url": the server sends the page itself', () => {
  it('opens the browser, answers approval_pending, and a later call with the approval id creates once', async () => {
    const b = recordingBrowser();
    const h = await harness({
      config: { policy: { confirm: { fallback: 'url' } } },
      desk: { browser: true, env: b.env, waitMs: 200 },
    });
    const first = await h.call('create_vm', ARGS);
    expectNoLink(first);
    const pending = first.structuredContent as { status: string; confirmation_token: string; message: string };
    expect(pending.status).toBe('approval_pending');
    expect(pending.confirmation_token).toMatch(/^apr_/);
    expect(pending.message).toContain('browser');
    expect(text(first)).toMatch(/^APPROVAL PENDING/);
    await expect.poll(() => b.link()).toMatch(LINK);

    expect(await answerOnPage(b.link()!, 'Approve')).toBe('Approved');
    const made = await h.call('create_vm', { ...ARGS, confirmation_token: pending.confirmation_token });
    expect(made.structuredContent).toMatchObject({ status: 'created' });
    const replay = await h.call('create_vm', { ...ARGS, confirmation_token: pending.confirmation_token });
    expect(replay.structuredContent).toMatchObject({ status: 'existing' });
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });

  it('a cancelled call creates nothing, even when the human approves afterwards', async () => {
    const b = recordingBrowser();
    const h = await harness({
      config: { policy: { confirm: { fallback: 'url' } } },
      desk: { browser: true, env: b.env, waitMs: 30_000 },
    });
    const abort = new AbortController();
    const call = h.client.callTool({ name: 'create_vm', arguments: ARGS }, undefined, { signal: abort.signal });
    await expect.poll(() => b.link()).toMatch(LINK);
    abort.abort();
    await expect(call).rejects.toThrow();
    expect(await answerOnPage(b.link()!, 'Approve')).toBe('Approved');
    // The server's side of the call ended on the cancellation (its last audit line says the approval was left pending),
    // and nothing runs on after it.
    await expect
      .poll(() => h.state.lines<{ how?: string; decision?: string }>('audit.jsonl').some((a) => a.how === 'url'))
      .toBe(true);
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });

  it('a waiting call sends progress notifications while the human reads the page', async () => {
    const b = recordingBrowser();
    const h = await harness({
      config: { policy: { confirm: { fallback: 'url' } } },
      desk: { browser: true, env: b.env, waitMs: 600, tickMs: 100 },
    });
    const progress: string[] = [];
    const r = await h.client.callTool({ name: 'create_vm', arguments: ARGS }, undefined, {
      onprogress: (p) => void progress.push(p.message ?? ''),
    });
    expect(r.structuredContent).toMatchObject({ status: 'approval_pending' });
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]).toBe('Waiting for the human to answer on the page opened in the browser');
  });

  it('posts the link to the webhook, never to the agent', async () => {
    const posts: { text: string }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += String(c)));
      req.on('end', () => {
        posts.push(JSON.parse(body) as { text: string });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const h = await harness({
      config: { policy: { confirm: { fallback: 'url', webhook: { url } } } },
      desk: { webhook: url, waitMs: 100 },
    });
    const r = await h.call('create_vm', ARGS);
    expectNoLink(r);
    expect(r.structuredContent).toMatchObject({ status: 'approval_pending' });
    expect(posts).toHaveLength(1);
    expect(posts[0]!.text).toContain('8× H100');
    const link = LINK.exec(posts[0]!.text)![0];
    expect(await answerOnPage(link, 'Decline')).toBe('Declined');
    const after = await h.call('create_vm', {
      ...ARGS,
      confirmation_token: (r.structuredContent as { confirmation_token: string }).confirmation_token,
    });
    expect(after.structuredContent).toMatchObject({ status: 'declined' });
    expect(h.emulator.liveInstances()).toHaveLength(0);
    hook.close();
  });

  it('refuses a reused link, a POST without the page token, a foreign Origin or Host, a guessed id, an expired link', async () => {
    let now = Date.now();
    const b = recordingBrowser();
    const h = await harness({
      config: { policy: { confirm: { fallback: 'url' } } },
      desk: { browser: true, env: b.env, waitMs: 50, now: () => now },
    });
    const pending = (await h.call('create_vm', ARGS)).structuredContent as { confirmation_token: string };
    await expect.poll(() => b.link()).toMatch(LINK);
    const link = b.link()!;
    const origin = new URL(link).origin;
    const form = (csrf: string) => `csrf=${encodeURIComponent(csrf)}&action=approve`;
    const post = (body: string, headers: Record<string, string>) =>
      fetch(link, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });

    const page = await browser.page();
    await page.goto(link);
    const csrf = await page.locator('input[name=csrf]').first().getAttribute('value');
    expect(csrf).toBeTruthy();
    expect((await post(form('forged'), { origin })).status).toBe(403);
    expect((await post('action=approve', { origin })).status).toBe(403);
    expect((await post(form(csrf!), { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(form(csrf!), {})).status).toBe(403); // no Origin at all
    expect(await statusWithHost(link, 'attacker.example')).toBe(421); // DNS rebinding: another name, same address
    expect((await fetch(`${origin}/approve/${'x'.repeat(43)}`)).status).toBe(404);
    const guessed = await h.call('create_vm', { ...ARGS, confirmation_token: 'apr_guessedByTheModel' });
    expect(text(guessed)).toMatch(/^\[CONFIRMATION_INVALID\]/);
    expect(h.emulator.liveInstances()).toHaveLength(0);

    // The approval id alone approves nothing: waiting on it times out again.
    expect(
      (await h.call('create_vm', { ...ARGS, confirmation_token: pending.confirmation_token })).structuredContent,
    ).toMatchObject({
      status: 'approval_pending',
    });
    // Ten minutes later the link is dead, and so is the call that waits on it.
    now += APPROVAL_TTL_MS;
    const expired = await page.goto(link);
    expect(expired?.status()).toBe(410);
    expect(await page.locator('h1').innerText()).toBe('This link expired');
    expect(
      (await h.call('create_vm', { ...ARGS, confirmation_token: pending.confirmation_token })).structuredContent,
    ).toMatchObject({
      status: 'declined',
    });
    await page.close();
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });
});

describe.runIf(HAVE_BROWSER)('over Streamable HTTP: the pages under /approve/ of the server itself', () => {
  it('sends the link to the webhook, serves the page without the bearer token, and the waiting call creates once', async () => {
    const posts: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += String(c)));
      req.on('end', () => {
        posts.push((JSON.parse(body) as { text: string }).text);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const children: ChildProcess[] = [];
    try {
      const config = configFile({
        policy: {
          confirm: {
            fallback: 'url',
            webhook: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` },
          },
        },
      });
      const token = 'approval-test-token-0123456789abcdef';
      const cli = await startHttpCli(
        ['--emulate', '--http', '127.0.0.1:0', '--config', config],
        { COMPUTE_MCP_HTTP_TOKEN: token },
        (c) => children.push(c),
      );
      const client = new Client({ name: 'http-approval', version: '0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(cli.url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      // The call waits for the human (up to a minute) while the link goes to the webhook.
      const call = client.callTool({ name: 'create_vm', arguments: ARGS });
      await expect.poll(() => posts.length, { timeout: 10_000 }).toBe(1);
      const link = /http:\/\/127\.0\.0\.1:\d+\/approve\/[A-Za-z0-9_-]{43}/.exec(posts[0]!)![0];
      expect(new URL(link).origin).toBe(new URL(cli.url).origin);
      // The MCP endpoint still wants the token; the page does not (its link is its credential).
      expect((await fetch(cli.url, { method: 'POST', body: '{}' })).status).toBe(401);
      expect(await answerOnPage(link, 'Approve', 'approval-page-http.png')).toBe('Approved');
      const made = (await call) as CallToolResult;
      expectNoLink(made);
      expect(made.structuredContent).toMatchObject({ status: 'created' });
      const listed = (await client.callTool({ name: 'list_instances', arguments: { provider: 'genesiscloud' } }))
        .structuredContent as { items: unknown[] };
      expect(listed.items).toHaveLength(1);
      await client.close();
    } finally {
      for (const c of children) c.kill('SIGTERM');
      hook.close();
    }
  });
});
