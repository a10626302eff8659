/**
 * Monitoring: the health of every role (`/monitor/health`: database, scheduler, triggerer and DAG processor
 * heartbeats), the registered jobs (`/jobs`), the version, and the configuration (`/config`: read-only,
 * secrets redacted as `capstan config list` shows them, and only when `api.exposeConfig` is on).
 */
import { z } from '@hono/zod-openapi';
import { describeConfig, type CapstanConfig, SECTION_NAMES, type SectionName } from '../../../../../config/index.ts';
import { NotFound } from '../../../../../core/index.ts';
import { isJobAlive, type Job, JOB_SORT_FIELDS, JobRegistry, type JobState } from '../../../../../store/index.ts';
import { componentHealthReport, type HealthThresholds } from '../../../../health.ts';
import { can, SIGNED_IN } from '../../access.ts';
import { boolQuery, orderByQuery, pageQuery } from '../../input.ts';
import { defineRoute } from '../../route.ts';
import { pageOf } from '../../schemas/common.ts';
import { iso } from './common.ts';
import { adminDeps } from './deps.ts';

const HealthStatus = z.enum(['healthy', 'unhealthy']);
const ComponentSchema = z.object({ status: HealthStatus, latestHeartbeat: z.string().nullable().openapi({ format: 'date-time', description: 'newest heartbeat of a running process of this role; null when none runs' }) });
const HealthSchema = z
  .object({
    status: HealthStatus.openapi({ description: 'healthy when the database and a scheduler are' }),
    metadatabase: z.object({ status: HealthStatus }),
    scheduler: ComponentSchema,
    triggerer: ComponentSchema,
    dagProcessor: ComponentSchema,
  })
  .openapi('HealthInfo');

function thresholds(config: CapstanConfig): HealthThresholds {
  return { schedulerMs: config.scheduler.healthCheckThresholdMs, triggererMs: config.triggerer.healthCheckThresholdMs, dagProcessorMs: config.scheduler.healthCheckThresholdMs };
}

/** The heartbeat threshold of a job type (the scheduler's for types without their own). */
function thresholdOf(config: CapstanConfig, jobType: string): number {
  const t = thresholds(config);
  return jobType === 'triggerer' ? t.triggererMs : jobType === 'dag_processor' ? t.dagProcessorMs : t.schedulerMs;
}

export const getHealth = defineRoute({
  method: 'get',
  path: '/monitor/health',
  operationId: 'getHealth',
  tags: ['Monitor'],
  summary: 'Health of the database and of every role',
  description: 'Each role is healthy while one of its processes heartbeats within its threshold (scheduler.healthCheckThresholdMs; triggerer.healthCheckThresholdMs; the DAG processor uses the scheduler’s). Answers 200 either way; the unauthenticated probe is `GET /health`.',
  access: SIGNED_IN,
  response: { schema: HealthSchema },
  handler: async (_c, _input, d) => componentHealthReport(d.db, thresholds(adminDeps(d).config), d.now()),
});

const JOB_STATES = ['running', 'success', 'failed', 'killed'] as const satisfies readonly JobState[];
const JobSchema = z
  .object({
    id: z.string(),
    jobType: z.string().openapi({ description: 'scheduler, triggerer or dag_processor' }),
    state: z.enum(JOB_STATES),
    hostname: z.string(),
    pid: z.number().int(),
    startDate: z.string().openapi({ format: 'date-time' }),
    endDate: z.string().nullable().openapi({ format: 'date-time' }),
    latestHeartbeat: z.string().openapi({ format: 'date-time' }),
    isAlive: z.boolean().openapi({ description: 'running with a heartbeat within its role’s threshold' }),
  })
  .openapi('Job');

