/**
 * Import errors (Airflow 3's `/importErrors`): the latest failure of each DAG file that does not load, with
 * the file, the line it points at (when the error says) and the message. A role limited to some DAGs sees
 * the errors of files that define one of its DAGs.
 */
import { z } from '@hono/zod-openapi';
import { type ImportError, ImportErrorStore } from '../../../../../store/index.ts';
import { can } from '../../access.ts';
import { orderByQuery, pageQuery, searchQuery } from '../../input.ts';
import { defineRoute } from '../../route.ts';
import { pageOf } from '../../schemas/common.ts';
import { iso, visibleDagFilter } from './common.ts';

const ImportErrorSchema = z
  .object({
    filename: z.string().openapi({ description: 'the DAG file' }),
    line: z.number().int().nullable().openapi({ description: 'line of the file the error points at; null when the error does not say (a timeout, a syntax error Node reports without a place)' }),
    stackTrace: z.string().openapi({ description: 'the error message (Airflow’s stack_trace)' }),
    timestamp: z.string().openapi({ format: 'date-time', description: 'when the failed parse happened' }),
  })
  .openapi('ImportError');

function importErrorView(e: ImportError): z.input<typeof ImportErrorSchema> {
  return { filename: e.fileloc, line: e.line, stackTrace: e.message, timestamp: iso(e.timestamp) ?? '' };
}

export const listImportErrors = defineRoute({
  method: 'get',
  path: '/importErrors',
  operationId: 'listImportErrors',
  tags: ['ImportError'],
  summary: 'List import errors',
  access: can('import_error', 'read'),
  query: { ...pageQuery(), orderBy: orderByQuery(['filename', 'timestamp'], 'filename'), filenamePattern: searchQuery('case-insensitive substring of the file path') },
  response: { schema: pageOf('importErrors', ImportErrorSchema) },
  handler: async (c, { query: q }, d) => {
    const dagIds = await visibleDagFilter(c, d.db);
    const by = q.orderBy.field === 'filename' ? 'fileloc' : 'timestamp';
    const page = await new ImportErrorStore(d.db).page({ limit: q.limit, offset: q.offset, sort: { by, descending: q.orderBy.descending }, ...(q.filenamePattern === undefined ? {} : { search: q.filenamePattern }), ...(dagIds === undefined ? {} : { dagIds }) });
    return { importErrors: page.items.map(importErrorView), totalEntries: page.total };
  },
});

/** The import error routes (one list; an error is identified by its file). */
export const importErrorRoutes = [listImportErrors];

