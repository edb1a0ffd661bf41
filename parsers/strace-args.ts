// A typed tree of one strace argument list (the text between a call's outer parentheses), built on demand:
// events keep the raw text and only a consumer that looks inside calls parseArgs. Never throws: whatever
// is not understood becomes a `raw` node holding the text of that one item.
//
// Covers strace 6.1's output forms: strings with escapes and `"..."...` truncation (-s, -x, -xx),
// numbers, hex, flags `A|B|0x4`, structs `{a=1, ...}`, arrays, signal/cpu bitsets `~[KILL STOP]`,
// calls `makedev(0x88, 0)` / `htons(80)` / `inet_addr("1.2.3.4")`, comments `/* 26 vars */` and -X verbose's
// `0x1 /* O_WRONLY */`, -y/-yy fd decorations `3</etc/passwd>`, `5<TCP:[127.0.0.1:1->127.0.0.1:2]>`,
// `1</dev/null<char 1:3>>`, NULL, `&name`, value-result changes `[128 => 16]`, `a -> b`.
// Nesting is bounded (MAX_DEPTH): the parser recurses per level, and a crafted line must not overflow the stack.

import { decodeLiteral } from './strace-scan.js';

/** One node. Every number-like node keeps its exact text; `value` is a JS number (may round past 2^53). */
export type ArgNode =
  | StringNode
  | NumberNode
  | HexNode
  | NullNode
  | ConstantNode
  | FlagsNode
  | StructNode
  | ArrayNode
  | BitsetNode
  | CallNode
  | CommentNode
  | AnnotatedNode
  | FdNode
  | FieldNode
  | AddressOfNode
  | ChangedNode
  | ArrowNode
  | EllipsisNode
  | RawNode;

export interface StringNode {
  kind: 'string';
  /** Decoded bytes as a binary string (each char code 0..255), as strace printed them. */
  value: string;
  /** strace cut the string (`-s`): printed as `"..."...`. */
  truncated: boolean;
  /** `@"..."`: an abstract UNIX socket path. */
  abstract?: true;
}
export interface NumberNode {
  kind: 'number';
  text: string;
  value: number;
}
export interface HexNode {
  kind: 'hex';
  text: string;
  value: number;
}
export interface NullNode {
  kind: 'null';
}
/** A symbolic name: `AT_FDCWD`, `SIG_DFL`, `TCGETS`. */
export interface ConstantNode {
  kind: 'constant';
  name: string;
}
/** `O_RDONLY|O_CLOEXEC`, `S_IFREG|0644`, `FUTEX_OP_SET<<28|0x1`: operands are constants, numbers or raw text. */
export interface FlagsNode {
  kind: 'flags';
  flags: ArgNode[];
}
export interface StructNode {
  kind: 'struct';
  /** Named fields are `field` nodes; a `...` is an `ellipsis` node. */
  fields: ArgNode[];
}
export interface ArrayNode {
  kind: 'array';
  items: ArgNode[];
}
/** Space-separated sets: signal masks `[CHLD]`, `~[KILL STOP]`, cpu sets `[0 1 2]`. */
export interface BitsetNode {
  kind: 'bitset';
  negated: boolean;
  items: string[];
}
export interface CallNode {
  kind: 'call';
  name: string;
  args: ArgNode[];
}
/** A lone comment: `[/* 26 vars *\/]`. */
export interface CommentNode {
  kind: 'comment';
  text: string;
}
/** A value with strace's comment after it: `0x7ffd /* 2 vars *\/`, -X verbose `0x1 /* O_WRONLY *\/`. */
export interface AnnotatedNode {
  kind: 'annotated';
  value: ArgNode;
  comment: string;
}
/** A -y / -yy decorated fd (or AT_FDCWD): `3</etc/passwd>`, `3<socket:[1234]>`, `1</dev/null<char 1:3>>`. */
export interface FdNode {
  kind: 'fd';
  fd: ArgNode;
  /** The decoration between the outer `<>`, decoded (strace escapes `<`, `>` and `"` in paths). */
  decoration: string;
  /** For a path decoration: the path, without -yy's `<char 1:3>` device suffix. */
  path?: string;
  /** -yy's device suffix: `char 1:3`, `block 8:1`. */
  device?: string;
  /** A `TYPE:[detail]` decoration: sockets (`TCP`, `UNIX-STREAM`, `socket`), `pipe`, `anon_inode`... */
  resource?: { type: string; detail: string };
}
/** `name=value`, in structs and in some calls' argument lists (clone). */
export interface FieldNode {
  kind: 'field';
  name: string;
  value: ArgNode;
}
export interface AddressOfNode {
  kind: 'address-of';
  target: string;
}
/** Value-result arguments: `128 => 16`, `{...} => {...}`. */
export interface ChangedNode {
  kind: 'changed';
  before: ArgNode;
  after: ArgNode;
}
export interface ArrowNode {
  kind: 'arrow';
  from: ArgNode;
  to: ArgNode;
}
export interface EllipsisNode {
  kind: 'ellipsis';
}
/** Text not understood, kept whole (one list item, or the rest of one). */
export interface RawNode {
  kind: 'raw';
  text: string;
  /** Set when the item nests deeper than MAX_DEPTH levels: kept whole instead of parsed. */
  reason?: 'too-deep';
}

