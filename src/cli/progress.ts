/**
 * One progress line on a terminal for `compute-mcp call`: the tool's notifications/progress, rewritten in place on
 * stderr, and wiped before anything else is written there (a question, the result's exit). Used only when stderr is
 * a TTY: otherwise no progress token is sent, so the server reports none and nothing extra is written.
 */
import type { Progress } from '@modelcontextprotocol/sdk/types.js';

const CLEAR = '\r\x1b[2K';
const BAR = 20;

export interface ProgressStream {
  write(s: string): unknown;
  columns?: number;
}

/** The line for one notification: a bar when the total is known, the step and the tool's message. */
export function progressText(tool: string, p: Progress, width = 80): string {
  const num = (n: number) => String(Math.round(n * 10) / 10);
  let head = `${tool}: ${num(p.progress)}`;
  if (p.total && p.total > 0) {
    const done = Math.max(0, Math.min(BAR, Math.round((p.progress / p.total) * BAR)));
    head = `${tool} [${'#'.repeat(done)}${'-'.repeat(BAR - done)}] ${num(p.progress)}/${num(p.total)}`;
  }
  const text = p.message ? `${head} ${p.message}` : head;
  // Wider than the terminal would wrap, and \r would then rewrite only the last row.
  return text.length >= width ? `${text.slice(0, Math.max(0, width - 2))}…` : text;
}

export class ProgressLine {
  private shown = false;
  constructor(
    private readonly tool: string,
    private readonly out: ProgressStream,
  ) {}

  update = (p: Progress): void => {
    this.out.write(`${CLEAR}${progressText(this.tool, p, this.out.columns || 80)}`);
    this.shown = true;
  };

  /** Wipes the line, if one is shown. */
  clear(): void {
    if (!this.shown) return;
    this.out.write(CLEAR);
    this.shown = false;
  }
}