export const listJobs = defineRoute({
  method: 'get',
  path: '/jobs',
  operationId: 'listJobs',
  tags: ['Job'],
  summary: 'List the registered processes (jobs)',
  description: 'Every scheduler, triggerer and DAG processor that registered, newest first by default. `isAlive=true` keeps running jobs whose heartbeat is within the threshold of `jobType` (the scheduler’s when no type is given), `isAlive=false` the others.',
  access: can('metrics', 'read'),
  query: {
    ...pageQuery(),
    orderBy: orderByQuery(JOB_SORT_FIELDS, '-startDate'),
    jobType: z.string().min(1).max(30).optional(),
    jobState: z.enum(JOB_STATES).optional(),
    hostname: z.string().min(1).max(250).optional(),
    isAlive: boolQuery('only jobs alive (true) or only the others (false)'),
  },
  response: { schema: pageOf('jobs', JobSchema) },
  handler: async (_c, { query: q }, d) => {
    const config = adminDeps(d).config;
    const now = d.now();
    const page = await new JobRegistry(d.db).page({
      limit: q.limit,
      offset: q.offset,
      sort: { by: q.orderBy.field, descending: q.orderBy.descending },
      ...(q.jobType === undefined ? {} : { jobType: q.jobType }),
      ...(q.jobState === undefined ? {} : { state: q.jobState }),
      ...(q.hostname === undefined ? {} : { hostname: q.hostname }),
      ...(q.isAlive === undefined ? {} : { alive: { thresholdMs: thresholdOf(config, q.jobType ?? 'scheduler'), now, alive: q.isAlive } }),
    });
    const view = (j: Job): z.input<typeof JobSchema> => ({
      id: j.id,
      jobType: j.jobType,
      state: j.state,
      hostname: j.hostname,
      pid: j.pid,
      startDate: iso(j.startDate) ?? '',
      endDate: iso(j.endDate),
      latestHeartbeat: iso(j.latestHeartbeat) ?? '',
      isAlive: isJobAlive(j, thresholdOf(config, j.jobType), now),
    });
    return { jobs: page.items.map(view), totalEntries: page.total };
  },
});

export const getVersion = defineRoute({
  method: 'get',
  path: '/version',
  operationId: 'getVersion',
  tags: ['Monitor'],
  summary: 'The running Capstan’s version',
  access: SIGNED_IN,
  response: { schema: z.object({ version: z.string(), gitVersion: z.string().nullable() }).openapi('VersionInfo') },
  handler: async (_c, _input, d) => ({ version: adminDeps(d).version, gitVersion: null }),
});

const ConfigSchema = z
  .object({
    sections: z.array(
      z.object({
        name: z.string(),
        options: z.array(z.object({ key: z.string(), value: z.union([z.string(), z.number(), z.boolean()]), source: z.string().openapi({ description: 'default, derived, generated, the config file or the environment variable' }) })),
      }),
    ),
  })
  .openapi('Config');

export const getConfig = defineRoute({
  method: 'get',
  path: '/config',
  operationId: 'getConfig',
  tags: ['Config'],
  summary: 'The configuration, secrets redacted',
  description: 'Every option with its value and where it came from; secrets (keys, passwords, the database URL’s password) show as `***`. Off unless `api.exposeConfig` is true (404 until then; 403 stays the answer to a role without config read).',
  access: can('config', 'read'),
  query: { section: z.enum(SECTION_NAMES as [SectionName, ...SectionName[]]).optional().openapi({ description: 'only this section' }) },
  response: { schema: ConfigSchema },
  handler: async (_c, { query }, d) => {
    const config = adminDeps(d).config;
    if (!config.api.exposeConfig) throw new NotFound('the configuration is not exposed on this server', 'an operator can turn it on with api.exposeConfig: true (secrets stay redacted)');
    const rows = describeConfig(config, query.section);
    const sections = (query.section === undefined ? SECTION_NAMES : [query.section]).map((name) => ({ name, options: rows.filter((r) => r.section === name).map((r) => ({ key: r.key, value: r.value, source: r.source })) }));
    return { sections };
  },
});

export const monitorRoutes = [getHealth, listJobs, getVersion, getConfig];
