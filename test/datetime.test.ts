import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PickleError, PyDate, PyDateTime, PyTime, PyTimedelta, PyTimezone, createPacker } from 'zrpc';
import { readPickle, writePickle } from '../src/runtime/wire/pickle.js';

const packer = createPacker(undefined);
const ext = (code: number, payload: Uint8Array) => {
  const head = Buffer.from([0xc7, payload.byteLength, code]);
  return Buffer.concat([head, payload]);
};

describe('date/time translators', () => {
  it('round-trip every class exactly, microseconds and zones included', () => {
    const values = [
      new PyDateTime(1, 1, 1, 0, 0, 0, 0),
      new PyDateTime(9999, 12, 31, 23, 59, 59, 999_999, PyTimezone.ofMinutes(-719)),
      new PyDateTime(2021, 11, 7, 1, 30, 0, 5, null, 1),
      new PyDate(2000, 2, 29),
      new PyTime(0, 0),
      new PyTime(23, 59, 59, 999_999, PyTimezone.ofMinutes(60, 'CET'), 1),
      new PyTimedelta(999_999_999, 86_399, 999_999),
      new PyTimedelta(-999_999_999),
      PyTimezone.ofMinutes(23 * 60 + 59),
    ];
    for (const value of values) {
      const back = packer.decode(packer.encode(value));
      assert.deepEqual(back, value, String(value));
      if (value instanceof Date) assert.equal((back as Date).getTime(), value.getTime());
    }
  });

  it('sends a plain Date as an aware UTC datetime, to the millisecond', () => {
    const back = packer.decode(packer.encode(new Date('2024-05-06T07:08:09.123Z'))) as PyDateTime;
    assert.equal(back.toISOString(), '2024-05-06T07:08:09.123Z');
    assert.equal(back.microsecond, 123_000);
    assert.ok(back.tzinfo?.equals(PyTimezone.utc));
    assert.throws(() => packer.encode(new Date(NaN)), /invalid Date/);
  });

  it('normalises timedeltas as Python does and refuses out-of-range values', () => {
    const td = new PyTimedelta(0, -1);
    assert.deepEqual([td.days, td.seconds, td.microseconds], [-1, 86_399, 0]);
    assert.equal(PyTimedelta.fromMilliseconds(1500.5).totalMicroseconds, 1_500_500n);
    assert.throws(() => new PyTimedelta(1_000_000_000), /out of Python's range/);
    assert.throws(() => new PyDate(2023, 2, 29), /day 29 is out of range/);
    assert.throws(() => new PyTime(24, 0), /out of range/);
    assert.throws(() => PyTimezone.ofMinutes(24 * 60), /strictly between/);
  });

  it('refuses pickles that call anything but the datetime classes', () => {
    // pickle.dumps(os.system) style payload: STACK_GLOBAL of posix.system, then REDUCE.
    const evil = writePickle({ module: 'posix', name: 'system', args: ['echo pwned'] });
    assert.throws(() => packer.decode(ext(126, evil)), (e: unknown) => e instanceof Error && /posix\.system, which is not allowed/.test(e.message));
    // The old text GLOBAL opcode ('c') is not one of ours either.
    const globalOp = Buffer.from('80028c086461746574696d6563', 'hex');
    assert.throws(() => readPickle(globalOp, new Map([['datetime.date', () => 1]])), /opcode 0x63/);
    // A datetime payload in the date slot is refused, not returned as the wrong class.
    const datetimeBytes = packer.encode(new PyDateTime(2024, 1, 1)).subarray(3);
    assert.throws(() => packer.decode(ext(127, datetimeBytes)), (e: unknown) => e instanceof PickleError && /holds something else/.test((e as Error).message));
    // Truncated, trailing and stack-underflow payloads.
    const good = packer.encode(new PyDate(2024, 1, 1)).subarray(3);
    assert.throws(() => packer.decode(ext(127, good.subarray(0, good.byteLength - 3))), /ends early|underflow|not allowed/);
    assert.throws(() => packer.decode(ext(127, Buffer.concat([good, Buffer.from([0x2e])]))), /exactly one object/);
    assert.throws(() => readPickle(Buffer.from('52', 'hex'), new Map()), /underflow/);
  });

  it('refuses a tzinfo that is not a fixed offset', () => {
    const zoneinfo = writePickle({ module: 'datetime', name: 'datetime', args: [Uint8Array.of(7, 232, 1, 1, 0, 0, 0, 0, 0, 0), { module: 'zoneinfo', name: 'ZoneInfo', args: ['Europe/Paris'] }] });
    assert.throws(() => packer.decode(ext(126, zoneinfo)), /zoneinfo\.ZoneInfo, which is not allowed/);
  });
});
