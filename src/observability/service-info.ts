/** Who we are, for log lines, spans and /health: read once from package.json. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface PackageJson {
  name: string;
  version: string;
}

function readPackageJson(): PackageJson {
  // dist/src/observability → project root is three levels up; src/observability (ts-node-free
  // tests run compiled code only) resolves the same way from dist.
  const raw = readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8');
  return JSON.parse(raw) as PackageJson;
}

const pkg = readPackageJson();

export const SERVICE_NAME = process.env.OTEL_SERVICE_NAME ?? pkg.name;
export const SERVICE_VERSION = pkg.version;
