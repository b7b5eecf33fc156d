/**
 * A deliberately tiny pickle codec for the payloads aiozmq puts in ext types 123..127:
 * Python `datetime` objects pickled with protocol 5.
 *
 * A pickle is a program, so this is no general unpickler: it runs only the opcodes such
 * payloads use, and REDUCE may only call the constructors the caller allows by name.
 * Anything else is refused with a `PickleError` that says what was found.
 *
 * The writer emits what CPython's pickler emits for the same objects, byte for byte, so
 * our payloads are indistinguishable from Python's own.
 */
import { PickleError } from '../errors/errors.js';

/** A reference to a Python global (`module.name`), as STACK_GLOBAL leaves it. */
export interface PyGlobal {
  readonly module: string;
  readonly name: string;
}

/** What the reader may leave on its stack. */
export type PickleValue = string | number | bigint | boolean | null | Uint8Array | PickleValue[] | PyGlobal | object;

/** Constructors REDUCE may call, by `module.name`; each gets the argument tuple. */
export type Constructors = ReadonlyMap<string, (args: PickleValue[]) => unknown>;

const MARK = Symbol('mark');

/*
 * What the largest datetime pickle needs (an aware datetime with a named timezone is
 * about 150 bytes, 8 values deep on the stack, 14 memo entries), with room to spare.
 * A payload past these is not a datetime, and refusing it bounds the reader's work.
 */
const MAX_PICKLE_BYTES = 512;
const MAX_STACK = 32;
const MAX_MEMO = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Runs a pickle with the allowed constructors and returns the object it builds. */
export function readPickle(data: Uint8Array, constructors: Constructors): unknown {
  if (data.byteLength > MAX_PICKLE_BYTES) {
    throw new PickleError(`pickle of ${data.byteLength} bytes refused: a datetime pickle is under ${MAX_PICKLE_BYTES}`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: Array<PickleValue | typeof MARK> = [];
  const memo: PickleValue[] = [];
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > data.byteLength) throw new PickleError(`pickle ends early at byte ${pos}`);
  };
  const bytes = (n: number) => (need(n), data.subarray(pos, (pos += n)));
  const u8 = () => (need(1), data[pos++]!);
  const pop = (): PickleValue => {
    const value = stack.pop();
    if (value === undefined || value === MARK) throw new PickleError('pickle stack underflow');
    return value;
  };
  const popTuple = (n: number): PickleValue[] => {
    if (stack.length < n) throw new PickleError('pickle stack underflow');
    const items = stack.splice(stack.length - n, n);
    if (items.includes(MARK)) throw new PickleError('pickle tuple crosses a mark');
    return items as PickleValue[];
  };
  const text = (n: number) => {
    try {
      return utf8.decode(bytes(n));
    } catch (cause) {
      throw new PickleError('pickle string is not valid UTF-8', { cause });
    }
  };

  for (;;) {
    if (stack.length > MAX_STACK) throw new PickleError(`pickle stack deeper than ${MAX_STACK}: not a datetime`);
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw new PickleError('pickle protocol above 5');
        break;
      case 0x95: // FRAME: a length prefix only; the payload follows inline.
        bytes(8);
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x58: // BINUNICODE
        need(4);
        stack.push(text(view.getUint32((pos += 4) - 4, true)));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).slice());
        break;
      case 0x42: // BINBYTES
        need(4);
        stack.push(bytes(view.getUint32((pos += 4) - 4, true)).slice());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(view.getUint16((pos += 2) - 2, true));
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32((pos += 4) - 4, true));
        break;
      case 0x8a: // LONG1: little-endian two's complement
        stack.push(readLong(bytes(u8())));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
      case 0x89: // NEWFALSE
        stack.push(op === 0x88);
        break;
      case 0x94: // MEMOIZE
        if (stack.length === 0 || stack[stack.length - 1] === MARK) throw new PickleError('MEMOIZE on an empty stack');
        if (memo.length >= MAX_MEMO) throw new PickleError(`pickle memo larger than ${MAX_MEMO}: not a datetime`);
        memo.push(stack[stack.length - 1] as PickleValue);
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        let index: number;
        if (op === 0x68) index = u8();
        else (need(4), (index = view.getUint32((pos += 4) - 4, true)));
        if (index >= memo.length) throw new PickleError(`pickle memo has no entry ${index}`);
        stack.push(memo[index]!);
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new PickleError('STACK_GLOBAL needs two strings');
        if (!constructors.has(`${module}.${name}`)) throw new PickleError(`pickle refers to ${module}.${name}, which is not allowed here`);
        stack.push({ module, name } satisfies PyGlobal);
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: // TUPLE3
        stack.push(popTuple(op - 0x84));
        break;
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x74: { // TUPLE (to the last mark)
        const mark = stack.lastIndexOf(MARK);
        if (mark === -1) throw new PickleError('TUPLE without a MARK');
        stack.push(stack.splice(mark).slice(1) as PickleValue[]);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!Array.isArray(args) || !isGlobal(callable)) throw new PickleError('REDUCE needs a global and an argument tuple');
        const construct = constructors.get(`${callable.module}.${callable.name}`)!;
        stack.push(construct(args) as PickleValue);
        break;
      }
      case 0x2e: // STOP
        if (stack.length !== 1 || pos !== data.byteLength) throw new PickleError('pickle does not end with exactly one object');
        return stack[0];
      default:
        throw new PickleError(`pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at} is not allowed here`);
    }
  }
}

