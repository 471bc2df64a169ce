/**
 * One destination of log lines (the log file, or stdout): a bounded in-memory queue of
 * already-serialised NDJSON lines and a single asynchronous writer that empties it in batches.
 *
 *  - Accepting a line never blocks and never throws: it is queued, or, when the queue already
 *    holds `maxQueuedBytes`, dropped and counted.
 *  - While one batch is being written (fs.write on the libuv thread pool), new lines queue up;
 *    the next batch takes all of them, so at high load batches grow instead of the backlog.
 *  - Lines wait up to `writeDelayMs` (plus the write in flight) for their batch to start, or
 *    none once `eagerBatchBytes` are waiting. Every write is a hand-off to a thread-pool worker (a
 *    wake-up and a completion on the main thread, ~10 µs of CPU on a loaded core whatever the
 *    size): written once per event-loop turn, a server at 16 connections paid one per one or
 *    two lines. A few milliseconds of delay turn that into one per few dozen lines; a kill -9
 *    loses at most those milliseconds plus the write in flight. 0 = once per turn.
 *  - A write error (disk full, read-only file system, closed pipe) keeps the batch and the
 *    queue, counts the error and retries after `retryMs`; writing resumes by itself once the
 *    destination accepts bytes again. A short write continues where it stopped, so a line is
 *    never torn or written twice.
 *  - The file output rotates by size between batches (see FileTarget): a batch never spans
 *    two files.
 */
import { write } from 'node:fs';

export interface OutputStats {
  /** Lines written completely. */
  written: number;
  /** Lines refused because the queue was full (or the writer had ended). */
  dropped: number;
  /** Of `dropped`: lines still queued when the output ended, or offered after it ended. */
  droppedAtEnd: number;
  /** Failed write calls (each retried). */
  writeErrors: number;
  /** Bytes (approximately: string length) waiting in memory, the batch in flight included. */
  queuedBytes: number;
  /** Lines waiting in memory, the batch in flight included. */
  queuedLines: number;
}

/** Where an output's bytes go; the file target adds rotation and reopening. */
export interface Target {
  readonly name: string;
  /** The descriptor to write the next batch to (may rotate first); undefined: not writable now. */
  prepare(batchBytes: number): number | undefined;
  /** Bytes written to the current descriptor. */
  wrote(bytes: number): void;
  close(): void;
}

export interface OutputOptions {
  maxQueuedBytes: number;
  /** Largest batch handed to one write call. */
  maxBatchBytes: number;
  /** Longest wait between a line queued and its batch's write; 0 = the same event-loop turn. */
  writeDelayMs: number;
  /** Queued bytes that start a batch without waiting for `writeDelayMs`. */
  eagerBatchBytes: number;
  /** Wait after a failed write before retrying. */
  retryMs: number;
  /** Called on every failed write (the writer aggregates them into interval reports). */
  onError: (output: LogOutput, error: NodeJS.ErrnoException) => void;
}

