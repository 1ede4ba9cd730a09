/**
 * Where approvals are served and sent from, one per process. The page lives under `/approve/<secret>`: on the HTTP
 * server in HTTP mode (its base URL given), else on a loopback listener started when the first approval needs it.
 * Every request passes the Host check; a POST also the Origin check and the page's CSRF token. Links reach the human by
 * URL-mode elicitation (the client shows them), the user's browser (stdio on a desktop) or a webhook (Slack-compatible
 * JSON), never through a tool result.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { readBody } from '../transport/body.js';
import { Approvals, type Approval } from './approvals.js';
import { approvalPage, resultPage } from './page.js';

export const APPROVE_PATH = '/approve/';
const MAX_FORM_BYTES = 4 * 1024;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

export interface DeskOptions {
  log: Logger;
  /** The server's own base URL in HTTP mode (e.g. http://127.0.0.1:3000); absent: a loopback listener. */
  base?: string;
  /** A Slack-compatible incoming webhook that receives each link. */
  webhook?: string;
  /** Open links in the user's browser (stdio on a desktop): $BROWSER, else the platform's opener. */
  browser?: boolean;
  env?: NodeJS.ProcessEnv;
  /** How long a call waits on the page before answering approval_pending (default 60 s). */
  waitMs?: number;
  /** How often a waiting call sends a progress notification (default 5 s). */
  tickMs?: number;
  /** The approvals' clock (tests). */
  now?: () => number;
}

export class ApprovalDesk {
  readonly approvals: Approvals;
  readonly waitMs: number | undefined;
  readonly tickMs: number | undefined;
  private listener?: Promise<{ server: Server; base: string }>;

  constructor(private readonly opts: DeskOptions) {
    this.approvals = new Approvals(opts.now);
    this.waitMs = opts.waitMs;
    this.tickMs = opts.tickMs;
  }

  /** HTTP mode: the pages are served by the HTTP server, under this base URL. */
  serveAt(base: string): void {
    this.opts.base = base;
  }

  /** The link of an approval (starts the loopback listener the first time, when there is no HTTP server). */
  async link(secret: string): Promise<string> {
    return `${await this.base()}${APPROVE_PATH}${secret}`;
  }

  /** Which ways this desk can reach a human without the client's help. */
  channels(): ('browser' | 'webhook')[] {
    return [...(this.opts.browser ? (['browser'] as const) : []), ...(this.opts.webhook ? (['webhook'] as const) : [])];
  }

  /** Sends the link by every channel this desk has; returns the ones that took it. */
  async deliver(a: Approval, secret: string): Promise<string[]> {
    const url = await this.link(secret);
    const done: string[] = [];
    if (this.opts.browser && (await this.openBrowser(url))) done.push('browser');
    if (this.opts.webhook && (await this.postWebhook(this.opts.webhook, a, url))) done.push('webhook');
    return done;
  }

