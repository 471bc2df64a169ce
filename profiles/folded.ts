/**
 * Folded stacks ("frame;frame;... count", root first, Brendan Gregg's collapsed format) from
 * 0x's stack tree, with frame names normalised so that two runs — of two routes, or of two
 * versions of the code — line up frame by frame:
 *
 *  - JavaScript: `function file`, no `:line:col`; project files relative to the repository,
 *    and compiled `dist/src/x.js` reported as its TypeScript source `src/x.ts` (tsc maps
 *    files one to one); dependencies as `node_modules/pkg/file.js`; Node's own as
 *    `node:internal/...`; other absolute paths by their base name;
 *  - native code: `symbol [native]` (C/C++ and shared libraries, glibc symbol versions such
 *    as `@@GLIBC_2.2.5` dropped, libraries by base name), V8's generated code as
 *    `name [builtin]`, `[bytecode]`, `[regexp]` or `[v8]`;
 *  - no optimisation-tier markers (`*`, `~`, `^`) and none of 0x's `[INIT]` / `[INLINABLE]`
 *    labels, which depend on JIT timing rather than on the code.
 */
import { basename } from 'node:path';

/** A node of 0x's `stacks.<pid>.json` tree (`merged`): value = samples, top = self samples. */
export interface ZeroXNode {
  name: string;
  value: number;
  top: number;
  children?: ZeroXNode[];
}

/** Stack (frames joined by `;`, root first) → samples whose innermost frame is the stack's last. */
export type Folded = Map<string, number>;

/** A frame tree for d3-flame-graph: value includes the children's. */
export interface FlameNode {
  name: string;
  value: number;
  children: FlameNode[];
}

export interface FrameShare {
  frame: string;
  /** Samples with this frame innermost. */
  self: number;
  /** Samples with this frame anywhere on the stack (each sample counted once). */
  total: number;
  selfShare: number;
  totalShare: number;
}

/**
 * The event loop waiting for I/O (libuv's epoll wait; `(idle)` in a wall-clock pprof profile):
 * samples where the process had nothing to run. Shown in the flamegraph, but not "self time" of any code: rankings leave it out
 * and report it on its own.
 */
const IDLE_FRAME = /^(?:(?:epoll_pwait2?|epoll_wait|__epoll_wait_nocancel) \[native\]|\(idle\))$/;

export function isIdleFrame(frame: string): boolean {
  return IDLE_FRAME.test(frame);
}

/** Frame shares without the idle frames (their shares stay fractions of all samples). */
export function busyFrames(shares: readonly FrameShare[]): FrameShare[] {
  return shares.filter((f) => !isIdleFrame(f.frame));
}

/** Share of all samples spent idle (see isIdleFrame). */
export function idleShare(shares: readonly FrameShare[]): number {
  return shares.filter((f) => isIdleFrame(f.frame)).reduce((sum, f) => sum + f.selfShare, 0);
}

const V8_CODE_KINDS: Record<string, string> = {
  Builtin: 'builtin',
  BytecodeHandler: 'bytecode',
  RegExp: 'regexp',
};

/** A file path as it should read in a frame name; see the module comment. */
export function normalisePath(path: string, projectRoot: string): string {
  let p = path.startsWith('file://') ? decodeURIComponent(path.slice('file://'.length)) : path;
  if (p.startsWith('node:')) return p;
  const root = projectRoot.replace(/\/+$/, '');
  if (p.startsWith(`${root}/`)) {
    p = p.slice(root.length + 1);
  } else if (p.startsWith('/')) {
    const nm = p.indexOf('/node_modules/');
    p = nm >= 0 ? p.slice(nm + 1) : basename(p);
  }
  const compiled = /^dist\/(.+)\.js$/.exec(p);
  if (compiled !== null) p = `${compiled[1] as string}.ts`;
  return p;
}

function nativeName(raw: string): string {
  const name = raw.trim().replace(/@@?[A-Za-z_]+[\d.]*$/, '');
  return name.startsWith('/') ? basename(name) : name;
}

