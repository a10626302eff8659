/** Schemas shared by every v2 resource: the error body, ids, pages. */
import { z } from '@hono/zod-openapi';

/**
 * The one error body of the API: `code` is stable (`invalid_argument`, `not_found`, `forbidden`, …),
 * `message` says what went wrong (Airflow's `detail`), `field` names the bad input of a 400, `hint` what to
 * do. The HTTP status is the answer's own.
 */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      hint: z.string().optional(),
      field: z.string().optional(),
    }),
  })
  .openapi('Error');

// The same rules as src/api/http/input.ts' DagIdParam/RunIdParam/TaskIdParam, built on the zod that carries
// `.openapi()` (a schema made before @hono/zod-openapi loaded lacks it).
const ID_RULE = 'must be 1-250 characters of A-Z a-z 0-9 _ . -';
const idString = () => z.string().regex(/^[A-Za-z0-9_.-]{1,250}$/, ID_RULE);

export const DagId = idString().openapi({ description: 'DAG id', example: 'example_bash' });
/** A DAG id or `~` for every DAG the caller may see (list routes only). */
export const DagIdOrAll = z.string().regex(/^(~|[A-Za-z0-9_.-]{1,250})$/, `must be ~ or ${ID_RULE.slice(5)}`).openapi({ description: 'DAG id, or `~` for every DAG the caller may see' });
export const RunId = z.string().regex(/^[^\p{Cc}]{1,250}$/u, 'must be 1-250 characters without control characters').openapi({ description: 'DAG run id' });
/** A run id or `~` for every run (list routes only). */
export const RunIdOrAll = RunId.openapi({ description: 'DAG run id, or `~` for every run' });
export const TaskId = idString().openapi({ description: 'task id' });
/** A task id in a body or query (not a path). */
export const TaskIdField = idString();

/** ISO 8601 date-time (UTC), or null. */
export const Timestamp = z.string().nullable().openapi({ type: ['string', 'null'], format: 'date-time' });

/** `{ <items>: [...], totalEntries }`: one page of a list and how many entries match in all. */
export function pageOf<K extends string, T extends z.ZodType>(key: K, item: T) {
  return z.object({ [key]: z.array(item), totalEntries: z.number().int().openapi({ description: 'entries matching the filters, over all pages' }) } as { [P in K]: z.ZodArray<T> } & { totalEntries: z.ZodNumber });
}
