/** Who we are, from package.json: the name until the configuration (OTEL_SERVICE_NAME) says otherwise. */
import { PACKAGE as pkg } from '../paths';

export const SERVICE_NAME = pkg.name;
export const SERVICE_VERSION = pkg.version;
