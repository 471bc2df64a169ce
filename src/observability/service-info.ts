/** Who we are, for log lines, spans and /health: read once from package.json. */
import { PACKAGE as pkg } from '../paths';

export const SERVICE_NAME = process.env.OTEL_SERVICE_NAME ?? pkg.name;
export const SERVICE_VERSION = pkg.version;
