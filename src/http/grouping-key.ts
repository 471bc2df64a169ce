/**
 * `error.grouping_key`: one stable key per kind of failure, so the log can be counted like
 * Sentry's issues ("this fault, N times, M users, first/last seen") instead of read line by line.
 *
 *   5xx  `500 <error type> at <function> (<file>)`: the top stack frame in OUR code.
 *        e.g. `500 InjectedFaultError at <anonymous> (src/models/fault-injection.ts)`
 *   4xx  `<status> <error key> <route template>`
 *        e.g. `404 model_not_found /reco/:model_name/:user_id`
 *
 * What is left out, on purpose: the message (it carries ids and client text: user 666 and user
 * 1332 must land in one group), the path (ids again: the route template stands for it), and
 * line/column numbers. A line number moves whenever any line above it is edited, so every
 * deploy would split a group in two and a fault that survives a release would look "new";
 * Sentry's own grouping ignores them for the same reason. Function + file is what a developer
 * means by "where": two throws of the same error type from anonymous functions of one file do
 * share a group, a price worth paying for keys that survive builds. `dist/…/*.js` frames are
 * named by their source (`src/…/*.ts`), so the key does not depend on how the service runs.
 */
import { isAbsolute, relative, sep } from 'node:path';
import { PROJECT_ROOT } from '../paths';

export interface StackFrame {
  /** Function as V8 names it (`Object.recommend`, `new Foo`), or `<anonymous>`. */
  fn: string;
  /** Path or URL of the file, without line and column. */
  file: string;
}

// `    at fn (file:line:col)`, `    at file:line:col`, `    at async fn (file:line:col)`.
const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.+?):\d+:\d+\)?$/;

/** The frames of a V8 stack trace (lines that are not `at … file:line:col` are skipped). */
export function parseStack(stack: string | undefined): StackFrame[] {
  if (stack === undefined) return [];
  const frames: StackFrame[] = [];
  for (const line of stack.split('\n')) {
    const m = FRAME.exec(line);
    if (m === null) continue;
    const file = m[2] ?? '';
    frames.push({ fn: m[1] === undefined || m[1] === '' ? '<anonymous>' : m[1], file: file.replace(/^file:\/\//, '') });
  }
  return frames;
}

/** `src/models/x.ts` for a frame in our code (under `root`, outside node_modules), else undefined. */
export function appFile(file: string, root: string = PROJECT_ROOT): string | undefined {
  if (!isAbsolute(file)) return undefined; // node:internal/…, native, eval
  const rel = relative(root, file);
  if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('node_modules')) return undefined;
  const posix = rel.split(sep).join('/');
  return posix.startsWith('dist/') ? posix.slice('dist/'.length).replace(/\.js$/, '.ts') : posix;
}

/** Where a frame outside our code comes from, without version-specific paths: `express`, `node:internal`. */
function foreignFile(file: string): string {
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = file.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') === true ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? file);
  }
  return file.startsWith('node:') ? file.split('/')[0] ?? file : 'native';
}

/** The top frame in our code, `<function> (<file>)`; the top frame of all when none is ours. */
export function topAppFrame(stack: string | undefined, root: string = PROJECT_ROOT): string {
  const frames = parseStack(stack);
  for (const frame of frames) {
    const file = appFile(frame.file, root);
    if (file !== undefined) return `${frame.fn} (${file})`;
  }
  const first = frames[0];
  return first === undefined ? '<no stack>' : `${first.fn} (${foreignFile(first.file)})`;
}

/** Route template when a route matched; `(unrouted)` for the 404 of an unknown path. */
export const UNROUTED = '(unrouted)';

export interface GroupingInput {
  status: number;
  /** The error key of the error contract (`model_not_found`, `server_error`, …). */
  key: string;
  /** The error as thrown (5xx: its type and stack make the key). */
  error: Error;
  /** The matched route's template (`req.route.path`), undefined when none matched. */
  route: string | undefined;
}

export function groupingKey({ status, key, error, route }: GroupingInput, root: string = PROJECT_ROOT): string {
  if (status >= 500) return `${status} ${error.name} at ${topAppFrame(error.stack, root)}`;
  return `${status} ${key} ${route ?? UNROUTED}`;
}