export class LogOutput {
  private lines: string[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** The batch being written: its bytes, how many were written, how many lines it holds. */
  private pending: { buf: Buffer; offset: number; lines: number; chars: number } | undefined;
  private writing = false;
  private scheduled = false;
  /** The `writeDelayMs` wait before the next batch, while it runs. */
  private delayTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private ended = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats = { written: 0, dropped: 0, droppedAtEnd: 0, writeErrors: 0 };
  lastError: NodeJS.ErrnoException | undefined;
  /** Set by a failed write, cleared by the next successful one. */
  failing = false;

  constructor(
    readonly target: Target,
    private readonly options: OutputOptions,
  ) {}

  get name(): string {
    return this.target.name;
  }

  snapshot(): OutputStats {
    return {
      ...this.stats,
      queuedBytes: this.queuedBytes,
      queuedLines: this.lines.length - this.head + (this.pending?.lines ?? 0),
    };
  }

  /** Queues one complete line (with its trailing newline). Never throws, never blocks. */
  accept(line: string): void {
    if (this.ended || this.queuedBytes + line.length > this.options.maxQueuedBytes) {
      this.stats.dropped++;
      if (this.ended) this.stats.droppedAtEnd++;
      return;
    }
    this.lines.push(line);
    this.queuedBytes += line.length;
    if (!this.writing && this.retryTimer === undefined) this.schedule();
  }

  /** Starts the next batch: after the write delay, or this turn when enough bytes wait. */
  private schedule(): void {
    if (this.scheduled) return;
    const eager = this.options.writeDelayMs === 0 || this.queuedBytes >= this.options.eagerBatchBytes;
    if (!eager) {
      this.delayTimer ??= setTimeout(() => {
        this.delayTimer = undefined;
        this.pump();
      }, this.options.writeDelayMs);
      return;
    }
    this.cancelDelay();
    this.scheduled = true;
    // Collect the lines of this turn of the event loop into one batch.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private cancelDelay(): void {
    if (this.delayTimer === undefined) return;
    clearTimeout(this.delayTimer);
    this.delayTimer = undefined;
  }

  /** True when nothing waits in memory and no write is in flight. */
  idle(): boolean {
    return this.pending === undefined && this.head === this.lines.length && !this.writing;
  }

  /** Resolves once idle (or never, if the destination stays broken: callers bound the wait). */
  whenIdle(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    if (this.delayTimer !== undefined) {
      // Shutting down: no reason to wait for more lines.
      this.cancelDelay();
      this.pump();
    }
    if (this.retryTimer !== undefined) {
      // Shutting down: try again now rather than after the full retry interval.
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.pump();
    }
    return new Promise((resolveIdle) => this.idleWaiters.push(resolveIdle));
  }

  /**
   * Stops accepting lines; what is still queued is counted as dropped (call after whenIdle,
   * or after giving up on it). Returns how many lines that was.
   */
  end(): number {
    this.ended = true;
    const left = this.lines.length - this.head + (this.pending?.lines ?? 0);
    this.stats.dropped += left;
    this.stats.droppedAtEnd += left;
    this.lines = [];
    this.head = 0;
    this.pending = undefined;
    this.queuedBytes = 0;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.cancelDelay();
    if (!this.writing) this.target.close();
    return left;
  }

  private takeBatch(maxChars: number): void {
    let end = this.head;
    let chars = 0;
    // At least one line, however long; then as many as fit.
    do {
      chars += this.lines[end]!.length;
      end++;
    } while (end < this.lines.length && end - this.head < 4096 && chars + this.lines[end]!.length <= maxChars);
    const text = end - this.head === 1 ? this.lines[this.head]! : this.lines.slice(this.head, end).join('');
    const lines = end - this.head;
    this.head = end;
    if (this.head === this.lines.length) {
      this.lines = [];
      this.head = 0;
    } else if (this.head > 8192) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
    this.pending = { buf: Buffer.from(text, 'utf8'), offset: 0, lines, chars };
  }

  private pump(): void {
    if (this.writing || this.ended || this.retryTimer !== undefined) return;
    if (this.pending === undefined) {
      if (this.head === this.lines.length) {
        this.notifyIdle();
        return;
      }
      this.takeBatch(this.options.maxBatchBytes);
    }
    const pending = this.pending!;
    // A batch partly written stays in the same file: rotation waits for the next batch.
    const fd = this.target.prepare(pending.offset === 0 ? pending.buf.length : 0);
    if (fd === undefined) {
      this.retryLater();
      return;
    }
    this.writing = true;
    write(fd, pending.buf, pending.offset, pending.buf.length - pending.offset, null, (error, bytes) => {
      this.writing = false;
      if (this.ended) {
        this.target.close();
        return;
      }
      if (error !== null) {
        if (error.code === 'EAGAIN') {
          // A non-blocking pipe is full: not an error, just wait for the reader.
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.pump();
          }, 5);
          return;
        }
        this.stats.writeErrors++;
        this.lastError = error;
        this.failing = true;
        this.options.onError(this, error);
        this.retryLater();
        return;
      }
      this.target.wrote(bytes);
      pending.offset += bytes;
      if (pending.offset >= pending.buf.length) {
        // Recovered only once a whole batch went out (a nearly full disk takes short writes).
        this.failing = false;
        this.stats.written += pending.lines;
        this.queuedBytes -= pending.chars;
        this.pending = undefined;
        // The next batch waits for the delay too, unless enough is queued already.
        if (this.head < this.lines.length && this.idleWaiters.length === 0) {
          this.schedule();
          return;
        }
      }
      this.pump();
    });
  }

  private retryLater(): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, this.options.retryMs);
    this.retryTimer.unref();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolveIdle of waiters) resolveIdle();
  }
}