/** Deepest nesting parsed (brackets, braces, calls, `=>`/`->` chains, `a=b=` fields); strace prints a few levels. */
export const MAX_DEPTH = 256;

/** Parses an argument list. Never throws; unknown forms become `raw` nodes. */
export function parseArgs(text: string): ArgNode[] {
  const p = new Parser(text);
  const items = p.list('');
  if (p.i < text.length) items.push({ kind: 'raw', text: text.slice(p.i) });
  return items;
}

class Fail extends Error {}
const fail = (): never => {
  throw new Fail();
};
/** Nesting past MAX_DEPTH: the innermost item that hit it becomes a raw node. */
class TooDeep extends Fail {}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
// Field names: `st_mode`, `c_cc[VMIN]`, `sa_handler`; a field is `name=` but not `name==` / `name=>`.
const FIELD = /([A-Za-z_][A-Za-z0-9_.]*(?:\[[A-Za-z0-9_]*\])*)=(?![=>])/y;
const NUMBER = /-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?)(?![A-Za-z0-9_])/y;
const CLOSE: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

class Parser {
  i = 0;
  private depth = 0;
  constructor(readonly s: string) {}

  /** Runs one nested parse step, refusing to go deeper than MAX_DEPTH. */
  private nested<T>(step: () => T): T {
    if (this.depth >= MAX_DEPTH) throw new TooDeep();
    this.depth++;
    try {
      return step();
    } finally {
      this.depth--;
    }
  }

