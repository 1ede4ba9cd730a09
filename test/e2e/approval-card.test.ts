/**
 * The approval card (an MCP App) for hosts that render apps but cannot elicit. A client that declares the
 * `io.modelcontextprotocol/ui` extension reads the card's ui:// resource, renders it in headless Chromium under the
 * official host bridge (`AppBridge` of @modelcontextprotocol/ext-apps), and the human approves in it through the
 * app-only tool; a client without the extension never sees that tool.
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CARD_META, CARD_MIME, CARD_URI, UI_EXTENSION } from '../../src/approval/card.js';
import { ARTIFACTS, HAVE_BROWSER, useBrowser } from '../helpers/browser.js';
import { ROOT } from '../helpers/cli.js';
import { H100, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

const browser = useBrowser('approval card tests');
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

const ARGS = { provider: 'genesiscloud', instance_type: H100, name: 'card', ssh_public_key: SSH_KEY };
const APPS = { extensions: { [UI_EXTENSION]: { mimeTypes: [CARD_MIME] } } };

async function harness(apps: boolean) {
  const h = await startHarness({
    config: { policy: { confirm: { fallback: 'url' } } },
    desk: {},
    ...(apps ? { capabilities: APPS } : {}),
  });
  open.push(h);
  return h;
}

/** The host page: the official AppBridge, the card in an iframe, tools/call relayed to the test's MCP client. */
async function hostScript(): Promise<string> {
  const out = await build({
    absWorkingDir: ROOT,
    stdin: {
      resolveDir: ROOT,
      contents: `
        import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';
        window.startHost = async (html, result) => {
          const frame = document.createElement('iframe');
          frame.srcdoc = html;
          frame.style.cssText = 'width:420px;height:320px;border:1px solid #ccc';
          document.body.appendChild(frame);
          await new Promise((r) => frame.addEventListener('load', r, { once: true }));
          const bridge = new AppBridge(null, { name: 'test-host', version: '1' }, { serverTools: {} });
          bridge.oncalltool = (params) => window.relayToolCall(params);
          bridge.oninitialized = () => bridge.sendToolResult(result);
          await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
        };`,
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'error',
  });
  return out.outputFiles[0]!.text;
}

describe('who sees the app-only tool', () => {
  it('a client without the Apps extension: not listed, and unknown when called', async () => {
    const h = await harness(false);
    const { tools } = await h.client.listTools();
    expect(tools.map((t) => t.name)).not.toContain('approve_in_app');
    expect(tools.every((t) => t._meta === undefined)).toBe(true);
    const r = await h.call('approve_in_app', { approval_id: 'apr_x', secret: 'y', action: 'approve' });
    expect(text(r)).toMatch(
      /^\[INVALID_INPUT\] there is no tool named "approve_in_app"\. The tools are: (?!.*approve_in_app)/,
    );
  });

  it('a client with it: listed for the app only, and the spending tools point at the card', async () => {
    const h = await harness(true);
    const { tools } = await h.client.listTools();
    expect(tools.find((t) => t.name === 'approve_in_app')?._meta).toEqual({ ui: { visibility: ['app'] } });
    expect(tools.find((t) => t.name === 'create_vm')?._meta).toEqual({ ui: { resourceUri: CARD_URI } });
    expect(tools.find((t) => t.name === 'list_instances')?._meta).toBeUndefined();
  });
});

describe.runIf(HAVE_BROWSER)('the approval card', () => {
  it('renders in Chromium under the official host bridge; Approve there lets the next call create one VM', async () => {
    const h = await harness(true);
    const first = (await h.call('create_vm', ARGS)) as CallToolResult;
    const pending = first.structuredContent as { status: string; confirmation_token: string };
    expect(pending.status).toBe('approval_pending');
    const card = first._meta?.[CARD_META] as { approval_id: string; secret: string };
    expect(card.approval_id).toBe(pending.confirmation_token);
    // What the model reads (text and structured content) never holds the card's secret.
    expect(JSON.stringify([first.content, first.structuredContent])).not.toContain(card.secret);

    // The agent cannot answer with what it holds: the id without the secret, or a guessed secret.
    const forged = await h.call('approve_in_app', {
      approval_id: card.approval_id,
      secret: 'x'.repeat(43),
      action: 'approve',
    });
    expect(forged.structuredContent).toEqual({ status: 'unknown' });

    const { contents } = await h.client.readResource({ uri: CARD_URI });
    expect(contents[0]).toMatchObject({ mimeType: CARD_MIME });
    const html = (contents[0] as { text: string }).text;

    const page = await browser.page();
    await page.exposeFunction('relayToolCall', async (params: { name: string; arguments: Record<string, unknown> }) =>
      h.client.callTool(params),
    );
    await page.setContent('<!doctype html><body></body>');
    await page.addScriptTag({ content: await hostScript() });
    await page.evaluate(
      ([html, result]) =>
        (globalThis as unknown as { startHost: (h: string, r: unknown) => Promise<void> }).startHost(html, result),
      [html, first] as const,
    );
    const frame = page.frameLocator('iframe');
    await expect.poll(() => frame.locator('#summary').innerText(), { timeout: 15_000 }).toContain('8× H100');
    await page.screenshot({ path: join(ARTIFACTS, 'approval-card.png') });
    await frame.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => frame.locator('#status').innerText(), { timeout: 15_000 }).toContain('Approved');
    await page.close();

    const made = await h.call('create_vm', { ...ARGS, confirmation_token: pending.confirmation_token });
    expect(made.structuredContent).toMatchObject({ status: 'created' });
    expect(h.emulator.liveInstances()).toHaveLength(1);
    const audit = h.state.lines<{ decision?: string; how?: string; reason?: string }>('audit.jsonl');
    expect(audit.find((a) => a.decision === 'approved')?.reason).toBe('in the approval card (test)');
    // Answered once: the card's secret decides nothing again.
    const again = await h.call('approve_in_app', {
      approval_id: card.approval_id,
      secret: card.secret,
      action: 'decline',
    });
    expect(again.structuredContent).toEqual({ status: 'already answered' });
  });
});
