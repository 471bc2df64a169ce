/**
 * Where things are, written once: the project root, the compiled entry points, package.json.
 *
 * Compiled files live at dist/<folder>/…, sources at <folder>/…, so the root is found by
 * walking up to the package.json named "recoscope" rather than by counting `..`s, which
 * broke every time a file moved.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface PackageInfo {
  name: string;
  version: string;
}

function findProjectRoot(start: string): { root: string; pkg: PackageInfo } {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as Partial<PackageInfo>;
      if (pkg.name === 'recoscope') return { root: dir, pkg: { name: pkg.name, version: pkg.version ?? 'unknown' } };
    }
    if (dirname(dir) === dir) throw new Error(`recoscope: no package.json named "recoscope" above ${start}`);
  }
}

const found = findProjectRoot(__dirname);

/** The repository (or image) root: where package.json is. */
export const PROJECT_ROOT = found.root;
/** package.json's name and version. */
export const PACKAGE: PackageInfo = found.pkg;
/** Where `npm run build` puts compiled files (tsconfig's outDir). */
export const DIST_DIR = join(PROJECT_ROOT, 'dist');
/** The compiled service entry point: what `npm start` runs. */
export const SERVICE_MAIN_JS = join(DIST_DIR, 'src', 'main.js');

/** The compiled form of a source file given relative to the root, e.g. `compiled('bench/probes/train')`. */
export function compiled(sourceWithoutExtension: string): string {
  return join(DIST_DIR, `${sourceWithoutExtension}.js`);
}
