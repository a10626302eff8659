/**
 * Variables (Airflow 3's `/variables`): list, create, get, patch, delete. The value of a variable whose key
 * looks secret (`isSecretName`: password, secret, api_key, …) is answered as `***`, and secret-named fields
 * inside a JSON value are masked; sending `***` back as the value of such a key keeps the stored one.
 */
import { z } from '@hono/zod-openapi';
import { NotFound } from '../../../../../core/index.ts';
import { MAX_VARIABLE_KEY_LENGTH, type Variable, VARIABLE_SORT_FIELDS } from '../../../../../store/index.ts';
import { can } from '../../access.ts';
import { orderByQuery, pageQuery, searchQuery } from '../../input.ts';
import { defineRoute } from '../../route.ts';
import { pageOf } from '../../schemas/common.ts';
import { iso } from './common.ts';
import { adminDeps } from './deps.ts';
import { redactVariableValue, variableValueToStore } from './redaction.ts';

const TAGS = ['Variable'];

/** Largest value accepted (the request body limit, api.maxBodyBytes, applies too). */
const MAX_VALUE_LENGTH = 1024 * 1024;

const VariableKeyParam = z
  .string()
  .regex(/^[^\p{Cc}]{1,250}$/u, `must be 1-${MAX_VARIABLE_KEY_LENGTH} characters without control characters`)
  .openapi({ description: 'variable key', example: 's3_bucket' });

const VariableSchema = z
  .object({
    key: z.string(),
    value: z.string().openapi({ description: '`***` for a secret-named key; secret-named JSON fields masked' }),
    description: z.string().nullable(),
    isEncrypted: z.boolean(),
    updatedAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Variable');

const NewVariableBody = z
  .object({ key: z.string().min(1).max(MAX_VARIABLE_KEY_LENGTH), value: z.string().max(MAX_VALUE_LENGTH), description: z.string().max(5000).nullable().optional() })
  .strict()
  .openapi('VariableCreate');
const PatchVariableBody = z
  .object({ value: z.string().max(MAX_VALUE_LENGTH).optional(), description: z.string().max(5000).nullable().optional() })
  .strict()
  .openapi('VariablePatch');

function variableView(v: Variable): z.input<typeof VariableSchema> {
  return { key: v.key, value: redactVariableValue(v.key, v.value), description: v.description, isEncrypted: v.isEncrypted, updatedAt: iso(v.updatedAt) ?? '' };
}

export const listVariables = defineRoute({
  method: 'get',
  path: '/variables',
  operationId: 'listVariables',
  tags: TAGS,
  summary: 'List variables',
  access: can('variable', 'read'),
  query: { ...pageQuery(), orderBy: orderByQuery(VARIABLE_SORT_FIELDS, 'key'), variableKeyPattern: searchQuery('case-insensitive substring of the key') },
  response: { schema: pageOf('variables', VariableSchema) },
  handler: async (_c, { query: q }, d) => {
    const page = await adminDeps(d).variables.page({ limit: q.limit, offset: q.offset, sort: { by: q.orderBy.field, descending: q.orderBy.descending }, ...(q.variableKeyPattern === undefined ? {} : { search: q.variableKeyPattern }) });
    return { variables: page.items.map(variableView), totalEntries: page.total };
  },
});

export const createVariable = defineRoute({
  method: 'post',
  path: '/variables',
  operationId: 'createVariable',
  tags: TAGS,
  summary: 'Create a variable',
  description: 'Stores a new variable (encrypted when its key looks secret); 409 when the key exists (change it with PATCH).',
  access: can('variable', 'create', 'variable.create'),
  body: NewVariableBody,
  response: { status: 201, schema: VariableSchema },
  handler: async (c, { body }, d) => {
    const vars = adminDeps(d).variables;
    const saved = await vars.create(body.key, body.value, body.description === undefined ? {} : { description: body.description });
    c.set('auditTarget', { details: { key: body.key } });
    return variableView(saved);
  },
});

export const getVariable = defineRoute({
  method: 'get',
  path: '/variables/{variableKey}',
  operationId: 'getVariable',
  tags: TAGS,
  summary: 'One variable',
  access: can('variable', 'read'),
  params: { variableKey: VariableKeyParam },
  response: { schema: VariableSchema },
  handler: async (_c, { params }, d) => {
    const v = await adminDeps(d).variables.getVariable(params.variableKey);
    if (!v) throw new NotFound(`variable '${params.variableKey}' does not exist`);
    return variableView(v);
  },
});

export const patchVariable = defineRoute({
  method: 'patch',
  path: '/variables/{variableKey}',
  operationId: 'patchVariable',
  tags: TAGS,
  summary: 'Change a variable',
  description: 'Changes the value and/or description given; `***` as the value of a secret-named key keeps the stored value.',
  access: can('variable', 'edit', 'variable.patch'),
  params: { variableKey: VariableKeyParam },
  body: PatchVariableBody,
  response: { schema: VariableSchema },
  handler: async (c, { params, body }, d) => {
    const vars = adminDeps(d).variables;
    const stored = await vars.getVariable(params.variableKey);
    if (!stored) throw new NotFound(`variable '${params.variableKey}' does not exist`);
    const value = body.value === undefined ? stored.value : variableValueToStore(stored.key, body.value, stored.value);
    const saved = await vars.set(stored.key, value, body.description === undefined ? {} : { description: body.description });
    c.set('auditTarget', { details: { key: stored.key, fields: Object.keys(body) } });
    return variableView(saved);
  },
});

export const deleteVariable = defineRoute({
  method: 'delete',
  path: '/variables/{variableKey}',
  operationId: 'deleteVariable',
  tags: TAGS,
  summary: 'Delete a variable',
  access: can('variable', 'delete', 'variable.delete'),
  params: { variableKey: VariableKeyParam },
  response: { schema: z.object({ key: z.string(), deleted: z.literal(true) }) },
  handler: async (c, { params }, d) => {
    if (!(await adminDeps(d).variables.delete(params.variableKey))) throw new NotFound(`variable '${params.variableKey}' does not exist`);
    c.set('auditTarget', { details: { key: params.variableKey } });
    return { key: params.variableKey, deleted: true as const };
  },
});

export const variableRoutes = [listVariables, createVariable, getVariable, patchVariable, deleteVariable];
