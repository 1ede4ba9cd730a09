/** Bounds on what a client may send in one piece: an HTTP request body, a line (one message) on stdin. */
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';

export const MAX_LINE_BYTES = 4 * 1024 * 1024;
const NEWLINE = 0x0a;

/** Reads a request body up to `max` bytes; null when it is larger (the rest is drained, not kept). */
export function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > max) {
      req.resume();
      return resolve(null);
    }
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    req.on('end', () => resolve(size > max ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Passes on only whole lines of at most `max` bytes (newline included). A longer line is dropped as it arrives,
 * so memory stays near `max` however long it is, and `onOversized` is told its size once its newline comes.
 * The SDK's stdio reader would otherwise buffer up to 10 MiB and then close the whole connection.
 */
export class LineLimit extends Transform {
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Bytes of the line being dropped; 0 when not dropping. */
  private dropped = 0;

  constructor(
    private readonly max: number,
    private readonly onOversized: (bytes: number) => void,
  ) {
    super({ readableObjectMode: true }); // one line per chunk read, however the reader keeps up
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      this.hold(chunk.subarray(start, nl + 1));
      this.endLine();
      start = nl + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
    done();
  }

  /** A last line without a newline is never a message for the SDK's reader either: it is dropped. */
  override _flush(done: TransformCallback): void {
    this.held = [];
    done();
  }

  private hold(piece: Buffer): void {
    if (this.dropped > 0) {
      this.dropped += piece.length;
    } else if (this.heldBytes + piece.length > this.max) {
      this.dropped = this.heldBytes + piece.length;
      this.held = [];
      this.heldBytes = 0;
    } else {
      this.held.push(piece);
      this.heldBytes += piece.length;
    }
  }

  private endLine(): void {
    if (this.dropped > 0) {
      const bytes = this.dropped;
      this.dropped = 0;
      this.onOversized(bytes);
      return;
    }
    this.push(this.held.length === 1 ? this.held[0] : Buffer.concat(this.held));
    this.held = [];
    this.heldBytes = 0;
  }
}
