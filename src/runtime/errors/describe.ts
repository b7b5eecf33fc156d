/**
 * The one value printer: a short, Python-like rendering of any value for error messages
 * and logs. Values come from peers and from handlers' throws, so it never throws, runs
 * no getter, `toString` or `toJSON`, and does bounded work whatever the value's size.
 */

/** Characters of output before it is cut with `...`. */
const MAX_LENGTH = 120;
/** Items or entries shown of one array, map or object. */
const MAX_ITEMS = 8;
/** Containers opened inside one another. */
const MAX_DEPTH = 3;

/** JavaScript's spelling: `"text"`, `42`, `12n`, `null`, `<3 bytes>`, `[1, "a"]`, `{"k": 1}`, `Map{1: "a"}`, `<Point>`. */
export function describeValue(value: unknown, maxLength = MAX_LENGTH): string {
  const out = new Printer(maxLength, false);
  try {
    out.value(value, 0);
  } catch {
    out.write('<unprintable>');
  }
  return out.text();
}

/** Python's spelling of one value: `'text'`, `None`, `True`, `[1, 'a']`. */
export function pythonRepr(value: unknown, maxLength = MAX_LENGTH): string {
  const out = new Printer(maxLength, true);
  try {
    out.value(value, 0);
  } catch {
    out.write('<unprintable>');
  }
  return out.text();
}

/** Python's spelling of an exception's args: `('bad value', 42, None)`. */
export function describeArgs(args: readonly unknown[], maxLength = MAX_LENGTH): string {
  const out = new Printer(maxLength, true);
  try {
    out.write('(');
    out.items(args, 0);
    out.write(')');
  } catch {
    out.write('<unprintable>)');
  }
  return out.text();
}

class Printer {
  #text = '';
  readonly #max: number;
  readonly #python: boolean;

  constructor(max: number, python: boolean) {
    this.#max = max;
    this.#python = python;
  }

  get full(): boolean {
    return this.#text.length > this.#max;
  }

  write(part: string): void {
    if (!this.full) this.#text += part.length > this.#max ? part.slice(0, this.#max + 1) : part;
  }

  text(): string {
    return this.full ? `${this.#text.slice(0, this.#max - 3)}...` : this.#text;
  }

  value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string': {
        const text = value.slice(0, this.#max);
        return this.write(this.#python ? `'${escapeControls(text.replaceAll('\\', '\\\\').replaceAll("'", "\\'"))}'` : JSON.stringify(text));
      }
      case 'number':
        return this.write(String(value));
      case 'boolean':
        return this.write(this.#python ? (value ? 'True' : 'False') : String(value));
      case 'bigint':
        return this.write(this.#python ? String(value) : `${value}n`);
      case 'undefined':
        return this.write('undefined');
      case 'symbol':
        return this.write('<symbol>');
      case 'function':
        return this.write('<function>');
    }
    if (value === null) return this.write(this.#python ? 'None' : 'null');
    if (ArrayBuffer.isView(value)) return this.write(`<${value.byteLength} bytes>`);
    if (depth >= MAX_DEPTH) return this.write(Array.isArray(value) ? '[...]' : '{...}');
    if (Array.isArray(value)) {
      this.write('[');
      this.items(value, depth + 1);
      return this.write(']');
    }
    if (value instanceof Map) {
      this.write('Map{');
      let i = 0;
      for (const [k, v] of value) {
        if (this.full) break;
        if (i > 0) this.write(', ');
        if (i++ === MAX_ITEMS) return this.write(`... ${value.size - MAX_ITEMS} more}`);
        this.value(k, depth + 1);
        this.write(': ');
        this.value(v, depth + 1);
      }
      return this.write('}');
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return this.write(`<${className(value as object)}>`);
    this.write('{');
    let i = 0;
    for (const key in value) {
      if (this.full) break;
      if (!Object.hasOwn(value, key)) continue;
      if (i > 0) this.write(', ');
      if (i++ === MAX_ITEMS) {
        this.write('...');
        break;
      }
      this.value(key, depth + 1);
      this.write(': ');
      const property = Object.getOwnPropertyDescriptor(value, key);
      if (property && 'value' in property) this.value(property.value, depth + 1);
      else this.write('<getter>');
    }
    this.write('}');
  }

  items(list: readonly unknown[], depth: number): void {
    const length = list.length;
    for (let i = 0; i < length && !this.full; i++) {
      if (i > 0) this.write(', ');
      if (i === MAX_ITEMS) return this.write(`... ${length - MAX_ITEMS} more`);
      this.value(list[i], depth);
    }
  }
}

/** The name of an object's class, read without running anything of its own; `object` if it has none. */
export function className(value: object): string {
  try {
    const proto = Object.getPrototypeOf(value);
    const ctor = proto && Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
    const name = typeof ctor === 'function' ? Object.getOwnPropertyDescriptor(ctor, 'name')?.value : undefined;
    return typeof name === 'string' && name ? name.slice(0, 60) : 'object';
  } catch {
    return 'object';
  }
}

/** An error's message for another message, whatever was thrown. */
export function describeError(error: unknown): string {
  try {
    if (error instanceof Error) {
      const message = Object.getOwnPropertyDescriptor(error, 'message')?.value;
      if (typeof message === 'string') return clip(message, MAX_LENGTH * 4);
    }
  } catch {
    // fall through to the printed form
  }
  return describeValue(error);
}

/**
 * Text from a peer (a method name, a topic) fit for one log line: cut to `max`
 * characters, with line breaks and other control characters escaped, so a name cannot
 * forge log lines.
 */
export function clip(text: string, max = 200): string {
  const cut = text.length > max ? `${text.slice(0, max - 3)}...` : text;
  return escapeControls(cut);
}

/**
 * What a terminal acts on or that changes how it shows the rest of a line: C0 controls,
 * DEL, C1 controls (a terminal may read U+009B as CSI), the line and paragraph
 * separators, and the bidi marks, embeddings, overrides and isolates.
 */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with the characters above written as escapes (`\n`, `\x1b`, `\u202e`), so a
 * peer's text can neither forge lines nor drive a terminal. With `json`, `text` is
 * JSON.stringify's output: its line breaks are layout and stay, and the rest become
 * `\uXXXX`, which can only be inside strings, so the JSON still reads as the same value.
 * @internal
 */
export function escapeControls(text: string, json = false): string {
  const controls = json ? CONTROLS_BUT_NEWLINE : CONTROLS;
  controls.lastIndex = 0;
  return controls.test(text) ? text.replace(controls, json ? unicodeEscape : shortEscape) : text;
}

function shortEscape(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : unicodeEscape(c);
}

function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