  /** Answers a request under /approve/ (the HTTP server hands them over; the loopback listener too). */
  async handle(req: IncomingMessage, res: ServerResponse, base = this.opts.base ?? ''): Promise<void> {
    const host = new URL(base).host;
    const send = (status: number, html: string) => {
      res.writeHead(status, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        // same-origin: the link's secret never leaves in a Referer, and a form POST still carries its Origin.
        'referrer-policy': 'same-origin',
        'x-frame-options': 'DENY',
        'x-content-type-options': 'nosniff',
        'content-security-policy':
          "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      });
      res.end(html);
    };
    // DNS rebinding: the page answers only to the name it was linked under.
    if ((req.headers.host ?? '').toLowerCase() !== host.toLowerCase()) return send(421, resultPage('refused'));
    const path = new URL(req.url ?? '/', base).pathname;
    const secret = path.slice(APPROVE_PATH.length);
    const found = SECRET.test(secret) ? this.approvals.open(secret) : undefined;
    if (!found) return send(404, resultPage('unknown'));
    const { approval: a } = found;
    if (req.method === 'GET') {
      if (found.state === 'expired') return send(410, resultPage('expired', a));
      if (found.state === 'decided') return send(409, resultPage('used', a));
      return send(200, approvalPage(a, found.csrf));
    }
    if (req.method !== 'POST') return send(405, resultPage('refused'));
    if (req.headers.origin !== new URL(base).origin) {
      this.opts.log.warn({ approval: a.id, origin: req.headers.origin }, 'approval POST from a foreign origin refused');
      return send(403, resultPage('refused'));
    }
    const body = await readBody(req, MAX_FORM_BYTES).catch(() => null);
    if (body === null) return send(413, resultPage('refused'));
    const form = new URLSearchParams(body);
    const action = form.get('action');
    if (action !== 'approve' && action !== 'decline') return send(400, resultPage('refused'));
    const from = `on the approval page from ${req.socket.remoteAddress ?? 'unknown'} (${(req.headers['user-agent'] ?? 'no user agent').slice(0, 120)})`;
    const r = this.approvals.decide(secret, form.get('csrf') ?? '', action, from);
    if (r === 'bad_csrf') {
      this.opts.log.warn({ approval: a.id }, 'approval POST without the page token refused');
      return send(403, resultPage('refused'));
    }
    if (r === 'expired') return send(410, resultPage('expired', a));
    if (r === 'decided') return send(409, resultPage('used', a));
    if (r === 'unknown') return send(404, resultPage('unknown'));
    this.opts.log.info({ approval: a.id, action, from }, 'approval answered');
    return send(200, resultPage(action === 'approve' ? 'approved' : 'declined', a));
  }

  async close(): Promise<void> {
    const l = await this.listener;
    if (l) await new Promise<void>((r) => l.server.close(() => r()));
  }

  private async base(): Promise<string> {
    if (this.opts.base) return this.opts.base.replace(/\/+$/, '');
    // node:http is loaded here, when the first approval needs a page: a server that never asks never loads it.
    const { createServer } = await import('node:http');
    this.listener ??= new Promise((resolve, reject) => {
      const server = createServer((req, res) => {
        void this.handle(req, res, base).catch(() => {
          if (!res.headersSent) res.writeHead(500).end();
        });
      });
      let base = '';
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        server.unref();
        this.opts.log.info({ url: base }, 'approval pages listening on loopback');
        resolve({ server, base });
      });
    });
    return (await this.listener).base;
  }

  /** Starts the user's browser on the link: $BROWSER (a command), else `open` / `xdg-open` / `start`. */
  private async openBrowser(url: string): Promise<boolean> {
    const { spawn } = await import('node:child_process');
    const env = this.opts.env ?? process.env;
    const [cmd, ...args] = env.BROWSER
      ? [env.BROWSER]
      : process.platform === 'darwin'
        ? ['open']
        : process.platform === 'win32'
          ? ['cmd', '/c', 'start', '""']
          : ['xdg-open'];
    try {
      const child = spawn(cmd!, [...args, url], { detached: true, stdio: 'ignore', env });
      child.on('error', (err) => this.opts.log.warn({ err: err.message, cmd }, 'could not open a browser'));
      child.unref();
      return true;
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message, cmd }, 'could not open a browser');
      return false;
    }
  }

  private async postWebhook(hook: string, a: Approval, url: string): Promise<boolean> {
    try {
      const r = await fetch(hook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // Slack reads <…> as links and mentions: the summary (agent-chosen names in it) is escaped as Slack asks.
        body: JSON.stringify({
          text: `compute-mcp asks for approval: ${slackText(a.summary)}\nApprove or decline (once, within 10 minutes): ${url}`,
        }),
        signal: AbortSignal.timeout(5_000),
      });
      await r.body?.cancel();
      if (!r.ok) this.opts.log.warn({ status: r.status }, 'approval webhook refused the message');
      return r.ok;
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'approval webhook unreachable');
      return false;
    }
  }
}

/** Text as Slack shows it literally: `&`, `<` and `>` escaped (no links, mentions or formatting from a name). */
const slackText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
