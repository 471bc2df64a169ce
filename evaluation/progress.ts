/**
 * A one-line progress bar on stderr for long evaluations: drawn only on a terminal, at most
 * ten times a second, and only once the run has taken a second (short runs print nothing).
 */
export interface Progress {
  update: (phase: string, done: number, total: number) => void;
  done: () => void;
}

export function progressBar(stream: NodeJS.WriteStream, now: () => number = () => performance.now()): Progress {
  const enabled = stream.isTTY === true && process.env.CI === undefined;
  const started = now();
  let last = 0;
  let drawn = false;
  return {
    update: (phase, done, total) => {
      if (!enabled) return;
      const t = now();
      if (t - started < 1000 || (t - last < 100 && done < total)) return;
      last = t;
      const width = 30;
      const share = total > 0 ? Math.min(1, done / total) : 0;
      const filled = Math.round(share * width);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${phase} (${((t - started) / 1000).toFixed(0)} s)`;
      stream.write(`\r${line.padEnd(78)}`);
      drawn = true;
    },
    done: () => {
      if (drawn) stream.write(`\r${' '.repeat(78)}\r`);
    },
  };
}