/** One frame of 0x's tree (e.g. `scoreStage /repo/dist/src/models/knn.js:86:18`) in normal form. */
export function normaliseFrame(raw: string, projectRoot: string): string {
  let name = raw
    .replace(/ \[(?:INIT|INLINABLE)\]/g, '')
    .replace(/^[*~^+]+/, '')
    .trim();
  // `;` separates frames in the folded format; it never appears in real frame names, but a
  // regexp's source could carry one.
  name = name.replace(/;/g, ',');

  const typed = / \[([A-Z_]+)(?::([A-Za-z]+))?\]$/.exec(name);
  if (typed !== null) {
    const base = name.slice(0, typed.index).trim();
    const type = typed[1] as string;
    const kind = typed[2];
    if (type === 'CPP' || type === 'SHARED_LIB') return `${nativeName(base)} [native]`;
    if (type === 'CODE') {
      const label = (kind !== undefined ? V8_CODE_KINDS[kind] : undefined) ?? 'v8';
      // A RegExp's code is named by its source: show it as a literal.
      return label === 'regexp' ? `/${base}/ [regexp]` : `${base} [${label}]`;
    }
    // 0x labels JS code without a source position WASM; keep its name, say what it is.
    return `${base} [${type.toLowerCase()}]`;
  }

  // JavaScript: "function path:line:col"; the function part may be empty or contain spaces.
  const js = /^(.*?) ?(\S+?)(?::\d+)?:\d+$/.exec(name);
  if (js !== null) {
    const fn = (js[1] as string).trim();
    return `${fn === '' ? '(anonymous)' : fn} ${normalisePath(js[2] as string, projectRoot)}`;
  }
  return name;
}

/** Folded stacks from 0x's merged tree: each node's self samples under its normalised path. */
export function treeToFolded(root: ZeroXNode, projectRoot: string): Folded {
  const folded: Folded = new Map();
  const cache = new Map<string, string>();
  const norm = (raw: string): string => {
    let n = cache.get(raw);
    if (n === undefined) {
      n = normaliseFrame(raw, projectRoot);
      cache.set(raw, n);
    }
    return n;
  };
  const walk = (node: ZeroXNode, path: string[]): void => {
    const here = [...path, norm(node.name)];
    if (node.top > 0) {
      const key = here.join(';');
      folded.set(key, (folded.get(key) ?? 0) + node.top);
    }
    for (const child of node.children ?? []) walk(child, here);
  };
  // The root ("all stacks") is 0x's, not a frame.
  for (const child of root.children ?? []) walk(child, []);
  return folded;
}

/** The folded text: one line per stack, heaviest first, ties by stack text (stable diffs). */
export function formatFolded(folded: Folded): string {
  const lines = [...folded].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return lines.map(([stack, count]) => `${stack} ${count}\n`).join('');
}

export function parseFolded(text: string): Folded {
  const folded: Folded = new Map();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const space = line.lastIndexOf(' ');
    const count = Number(line.slice(space + 1));
    if (space <= 0 || !Number.isFinite(count)) throw new Error(`not a folded-stacks line: ${line.slice(0, 120)}`);
    const stack = line.slice(0, space);
    folded.set(stack, (folded.get(stack) ?? 0) + count);
  }
  return folded;
}

export function totalSamples(folded: Folded): number {
  let total = 0;
  for (const count of folded.values()) total += count;
  return total;
}

/** Self and inclusive samples per frame name, heaviest self first. */
export function frameShares(folded: Folded): FrameShare[] {
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const [stack, count] of folded) {
    const frames = stack.split(';');
    const leaf = frames[frames.length - 1] as string;
    self.set(leaf, (self.get(leaf) ?? 0) + count);
    for (const frame of new Set(frames)) total.set(frame, (total.get(frame) ?? 0) + count);
  }
  const all = totalSamples(folded);
  return [...total.keys()]
    .map((frame) => {
      const s = self.get(frame) ?? 0;
      const t = total.get(frame) ?? 0;
      return { frame, self: s, total: t, selfShare: all > 0 ? s / all : 0, totalShare: all > 0 ? t / all : 0 };
    })
    .sort((a, b) => b.self - a.self || b.total - a.total || (a.frame < b.frame ? -1 : 1));
}

/** The frame tree d3-flame-graph draws (root "all"). */
export function foldedToTree(folded: Folded, rootName = 'all'): FlameNode {
  const root: FlameNode = { name: rootName, value: 0, children: [] };
  const index = new Map<FlameNode, Map<string, FlameNode>>();
  for (const [stack, count] of folded) {
    root.value += count;
    let node = root;
    for (const frame of stack.split(';')) {
      let kids = index.get(node);
      if (kids === undefined) {
        kids = new Map();
        index.set(node, kids);
      }
      let child = kids.get(frame);
      if (child === undefined) {
        child = { name: frame, value: 0, children: [] };
        kids.set(frame, child);
        node.children.push(child);
      }
      child.value += count;
      node = child;
    }
  }
  return root;
}
