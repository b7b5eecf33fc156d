import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { AttrHandler, NotFoundError, ParameterError, ReturnValueError, method } from 'zrpc';
import { resolveMethod } from '../src/runtime/handlers/handler.js';
import { bindArguments, checkReturn, parseParams, signatureOf } from '../src/runtime/handlers/binding.js';

function bind(fn: (...args: never[]) => unknown, args: unknown[], kw?: Record<string, unknown>, spec = {}) {
  const marked = method(fn as (...args: unknown[]) => unknown, spec);
  return bindArguments(signatureOf(marked, spec), 'f', args, kw);
}

describe('handlers', () => {
  it('finds only marked methods, through namespaces', () => {
    class Api extends AttrHandler {
      @method hello() { return 'hi'; }
      plain() { return 'no'; }
      ns = { deep: { fn: method(() => 1) }, raw: () => 2 };
    }
    const api = new Api();
    assert.equal(resolveMethod(api, 'hello').fn.call(api), 'hi');
    assert.equal(resolveMethod(api, 'ns.deep.fn').fn(), 1);
    for (const name of ['plain', 'ns.raw', 'ns', 'ns.deep', 'toString', 'constructor', 'hello.call', '__proto__.hello', 'ns..fn', '.hello']) {
      assert.throws(() => resolveMethod(api, name), NotFoundError, name);
    }
  });

  it('refuses @method on static or private members', () => {
    assert.throws(() => {
      class Bad extends AttrHandler {
        @method static s() {}
      }
      return Bad;
    }, /only public instance methods/);
  });

  it('reads parameter names, defaults and rest from the source', () => {
    assert.deepEqual(parseParams(function (a: number, b = 'x,y', c = { d: [1, 2] }) { return [a, b, c]; }), {
      params: [{ name: 'a', optional: false }, { name: 'b', optional: true }, { name: 'c', optional: true }],
      rest: undefined,
    });
    assert.deepEqual(parseParams((x: number, ...more: number[]) => [x, more]).rest, { name: 'more' });
    assert.deepEqual(parseParams(async (v: unknown) => v).params, [{ name: 'v', optional: false }]);
    assert.deepEqual(parseParams(({ a }: { a: number }, [b]: number[]) => a + b!).params, [
      { name: '', optional: false },
      { name: '', optional: false },
    ]);
  });

  it('binds like Python: positional, named, defaults, rest', () => {
    assert.deepEqual(bind((a: number, b = 2) => a + b, [1]), [1, undefined]);
    assert.deepEqual(bind((a: number, b: number) => a + b, [], { b: 2, a: 1 }), [1, 2]);
    assert.deepEqual(bind((a: number, ...rest: number[]) => [a, ...rest], [1, 2, 3]), [1, 2, 3]);
    assert.throws(() => bind((a: number, ...rest: number[]) => [a, ...rest], [], { rest: [1] }), /unexpected keyword argument 'rest'/);
    assert.throws(() => bind((a: number) => a, []), /missing a required argument: 'a'/);
  });

  it('validates arguments with TypeBox and names parameter, path and expectation', () => {
    const spec = {
      params: [
        { name: 'id', schema: Type.String({ minLength: 2 }) },
        { name: 'items', schema: Type.Array(Type.Object({ qty: Type.Integer({ minimum: 1 }) })) },
        { name: 'note', schema: Type.String(), optional: true },
      ],
      returns: Type.Number(),
    };
    const fn = (_id: string, _items: unknown[], _note?: string) => 1;
    assert.deepEqual(bind(fn, ['ab', [{ qty: 1 }]], undefined, spec), ['ab', [{ qty: 1 }], undefined]);
    assert.throws(() => bind(fn, ['ab', [{ qty: 1 }, { qty: 0 }]], undefined, spec), (e: unknown) => {
      assert.ok(e instanceof ParameterError);
      assert.match(e.message, /^f: parameter "items" at \/1\/qty: .*1.* \(got 0\)$/);
      return true;
    });
    assert.throws(() => bind(fn, [7, []], undefined, spec), /parameter "id" must be string \(got 7\)/);
    assert.throws(() => bind(fn, ['ab', [], 5], undefined, spec), /parameter "note" must be string/);
    const sig = signatureOf(method(fn, spec), spec);
    assert.throws(() => checkReturn(sig, 'f', 'x'), (e: unknown) => e instanceof ReturnValueError && /return value must be number \(got "x"\)/.test(e.message));
  });

  it('names the values a union of literals takes (TypeBox says only "must be equal to constant")', () => {
    const currency = Type.Union([Type.Literal('EUR'), Type.Literal('USD'), Type.Literal(0)]);
    const many = Type.Union(Array.from({ length: 12 }, (_, i) => Type.Literal(i)));
    const spec = { params: [{ name: 'cur', schema: currency }, { name: 'order', schema: Type.Object({ cur: currency }) }, { name: 'n', schema: many, optional: true }] };
    const fn = (_cur: string, _order: object, _n?: number) => 1;
    assert.throws(() => bind(fn, ['GBP', { cur: 'EUR' }], undefined, spec), /^ParameterError: f: parameter "cur" must be one of "EUR", "USD", 0 \(got "GBP"\)$/);
    assert.throws(() => bind(fn, ['EUR', { cur: 'eur' }], undefined, spec), /parameter "order" at \/cur: must be one of "EUR", "USD", 0 \(got "eur"\)$/);
    assert.throws(() => bind(fn, ['EUR', { cur: 'EUR' }, 99], undefined, spec), /must be one of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, \.\.\. \(12 in all\) \(got 99\)$/);
    const optional = { params: [{ name: 'cur', schema: Type.Union([Type.Literal('EUR'), Type.Null()]) }] };
    assert.throws(() => bind((_cur: string | null) => 1, ['GBP'], undefined, optional), /parameter "cur" must be one of "EUR", null \(got "GBP"\)$/);
  });
});
