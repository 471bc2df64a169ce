/**
 * Everything a benchmark started is stopped on the way out, including on Ctrl-C and on a
 * crash: child servers, the collector, the scratch directory.
 */
import { rmSync } from 'node:fs';

type Task = () => Promise<unknown> | void;

const tasks: Task[] = [];
let running: Promise<void> | undefined;

/** Registers a clean-up step; steps run in reverse order of registration. */
export function onCleanup(task: Task): void {
  tasks.push(task);
}

export function removeDirOnCleanup(dir: string): void {
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
}

export function cleanup(): Promise<void> {
  running ??= (async () => {
    while (tasks.length > 0) {
      const task = tasks.pop() as Task;
      try {
        await task();
      } catch (error) {
        process.stderr.write(`[bench] clean-up step failed: ${(error as Error).message}\n`);
      }
    }
  })();
  return running;
}

/** Ctrl-C / SIGTERM: clean up, then exit 130 / 143. */
export function installSignalCleanup(): void {
  const handler = (signal: NodeJS.Signals, code: number) => {
    process.stderr.write(`\n[bench] ${signal}: stopping servers and collector\n`);
    void cleanup().then(() => process.exit(code));
  };
  process.once('SIGINT', () => handler('SIGINT', 130));
  process.once('SIGTERM', () => handler('SIGTERM', 143));
}