function isGlobal(value: PickleValue | undefined): value is PyGlobal {
  return typeof value === 'object' && value !== null && 'module' in value && 'name' in value && !Array.isArray(value);
}

function readLong(data: Uint8Array): number | bigint {
  if (data.byteLength === 0) return 0;
  let value = 0n;
  for (let i = data.byteLength - 1; i >= 0; i--) value = (value << 8n) | BigInt(data[i]!);
  if (data[data.byteLength - 1]! & 0x80) value -= 1n << BigInt(8 * data.byteLength);
  return Number.isSafeInteger(Number(value)) ? Number(value) : value;
}

/** A Python call to write: `module.name(*args)`. */
export interface PyCall {
  readonly module: string;
  readonly name: string;
  readonly args: readonly PickleArg[];
}

/** What a call's arguments may be. */
export type PickleArg = number | string | Uint8Array | PyCall;

/** Writes `call` as CPython 3.11's pickler would at protocol 5. */
export function writePickle(call: PyCall): Uint8Array {
  const body = new PickleWriter();
  body.call(call);
  body.op(0x2e);
  const payload = body.bytes();
  const out = new Uint8Array(11 + payload.byteLength);
  out[0] = 0x80;
  out[1] = 5;
  out[2] = 0x95;
  new DataView(out.buffer).setBigUint64(3, BigInt(payload.byteLength), true);
  out.set(payload, 11);
  return out;
}

class PickleWriter {
  #chunks: number[] = [];
  #memoSize = 0;
  /** Module names already written, by memo index; CPython reuses them with BINGET. */
  #modules = new Map<string, number>();
  readonly #utf8 = new TextEncoder();

  op(...bytes: number[]): void {
    for (const b of bytes) this.#chunks.push(b);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.#chunks);
  }

  #memoize(): number {
    this.op(0x94);
    return this.#memoSize++;
  }

  #string(value: string): void {
    const encoded = this.#utf8.encode(value);
    if (encoded.byteLength < 256) this.op(0x8c, encoded.byteLength);
    else this.op(0x58, ...u32(encoded.byteLength));
    this.op(...encoded);
    this.#memoize();
  }

  #global(module: string, name: string): void {
    const memo = this.#modules.get(module);
    if (memo === undefined) {
      this.#string(module);
      this.#modules.set(module, this.#memoSize - 1);
    } else {
      this.op(0x68, memo);
    }
    this.#string(name);
    this.op(0x93);
    this.#memoize();
  }

  #arg(value: PickleArg): void {
    if (typeof value === 'number') this.#int(value);
    else if (typeof value === 'string') this.#string(value);
    else if (value instanceof Uint8Array) {
      if (value.byteLength < 256) this.op(0x43, value.byteLength);
      else this.op(0x42, ...u32(value.byteLength));
      this.op(...value);
      this.#memoize();
    } else this.call(value);
  }

  #int(value: number): void {
    if (!Number.isInteger(value)) throw new PickleError(`cannot pickle ${value}: only integers are written`);
    if (value >= 0 && value <= 0xff) this.op(0x4b, value);
    else if (value >= 0 && value <= 0xffff) this.op(0x4d, value & 0xff, value >> 8);
    else if (value >= -0x80000000 && value <= 0x7fffffff) this.op(0x4a, ...u32(value >>> 0));
    else throw new PickleError(`cannot pickle ${value}: outside 32 bits`);
  }

  call({ module, name, args }: PyCall): void {
    this.#global(module, name);
    for (const arg of args) this.#arg(arg);
    if (args.length === 0) this.op(0x29);
    else if (args.length <= 3) this.op(0x84 + args.length);
    else throw new PickleError('cannot pickle a call with more than three arguments');
    if (args.length > 0) this.#memoize();
    this.op(0x52);
    this.#memoize();
  }
}

function u32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}
