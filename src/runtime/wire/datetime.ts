/**
 * Python's `datetime` values in JavaScript, and the predefined translators that carry
 * them on aiozmq's reserved ext codes 123..127 as protocol-5 pickles (WIRE.md).
 *
 * - `datetime.datetime` ↔ `Date`. What arrives is a `PyDateTime`, a `Date` that also
 *   keeps the microseconds, the time zone and `fold`, so it goes back exactly as it came.
 *   A naive Python datetime is taken as UTC (its `tzinfo` is `null`). A plain `Date` is
 *   sent as an aware UTC datetime.
 * - `datetime.date`, `time`, `timedelta`, `timezone` ↔ `PyDate`, `PyTime`,
 *   `PyTimedelta`, `PyTimezone`: small immutable value classes that round-trip exactly.
 */
import type { Translator } from './packer.js';
import { PickleError } from '../errors/errors.js';
import { readPickle, writePickle, type PickleValue, type PyCall } from './pickle.js';

const US_PER_DAY = 86_400_000_000n;

/** `datetime.timedelta`: normalised as Python does, `0 <= seconds < 86400`, `0 <= microseconds < 10**6`. */
export class PyTimedelta {
  readonly days: number;
  readonly seconds: number;
  readonly microseconds: number;

  constructor(days = 0, seconds = 0, microseconds = 0) {
    for (const [name, v] of [['days', days], ['seconds', seconds], ['microseconds', microseconds]] as const) {
      if (!Number.isInteger(v)) throw new RangeError(`timedelta ${name} must be an integer, got ${v}`);
    }
    const total = BigInt(days) * US_PER_DAY + BigInt(seconds) * 1_000_000n + BigInt(microseconds);
    let d = total / US_PER_DAY;
    let rest = total % US_PER_DAY;
    if (rest < 0n) (rest += US_PER_DAY), d--;
    if (d < -999_999_999n || d > 999_999_999n) throw new RangeError(`timedelta of ${d} days is out of Python's range`);
    this.days = Number(d);
    this.seconds = Number(rest / 1_000_000n);
    this.microseconds = Number(rest % 1_000_000n);
  }

  static fromMilliseconds(ms: number): PyTimedelta {
    return new PyTimedelta(0, 0, Math.round(ms * 1000));
  }

  /** The whole duration in microseconds, exact. */
  get totalMicroseconds(): bigint {
    return BigInt(this.days) * US_PER_DAY + BigInt(this.seconds) * 1_000_000n + BigInt(this.microseconds);
  }

  /** The duration in milliseconds (fractional; exact below about 285 years). */
  get totalMilliseconds(): number {
    return Number(this.totalMicroseconds) / 1000;
  }

  equals(other: unknown): boolean {
    return other instanceof PyTimedelta && other.totalMicroseconds === this.totalMicroseconds;
  }

  toString(): string {
    return `timedelta(days=${this.days}, seconds=${this.seconds}, microseconds=${this.microseconds})`;
  }
}

/** `datetime.timezone`: a fixed offset from UTC, strictly between -24 h and +24 h. */
export class PyTimezone {
  static readonly utc = new PyTimezone(new PyTimedelta());
  readonly offset: PyTimedelta;
  /** The name given to Python's `timezone(offset, name)`, if any. */
  readonly name: string | undefined;

  constructor(offset: PyTimedelta, name?: string) {
    const us = offset.totalMicroseconds;
    if (us <= -US_PER_DAY || us >= US_PER_DAY) throw new RangeError('timezone offset must be strictly between -24 and 24 hours');
    this.offset = offset;
    this.name = name;
  }

  /** A zone `minutes` east of UTC: `PyTimezone.ofMinutes(330)` is UTC+05:30. */
  static ofMinutes(minutes: number, name?: string): PyTimezone {
    return new PyTimezone(new PyTimedelta(0, minutes * 60), name);
  }

  get offsetMilliseconds(): number {
    return this.offset.totalMilliseconds;
  }

  equals(other: unknown): boolean {
    return other instanceof PyTimezone && this.offset.equals(other.offset) && this.name === other.name;
  }

  toString(): string {
    if (this.name !== undefined) return this.name;
    const total = this.offsetMilliseconds / 60_000;
    if (total === 0) return 'UTC';
    const sign = total < 0 ? '-' : '+';
    const abs = Math.abs(total);
    return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  }
}

/** `datetime.date`. */
export class PyDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;

  constructor(year: number, month: number, day: number) {
    checkDate(year, month, day);
    this.year = year;
    this.month = month;
    this.day = day;
  }

  /** The calendar day of `date` in UTC. */
  static fromDate(date: Date): PyDate {
    return new PyDate(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate());
  }

  /** Midnight UTC of this day. */
  toDate(): Date {
    return utcDate(this.year, this.month, this.day, 0, 0, 0, 0);
  }

  equals(other: unknown): boolean {
    return other instanceof PyDate && other.year === this.year && other.month === this.month && other.day === this.day;
  }

  toString(): string {
    return `${pad(this.year, 4)}-${pad(this.month)}-${pad(this.day)}`;
  }
}