  /** Comma-separated items up to `end` (not consumed; '' = end of text). */
  list(end: string): ArgNode[] {
    const items: ArgNode[] = [];
    this.ws();
    if (this.atEnd(end)) return items;
    for (;;) {
      items.push(this.item(end));
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        this.ws();
        // A call cut by `<unfinished ...>` ends in `, `: no empty item after it.
        if (this.atEnd(end)) return items;
        continue;
      }
      if (this.atEnd(end) || this.i >= this.s.length) return items;
      // Something after a complete item: keep the rest of this item raw.
      const start = this.i;
      this.skipItem(end);
      const last = items[items.length - 1]!;
      items[items.length - 1] = { kind: 'raw', text: renderArg(last) + ' ' + this.s.slice(start, this.i).trim() };
    }
  }

  private atEnd(end: string): boolean {
    return end === '' ? this.i >= this.s.length : this.s[this.i] === end;
  }

  /** One item; on failure, the item's text as a raw node. */
  item(end: string): ArgNode {
    const start = this.i;
    try {
      const node = this.binary(end);
      this.ws();
      if (this.i < this.s.length && this.s[this.i] !== ',' && !this.atEnd(end)) fail();
      return node;
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      this.i = start;
      this.skipItem(end);
      const raw: RawNode = { kind: 'raw', text: this.s.slice(start, this.i).trim() };
      if (e instanceof TooDeep) raw.reason = 'too-deep';
      return raw;
    }
  }

  /** `a => b`, `a -> b`. */
  private binary(end: string): ArgNode {
    const left = this.value(end);
    this.ws();
    if (this.s.startsWith('=>', this.i)) {
      this.i += 2;
      this.ws();
      return { kind: 'changed', before: left, after: this.nested(() => this.binary(end)) };
    }
    if (this.s.startsWith('->', this.i)) {
      this.i += 2;
      this.ws();
      return { kind: 'arrow', from: left, to: this.nested(() => this.binary(end)) };
    }
    return left;
  }

  /** A value, optionally `name=`-prefixed, with flags `|` and a trailing comment. */
  private value(end: string): ArgNode {
    FIELD.lastIndex = this.i;
    const f = FIELD.exec(this.s);
    if (f) {
      this.i = FIELD.lastIndex;
      return { kind: 'field', name: f[1]!, value: this.nested(() => this.value(end)) };
    }
    let node = this.operand();
    if (this.s[this.i] === '|' && this.s[this.i + 1] !== '|') {
      const flags = [node];
      while (this.s[this.i] === '|' && this.s[this.i + 1] !== '|') {
        this.i++;
        flags.push(this.operand());
      }
      node = { kind: 'flags', flags };
    }
    const save = this.i;
    this.ws();
    if (this.s.startsWith('/*', this.i)) {
      // -X verbose with -y puts the decoration after the comment: `-100 /* AT_FDCWD */</work>`.
      return this.decorated({ kind: 'annotated', value: node, comment: this.comment() });
    }
    this.i = save;
    return node;
  }

  /** A flag operand may be a shift `FUTEX_OP_SET<<28` (kept raw) or a product `8192*1024` (a number). */
  private operand(): ArgNode {
    const start = this.i;
    const node = this.atom();
    if (this.s.startsWith('<<', this.i)) {
      this.i += 2;
      this.atom();
      return { kind: 'raw', text: this.s.slice(start, this.i) };
    }
    if (this.s[this.i] === '*' && (node.kind === 'number' || node.kind === 'hex')) {
      let value = node.value;
      while (this.s[this.i] === '*') {
        this.i++;
        const f = this.atom();
        if (f.kind !== 'number' && f.kind !== 'hex') return fail();
        value *= f.value;
      }
      return { kind: 'number', text: this.s.slice(start, this.i), value };
    }
    return node;
  }

  private atom(): ArgNode {
    const c = this.s[this.i];
    if (c === undefined) return fail();
    if (c === '"') return this.string(false);
    if (c === '@' && this.s[this.i + 1] === '"') {
      this.i++;
      return this.string(true);
    }
    if (c === '{') {
      this.i++;
      const fields = this.nested(() => this.list('}'));
      this.expect('}');
      return { kind: 'struct', fields };
    }
    if (c === '[' || (c === '~' && this.s[this.i + 1] === '[')) return this.bracket();
    if (c === '/' && this.s[this.i + 1] === '*') return { kind: 'comment', text: this.comment() };
    if (c === '&') {
      this.i++;
      IDENT.lastIndex = this.i;
      const m = IDENT.exec(this.s) ?? fail();
      this.i = IDENT.lastIndex;
      return { kind: 'address-of', target: m[0] };
    }
    if (this.s.startsWith('...', this.i)) {
      this.i += 3;
      return { kind: 'ellipsis' };
    }
    NUMBER.lastIndex = this.i;
    const n = NUMBER.exec(this.s);
    if (n) {
      this.i = NUMBER.lastIndex;
      return this.decorated(numberNode(n[0]));
    }
    IDENT.lastIndex = this.i;
    const id = IDENT.exec(this.s);
    if (id) {
      this.i = IDENT.lastIndex;
      if (this.s[this.i] === '(') {
        this.i++;
        const args = this.nested(() => this.list(')'));
        this.expect(')');
        return { kind: 'call', name: id[0], args };
      }
      return this.decorated(id[0] === 'NULL' ? { kind: 'null' } : { kind: 'constant', name: id[0] });
    }
    return fail();
  }

  /** `[...]`: an array (comma-separated) or a bitset (space-separated names or numbers). */
  private bracket(): ArgNode {
    const negated = this.s[this.i] === '~';
    if (negated) this.i++;
    this.i++; // '['
    const close = this.s.indexOf(']', this.i);
    const inner = close < 0 ? '' : this.s.slice(this.i, close);
    if (close >= 0 && (negated || /^[A-Za-z0-9_]+(?: [A-Za-z0-9_]+)+$/.test(inner) || (/^[A-Z][A-Z0-9_]*$/.test(inner) && inner !== 'NULL'))) {
      if (!/^(?:[A-Za-z0-9_]+(?: [A-Za-z0-9_]+)*)?$/.test(inner)) fail();
      this.i = close + 1;
      return { kind: 'bitset', negated, items: inner === '' ? [] : inner.split(' ') };
    }
    const items = this.nested(() => this.list(']'));
    this.expect(']');
    return { kind: 'array', items };
  }

  /** `3</path>`, `3<TCP:[...]>`, `AT_FDCWD</dir>`: a decoration right after a number or constant. */
  private decorated(node: ArgNode): ArgNode {
    if (this.s[this.i] !== '<' || this.s[this.i + 1] === '<' || this.s[this.i + 1] === '.') return node;
    // Nested `<...>` (-yy's `<char 1:3>`) counts; `[...]` (socket endpoints, with their `->`) does not.
    let depth = 0;
    let square = 0;
    let j = this.i;
    for (; j < this.s.length; j++) {
      const ch = this.s[j];
      if (ch === '\\') j++;
      else if (ch === '[') square++;
      else if (ch === ']') square--;
      else if (square > 0) continue;
      else if (ch === '<') depth++;
      else if (ch === '>' && --depth === 0) break;
    }
    if (depth !== 0 || j >= this.s.length) return fail();
    const inner = this.s.slice(this.i + 1, j);
    this.i = j + 1;
    const fd: FdNode = { kind: 'fd', fd: node, decoration: bytesOf(inner) };
    const sock = /^([A-Za-z][A-Za-z0-9_-]*):\[(.*)\]$/.exec(inner);
    if (sock) {
      fd.resource = { type: sock[1]!, detail: sock[2]! };
    } else {
      const dev = /^(.*)<((?:char|block) [^<>]*)>$/.exec(inner);
      fd.path = bytesOf(dev ? dev[1]! : inner);
      if (dev) fd.device = dev[2]!;
    }
    return fd;
  }

  private string(abstract: boolean): StringNode {
    const start = ++this.i;
    let j = start;
    for (; j < this.s.length && this.s[j] !== '"'; j++) if (this.s[j] === '\\') j++;
    if (j >= this.s.length) return fail();
    const value = bytesOf(this.s.slice(start, j));
    this.i = j + 1;
    let truncated = false;
    if (this.s.startsWith('...', this.i)) {
      truncated = true;
      this.i += 3;
    }
    const node: StringNode = { kind: 'string', value, truncated };
    if (abstract) node.abstract = true;
    return node;
  }

  private comment(): string {
    const close = this.s.indexOf('*/', this.i + 2);
    if (close < 0) return fail();
    const text = this.s.slice(this.i + 2, close).trim();
    this.i = close + 2;
    return text;
  }

  private expect(ch: string): void {
    this.ws();
    if (this.s[this.i] !== ch) fail();
    this.i++;
  }

  private ws(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
  }

  /** Skips to the end of the current item: the next top-level `,` or `end`, past balanced brackets and strings. */
  skipItem(end: string): void {
    const stack: string[] = [];
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (stack.length === 0 && (c === ',' || (end !== '' && c === end))) return;
      if (c === '"') {
        this.i++;
        while (this.i < this.s.length && this.s[this.i] !== '"') this.i += this.s[this.i] === '\\' ? 2 : 1;
      } else if (c === '/' && this.s[this.i + 1] === '*') {
        const close = this.s.indexOf('*/', this.i + 2);
        this.i = close < 0 ? this.s.length : close + 1;
      } else if (c in CLOSE) {
        stack.push(CLOSE[c]!);
      } else if (c === stack[stack.length - 1]) {
        stack.pop();
      } else if (stack.length === 0 && (c === ')' || c === ']' || c === '}')) {
        // A stray closer that is not ours: keep it in this raw item so parsing moves on.
      }
      this.i++;
    }
  }
}

