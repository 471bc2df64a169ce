/**
 * Last line of defence for secrets in log lines. The service never logs headers, but free
 * text (paths, user agents, error messages) comes from clients, and a client can paste its
 * key anywhere. Every string in a log record is scanned for the registered secrets.
 */
const secrets = new Set<string>();
export const REDACTED = '[REDACTED]';

export function registerSecret(secret: string): void {
  if (secret.length > 0) secrets.add(secret);
}

export function redactString(value: string): string {
  let out = value;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  // "Bearer <credential>" would mean an Authorization value leaked; mask the credential too.
  // Case-sensitive and 8+ characters, so prose such as "invalid bearer token" stays readable.
  return out.replace(/\bBearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}/g, `Bearer ${REDACTED}`);
}

/** Redacts in place; log records are small trees of plain objects built by us. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = redactDeep(value[i], depth + 1);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = redactDeep(record[key], depth + 1);
  return value;
}
