/**
 * The configured weights of an experiment's arms, read from the service's experiments file
 * (EXPERIMENTS_FILE): the report's "share (weight)" column and its default control (the first
 * arm). Only the names and weights are read here; the service validates the whole file.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const FileSchema = z.object({
  experiments: z.array(
    z.object({
      name: z.string(),
      arms: z.array(z.object({ name: z.string(), weight: z.number().int().positive() }).loose()).min(1),
    }).loose(),
  ),
});

/** arm name → weight, in the file's order; throws naming the file when the experiment is not in it. */
export function experimentWeights(path: string, experiment: string): Record<string, number> {
  const parsed = FileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path}: not an experiments file: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const found = parsed.data.experiments.find((e) => e.name === experiment);
  if (found === undefined) throw new Error(`${path} has no experiment "${experiment}" (has: ${parsed.data.experiments.map((e) => e.name).join(', ')})`);
  return Object.fromEntries(found.arms.map((a) => [a.name, a.weight]));
}
