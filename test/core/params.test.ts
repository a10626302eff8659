/** Params as JSON Schema: conf errors name the path of each bad value; a default must satisfy its own schema. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DagDefinitionError, InvalidArgument } from '../../src/core/errors.ts';
import { validateParamValue } from '../../src/core/params.ts';
import { validateConf } from '../../src/services/triggerRun.ts';
import { dag } from '../../src/index.ts';

describe('params', () => {
  test('type, enum and extra keywords, with JSON paths into arrays and objects', () => {
    assert.deepEqual(validateParamValue('conf.n', 3, { type: 'integer', enum: null }), []);
    assert.deepEqual(validateParamValue('conf.n', 'x', { type: 'integer', enum: null }), ['conf.n: must be integer']);
    assert.deepEqual(validateParamValue('conf.ids', [1, 0], { type: 'array', enum: null, schema: { items: { type: 'integer', minimum: 1 } } }), ['conf.ids[1]: must be >= 1']);
    assert.deepEqual(validateParamValue('conf.o', { a: { 'b-c': 'x' } }, { type: 'object', enum: null, schema: { properties: { a: { type: 'object', properties: { 'b-c': { type: 'number' } } } } } }), [
      'conf.o.a["b-c"]: must be number',
    ]);
    assert.deepEqual(validateParamValue('conf.m', 'x', { type: 'any', enum: ['a', 1] }), ['conf.m: must be equal to one of the allowed values: "a", 1']);
  });

  test('validateConf: required params, every problem listed, undeclared keys pass', () => {
    const d = dag({ dagId: 'p', params: { size: { type: 'integer', minimum: 1 }, name: { default: 'x', minLength: 1 } } }).serialize('/x.ts');
    assert.doesNotThrow(() => validateConf(d, { size: 2, extra: [1] }));
    assert.throws(() => validateConf(d, { name: '' }), (err: unknown) => {
      assert.ok(err instanceof InvalidArgument);
      assert.match(err.message, /conf\.size: is required by DAG 'p'/);
      assert.match(err.message, /conf\.name: must NOT have fewer than 1 characters/);
      return true;
    });
  });

  test('a default that violates its own schema, or an invalid schema, is a DAG definition error', () => {
    assert.throws(() => dag({ dagId: 'bad_default', params: { n: { default: 0, type: 'integer', minimum: 1 } } }), (err: unknown) => {
      assert.ok(err instanceof DagDefinitionError);
      assert.match(err.message, /DAG 'bad_default': the default of param 'n' violates its own schema: params\.n: must be >= 1/);
      return true;
    });
    assert.throws(() => dag({ dagId: 'bad_schema', params: { s: { default: 'a', pattern: '(' } } }), /param 's' has an invalid schema/);
    assert.throws(() => dag({ dagId: 'bad_null', params: { s: { default: null, type: 'string' } } }), /params\.s: must be string/);
  });

  test('keywords are kept in the serialized DAG only when given', () => {
    const d = dag({ dagId: 'ser', params: { a: 1, b: { default: 'x', maxLength: 3 } } }).serialize('/x.ts');
    assert.equal(d.params.a?.schema, undefined);
    assert.deepEqual(d.params.b?.schema, { maxLength: 3 });
  });
});