/** `datetime.time`: a time of day, optionally in a zone. */
export class PyTime {
  constructor(
    readonly hour: number,
    readonly minute: number,
    readonly second = 0,
    readonly microsecond = 0,
    readonly tzinfo: PyTimezone | null = null,
    readonly fold: 0 | 1 = 0,
  ) {
    checkTime(hour, minute, second, microsecond);
  }

  equals(other: unknown): boolean {
    return (
      other instanceof PyTime &&
      other.hour === this.hour &&
      other.minute === this.minute &&
      other.second === this.second &&
      other.microsecond === this.microsecond &&
      other.fold === this.fold &&
      (other.tzinfo === this.tzinfo || (!!other.tzinfo && other.tzinfo.equals(this.tzinfo)))
    );
  }

  toString(): string {
    const us = this.microsecond ? `.${pad(this.microsecond, 6)}` : '';
    return `${pad(this.hour)}:${pad(this.minute)}:${pad(this.second)}${us}${this.tzinfo ? ` ${this.tzinfo}` : ''}`;
  }
}

/**
 * A `Date` that came from a Python `datetime` and keeps what a `Date` cannot: the
 * microseconds, the zone it was written in (`null`: naive, taken as UTC) and `fold`.
 */
export class PyDateTime extends Date {
  /** 0..999999; the `Date` itself holds the milliseconds. */
  readonly microsecond: number;
  readonly tzinfo: PyTimezone | null;
  readonly fold: 0 | 1;

  constructor(
    year: number,
    month: number,
    day: number,
    hour = 0,
    minute = 0,
    second = 0,
    microsecond = 0,
    tzinfo: PyTimezone | null = null,
    fold: 0 | 1 = 0,
  ) {
    checkDate(year, month, day);
    checkTime(hour, minute, second, microsecond);
    const wall = utcDate(year, month, day, hour, minute, second, Math.floor(microsecond / 1000)).getTime();
    super(wall - (tzinfo ? tzinfo.offsetMilliseconds : 0));
    this.microsecond = microsecond;
    this.tzinfo = tzinfo;
    this.fold = fold;
  }

  /** The wall-clock fields as Python holds them (in `tzinfo`, or UTC when naive). */
  wallClock(): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
    return wallClockOf(new Date(this.getTime() + (this.tzinfo ? this.tzinfo.offsetMilliseconds : 0)));
  }
}

function wallClockOf(date: Date) {
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
  };
}

