/**
 * The two destinations of the log writer.
 *
 * FileTarget: appends to `<dir>/<file>` and rotates by size. Rotation happens between two
 * batches, when the next batch would take the live file past `maxBytes`: the live file is
 * renamed to `<stem>.<seq>.<ext>` (seq = 000001, 000002, …, continuing across restarts) and a
 * new live file is opened. Nothing is in flight at that moment, so every line is in exactly one
 * file, whole. Filebeat's filestream (fingerprint identity) keeps reading the renamed file to
 * its end and starts the new one from its first byte. Rotated files beyond `maxFiles - 1` are
 * deleted, oldest first.
 *
 * FdTarget: an already open descriptor (stdout, fd 1).
 */
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { Target } from './output';

/** LOG_DIR cannot be created or written: the service must not start. */
export class LogDirError extends Error {
  override name = 'LogDirError';
}

export interface FileTargetOptions {
  dir: string;
  file: string;
  maxBytes: number;
  maxFiles: number;
  /** A rotation or reopen failed (reported like a write error). */
  onError: (error: NodeJS.ErrnoException) => void;
}

export class FileTarget implements Target {
  readonly name = 'file';
  readonly path: string;
  private fd: number | undefined;
  private size = 0;
  private nextSeq: number;
  private readonly stem: string;
  private readonly ext: string;
  private readonly rotatedPattern: RegExp;
  /** Rotations done; for tests and reports. */
  rotations = 0;

  /** Opens (creating) the live file; throws LogDirError when the directory is unusable. */
  constructor(private readonly options: FileTargetOptions) {
    this.path = resolve(join(options.dir, options.file));
    this.ext = extname(options.file);
    this.stem = options.file.slice(0, options.file.length - this.ext.length);
    this.rotatedPattern = new RegExp(`^${escapeRegExp(this.stem)}\\.(\\d{6,})${escapeRegExp(this.ext)}$`);
    try {
      mkdirSync(options.dir, { recursive: true });
      // Rotation renames and creates files: the directory itself must be writable.
      accessSync(options.dir, constants.W_OK);
      // a+: appends, and lets repairTornLine read the last byte.
      this.fd = openSync(this.path, 'a+');
      this.size = fstatSync(this.fd).size;
      this.repairTornLine();
    } catch (error) {
      if (this.fd !== undefined) closeSync(this.fd);
      const e = error as NodeJS.ErrnoException;
      throw new LogDirError(`cannot write to LOG_DIR ${resolve(options.dir)}: ${e.code ?? ''} ${e.message}`.trim());
    }
    this.nextSeq = this.rotatedSeqs().reduce((max, seq) => Math.max(max, seq), 0) + 1;
  }

  /**
   * A kill -9 (or a full disk) can leave the file ending in a partial line; start on a fresh
   * line so that the next record is not glued to it.
   */
  private repairTornLine(): void {
    if (this.fd === undefined || this.size === 0) return;
    const last = Buffer.alloc(1);
    readSync(this.fd, last, 0, 1, this.size - 1);
    if (last[0] !== 0x0a) {
      writeSync(this.fd, '\n');
      this.size++;
    }
  }

  private rotatedSeqs(): number[] {
    const seqs: number[] = [];
    for (const name of readdirSync(this.options.dir)) {
      const match = this.rotatedPattern.exec(name);
      if (match?.[1] !== undefined) seqs.push(Number(match[1]));
    }
    return seqs;
  }

  rotatedName(seq: number): string {
    return `${this.stem}.${String(seq).padStart(6, '0')}${this.ext}`;
  }

  prepare(batchBytes: number): number | undefined {
    if (this.fd === undefined) {
      // A failed reopen after rotation: try again.
      try {
        this.fd = openSync(this.path, 'a');
        this.size = fstatSync(this.fd).size;
      } catch (error) {
        this.options.onError(error as NodeJS.ErrnoException);
        return undefined;
      }
    }
    if (batchBytes > 0 && this.size > 0 && this.size + batchBytes > this.options.maxBytes) this.rotate();
    return this.fd;
  }

  private rotate(): void {
    const rotated = join(this.options.dir, this.rotatedName(this.nextSeq));
    try {
      renameSync(this.path, rotated);
    } catch (error) {
      // Keep appending to the live file; the next batch tries again.
      this.options.onError(error as NodeJS.ErrnoException);
      return;
    }
    this.nextSeq++;
    this.rotations++;
    const old = this.fd;
    this.fd = undefined;
    this.size = 0;
    try {
      this.fd = openSync(this.path, 'a');
    } catch (error) {
      this.options.onError(error as NodeJS.ErrnoException);
    }
    if (old !== undefined) closeSync(old);
    this.prune();
  }

  private prune(): void {
    try {
      const seqs = this.rotatedSeqs().sort((a, b) => a - b);
      const excess = seqs.length - (this.options.maxFiles - 1);
      for (let i = 0; i < excess; i++) unlinkSync(join(this.options.dir, this.rotatedName(seqs[i]!)));
    } catch (error) {
      this.options.onError(error as NodeJS.ErrnoException);
    }
  }

  wrote(bytes: number): void {
    this.size += bytes;
  }

  close(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // Closing a descriptor whose file system failed: nothing left to do.
      }
      this.fd = undefined;
    }
  }
}

export class FdTarget implements Target {
  constructor(
    readonly name: string,
    private readonly fd: number,
  ) {}

  prepare(): number {
    return this.fd;
  }

  wrote(): void {}

  close(): void {
    // stdout stays open: the process may still print on it (e.g. a crash report).
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
