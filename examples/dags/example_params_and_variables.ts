/**
 * Params, run conf, variables and connections. Trigger with
 * `capstan dags trigger example_params_and_variables --conf '{"region": "us-east-1"}'`; set the
 * variable with `capstan variables set example_greeting Hi` (or env CAPSTAN_VAR_EXAMPLE_GREETING).
 * Secrets read through a connection are masked as *** in the task log.
 */
import { dag, getCurrentContext, task } from 'capstan';

const greet = task({ taskId: 'greet' }, async () => {
  const ctx = getCurrentContext();
  const greeting = (await ctx.getVariable('example_greeting')) ?? 'Hello';
  const region = String(ctx.params.region);
  ctx.log.info(`${greeting} from ${region} (batch size ${String(ctx.params.batchSize)})`);
  return { greeting, region };
});

const summarize = task({ taskId: 'summarize' }, (g: { greeting: string; region: string }) => `${g.greeting}, ${g.region}!`);

export default dag(
  {
    dagId: 'example_params_and_variables',
    schedule: null,
    tags: ['example', 'params'],
    params: {
      region: { default: 'eu-west-1', type: 'string', description: 'Cloud region to process' },
      batchSize: { default: 100, type: 'integer' },
    },
  },
  () => {
    summarize(greet());
  },
);