function utcDate(year: number, month: number, day: number, h: number, m: number, s: number, ms: number): Date {
  const date = new Date(Date.UTC(2000, month - 1, day, h, m, s, ms));
  date.setUTCFullYear(year); // Date.UTC maps years 0..99 to 1900..1999
  return date;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

function checkDate(year: number, month: number, day: number): void {
  if (!Number.isInteger(year) || year < 1 || year > 9999) throw new RangeError(`year ${year} is out of Python's range 1..9999`);
  if (!Number.isInteger(month) || month < 1 || month > 12) throw new RangeError(`month ${month} must be in 1..12`);
  const days = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
  if (!Number.isInteger(day) || day < 1 || day > days) throw new RangeError(`day ${day} is out of range for ${year}-${pad(month)}`);
}

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function checkTime(hour: number, minute: number, second: number, microsecond: number): void {
  const ok = (v: number, max: number) => Number.isInteger(v) && v >= 0 && v <= max;
  if (!ok(hour, 23) || !ok(minute, 59) || !ok(second, 59) || !ok(microsecond, 999_999)) {
    throw new RangeError(`time ${hour}:${minute}:${second}.${microsecond} is out of range`);
  }
}

// ── pickling ───────────────────────────────────────────────────────────────────────

const call = (name: string, ...args: PyCall['args']): PyCall => ({ module: 'datetime', name, args });

function timedeltaCall(td: PyTimedelta): PyCall {
  return call('timedelta', td.days, td.seconds, td.microseconds);
}

function timezoneCall(tz: PyTimezone): PyCall {
  return tz.name === undefined ? call('timezone', timedeltaCall(tz.offset)) : call('timezone', timedeltaCall(tz.offset), tz.name);
}

function withZone(name: string, state: Uint8Array, tz: PyTimezone | null): PyCall {
  return tz ? call(name, state, timezoneCall(tz)) : call(name, state);
}

function datetimeState(year: number, month: number, day: number, h: number, m: number, s: number, us: number, fold: number): Uint8Array {
  return Uint8Array.of(year >> 8, year & 0xff, month + (fold ? 128 : 0), day, h, m, s, us >> 16, (us >> 8) & 0xff, us & 0xff);
}

function packDatetime(value: Date): Uint8Array {
  if (Number.isNaN(value.getTime())) throw new RangeError('cannot send an invalid Date');
  if (value instanceof PyDateTime) {
    const w = value.wallClock();
    const state = datetimeState(w.year, w.month, w.day, w.hour, w.minute, w.second, value.microsecond, value.fold);
    return writePickle(withZone('datetime', state, value.tzinfo));
  }
  const w = wallClockOf(value);
  const state = datetimeState(w.year, w.month, w.day, w.hour, w.minute, w.second, value.getUTCMilliseconds() * 1000, 0);
  return writePickle(withZone('datetime', state, PyTimezone.utc));
}

// ── unpickling ─────────────────────────────────────────────────────────────────────

function stateOf(args: PickleValue[], what: string, size: number): Uint8Array {
  const state = args[0];
  if (!(state instanceof Uint8Array) || state.byteLength !== size || args.length > 2) {
    throw new PickleError(`${what} pickle has an unexpected state`);
  }
  return state;
}

function zoneOf(args: PickleValue[], what: string): PyTimezone | null {
  const tz = args[1];
  if (tz === undefined || tz === null) return null;
  if (!(tz instanceof PyTimezone)) {
    throw new PickleError(`${what} has a tzinfo other than datetime.timezone; only fixed offsets are supported`);
  }
  return tz;
}

function ints(args: PickleValue[], what: string): number[] {
  if (!args.every((a) => typeof a === 'number')) throw new PickleError(`${what} pickle arguments must be integers`);
  return args as number[];
}

const constructors = new Map<string, (args: PickleValue[]) => unknown>([
  ['datetime.timedelta', (args) => new PyTimedelta(...(ints(args, 'timedelta') as [number, number, number]))],
  [
    'datetime.timezone',
    (args) => {
      const [offset, name] = args;
      if (!(offset instanceof PyTimedelta) || (name !== undefined && typeof name !== 'string') || args.length > 2) {
        throw new PickleError('timezone pickle has unexpected arguments');
      }
      return new PyTimezone(offset, name);
    },
  ],
  [
    'datetime.date',
    (args) => {
      const s = stateOf(args, 'date', 4);
      return new PyDate((s[0]! << 8) | s[1]!, s[2]!, s[3]!);
    },
  ],
  [
    'datetime.time',
    (args) => {
      const s = stateOf(args, 'time', 6);
      return new PyTime(s[0]! & 0x7f, s[1]!, s[2]!, (s[3]! << 16) | (s[4]! << 8) | s[5]!, zoneOf(args, 'time'), s[0]! & 0x80 ? 1 : 0);
    },
  ],
  [
    'datetime.datetime',
    (args) => {
      const s = stateOf(args, 'datetime', 10);
      const us = (s[7]! << 16) | (s[8]! << 8) | s[9]!;
      return new PyDateTime((s[0]! << 8) | s[1]!, s[2]! & 0x7f, s[3]!, s[4]!, s[5]!, s[6]!, us, zoneOf(args, 'datetime'), s[2]! & 0x80 ? 1 : 0);
    },
  ],
]);

function unpickle<T>(cls: abstract new (...args: never[]) => T, what: string) {
  return (data: Uint8Array): T => {
    const value = readPickle(data, constructors);
    if (!(value instanceof cls)) throw new PickleError(`ext payload for ${what} holds something else`);
    return value;
  };
}

/** aiozmq's predefined translators, by the codes it reserves for them. */
export const datetimeTranslators: ReadonlyMap<number, Translator> = new Map<number, Translator>([
  [123, [PyTimezone, (tz: PyTimezone) => writePickle(timezoneCall(tz)), unpickle(PyTimezone, 'datetime.tzinfo')]],
  [124, [PyTimedelta, (td: PyTimedelta) => writePickle(timedeltaCall(td)), unpickle(PyTimedelta, 'datetime.timedelta')]],
  [
    125,
    [
      PyTime,
      (t: PyTime) => {
        const state = Uint8Array.of(t.hour + (t.fold ? 128 : 0), t.minute, t.second, t.microsecond >> 16, (t.microsecond >> 8) & 0xff, t.microsecond & 0xff);
        return writePickle(withZone('time', state, t.tzinfo));
      },
      unpickle(PyTime, 'datetime.time'),
    ],
  ],
  [126, [Date, packDatetime, unpickle(PyDateTime, 'datetime.datetime')]],
  [127, [PyDate, (d: PyDate) => writePickle(call('date', Uint8Array.of(d.year >> 8, d.year & 0xff, d.month, d.day))), unpickle(PyDate, 'datetime.date')]],
]);
