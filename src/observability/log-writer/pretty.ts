/**
 * Short human-readable lines for a terminal: time, level, message and a few key fields, from
 * the ECS JSON line every output gets. Only stdout, and only when it is a terminal (or
 * LOG_FORMAT=pretty): Filebeat reads the file, which is always ECS JSON. A terminal shows a
 * person a few lines a second, so parsing the line back is affordable there.
 */

const COLOURS: Record<string, string> = { error: '31', warn: '33', info: '32', debug: '90', verbose: '90', silly: '90', http: '36' };

function paint(colour: boolean, code: string | undefined, text: string): string {
  return colour && code !== undefined ? `\u001b[${code}m${text}\u001b[0m` : text;
}

function get(record: Record<string, unknown>, path: string): unknown {
  if (path in record) return record[path];
  let node: unknown = record;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** The fields worth a glance, in this order, when present. */
const KEY_FIELDS: [label: string, path: string][] = [
  ['action', 'event.action'],
  ['trace', 'trace.id'],
  ['error', 'error.type'],
  ['group', 'error.grouping_key'],
  ['url', 'recoscope.url'],
];

/**
 * `HH:MM:SS.mmm LEVEL message  key=value …` (UTC, as @timestamp). A line that is not a JSON
 * object is shown as it is, so nothing is ever lost on the terminal.
 */
export function prettyLine(line: string, colour: boolean): string {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null) return line;
    record = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const timestamp = get(record, '@timestamp');
  const time = typeof timestamp === 'string' && timestamp.length >= 23 ? timestamp.slice(11, 23) : '--:--:--.---';
  const rawLevel = get(record, 'log.level');
  const level = typeof rawLevel === 'string' ? rawLevel : 'info';
  const rawMessage = get(record, 'message');
  const message = typeof rawMessage === 'string' ? rawMessage : '';
  const fields: string[] = [];
  for (const [label, path] of KEY_FIELDS) {
    const value = get(record, path);
    if (typeof value === 'string' || typeof value === 'number') fields.push(`${label}=${value}`);
  }
  const stack = level === 'error' ? get(record, 'error.stack_trace') : undefined;
  const head = `${paint(colour, '90', time)} ${paint(colour, COLOURS[level], level.toUpperCase().padEnd(5))} ${message}`;
  const tail = fields.length > 0 ? `  ${paint(colour, '90', fields.join(' '))}` : '';
  return typeof stack === 'string' ? `${head}${tail}\n${paint(colour, '90', stack)}` : `${head}${tail}`;
}
