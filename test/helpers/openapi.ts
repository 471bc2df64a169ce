/** Validation against the official OAS 3.1 JSON Schema (@seriousme/openapi-schema-validator). */
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';

export async function assertValidOpenApi31(document: Record<string, unknown>): Promise<void> {
  const validator = new Validator();
  const result = await validator.validate(document);
  assert.equal(validator.version, '3.1');
  assert.deepEqual(result.errors, undefined, JSON.stringify(result.errors, null, 2));
  assert.equal(result.valid, true);
}
