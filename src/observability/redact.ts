/**
 * Last line of defence for secrets in log lines. The service never logs headers other than
 * User-Agent, but free text (paths, user agents, error messages) comes from clients, and a
 * client can paste its key anywhere — percent-encoded too. Every string in a log record is
 * scanned for the registered secrets; strings derived from the URL are also scanned in their
 * decoded forms. Bidirectional-text control characters (which can make a log line read
 * differently from what it says, e.g. U+202E) are escaped as visible `\u202e` text.
 */
const secrets = new Set<string>();
export const REDACTED = '[REDACTED]';

export type Redactor = (value: string) => string;

export function registerSecret(secret: string): void {
  if (secret.length > 0) secrets.add(secret);
}

// Case-sensitive and 8+ characters, so prose such as "invalid bearer token" stays readable.
const BEARER = /\bBearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}/g;
const BEARER_TEST = /\bBearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}/;
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
const BIDI_TEST = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

function containsSecret(value: string): boolean {
  for (const secret of secrets) if (value.includes(secret)) return true;
  return BEARER_TEST.test(value);
}

export function redactString(value: string): string {
  let out = value;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  // "Bearer <credential>" would mean an Authorization value leaked; mask the credential too.
  if (out.includes('Bearer')) out = out.replace(BEARER, `Bearer ${REDACTED}`);
  if (BIDI_TEST.test(out)) {
    out = out.replace(BIDI, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  return out;
}

/** One round of percent-decoding that never throws (invalid UTF-8 runs decode byte by byte). */
export function percentDecode(value: string): string {
  return value.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    }
  });
}

/** Rounds of decoding looked at: `%2533` is `%33` is `3`. */
const MAX_DECODE_ROUNDS = 4;

/**
 * For strings derived from the URL: redacts the raw form and, if a decoded form (up to
 * MAX_DECODE_ROUNDS rounds) holds a secret, logs that decoded form redacted instead — so an
 * encoded key is never recoverable from the line.
 */
export function redactUrlDerived(value: string): string {
  if (value.includes('%')) {
    let decoded = value;
    for (let round = 0; round < MAX_DECODE_ROUNDS && decoded.includes('%'); round++) {
      const next = percentDecode(decoded);
      if (next === decoded) break;
      decoded = next;
      if (containsSecret(decoded)) return redactString(decoded);
    }
  }
  return redactString(value);
}

/** Redacts in place; log records are small trees of plain objects built by us. */
export function redactDeep(value: unknown, depth = 0, redact: Redactor = redactString): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = redactDeep(value[i], depth + 1, redact);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = redactDeep(record[key], depth + 1, redact);
  return value;
}

/** Client-supplied text is clipped after redaction (clipping first could cut a key in two). */
export function clipText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