function numberNode(text: string): NumberNode | HexNode {
  const neg = text.startsWith('-');
  const body = neg ? text.slice(1) : text;
  if (body.startsWith('0x')) {
    const v = Number.parseInt(body.slice(2), 16);
    return { kind: 'hex', text, value: neg ? -v : v };
  }
  // strace prints modes in octal with a leading 0 (`0644`).
  const v = body.length > 1 && body.startsWith('0') && /^[0-7]+$/.test(body) ? Number.parseInt(body, 8) : Number(body);
  return { kind: 'number', text, value: neg ? -v : v };
}

/** A string node's value: the literal's bytes, one char per byte (strace-scan's one literal decoder). */
function bytesOf(s: string): string {
  return decodeLiteral(s, 0, s.length, 'latin1');
}

/** Prints a node back in strace's syntax (strings re-escaped); useful for display and tests. */
export function renderArg(n: ArgNode): string {
  switch (n.kind) {
    case 'string':
      return (n.abstract ? '@' : '') + '"' + escape(n.value) + '"' + (n.truncated ? '...' : '');
    case 'number':
    case 'hex':
      return n.text;
    case 'null':
      return 'NULL';
    case 'constant':
      return n.name;
    case 'flags':
      return n.flags.map(renderArg).join('|');
    case 'struct':
      return '{' + n.fields.map(renderArg).join(', ') + '}';
    case 'array':
      return '[' + n.items.map(renderArg).join(', ') + ']';
    case 'bitset':
      return (n.negated ? '~' : '') + '[' + n.items.join(' ') + ']';
    case 'call':
      return n.name + '(' + n.args.map(renderArg).join(', ') + ')';
    case 'comment':
      return '/* ' + n.text + ' */';
    case 'annotated':
      return renderArg(n.value) + ' /* ' + n.comment + ' */';
    case 'fd':
      return renderArg(n.fd) + '<' + n.decoration + '>';
    case 'field':
      return n.name + '=' + renderArg(n.value);
    case 'address-of':
      return '&' + n.target;
    case 'changed':
      return renderArg(n.before) + ' => ' + renderArg(n.after);
    case 'arrow':
      return renderArg(n.from) + ' -> ' + renderArg(n.to);
    case 'ellipsis':
      return '...';
    case 'raw':
      return n.text;
  }
}

function escape(v: string): string {
  let out = '';
  for (const ch of v) {
    const c = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c >= 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out;
}
