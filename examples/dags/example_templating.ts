/**
 * Templates and typed params. Fields of operators are Jinja-style templates rendered just before the
 * task runs: dates of the run (`ds`, `ts`, `data_interval_start`…), `params`, `dag_run.conf`, XComs
 * (`ti.xcom_pull`), variables (`var.value.…`), `macros`, and this DAG's own macros and filters. A
 * BashOperator command ending in `.sh` is a template file next to this one.
 *
 * Try:
 *   capstan tasks render example_templating load                       # rendered, not executed
 *   capstan dags trigger example_templating --conf '{"rows": 5, "target": "prod"}'
 *   capstan dags trigger example_templating --conf '{"rows": "five"}'  # exit 2: conf.rows: must be integer
 *   capstan tasks render example_templating load --run-id <run> --stored   # what the try rendered
 * See docs/templating.md.
 */
import { BashOperator, chain, dag, task } from 'capstan';

/** A TaskFlow task: its literal arguments are templates too (upstream outputs are passed as produced). */
const extract = task({ taskId: 'extract' }, (day: string, rows: string) => ({ file: `export_${day}.csv`, rows: Number(rows) }));

export default dag(
  {
    dagId: 'example_templating',
    schedule: null,
    tags: ['example', 'templating'],
    params: {
      rows: { default: 3, type: 'integer', minimum: 1, maximum: 1000, description: 'Rows to export' },
      target: { default: 'staging', enum: ['staging', 'prod'] },
    },
    userDefinedMacros: { bucket: (target: string) => `s3://example-${target}-data` },
    userDefinedFilters: { shout: (s: string) => s.toUpperCase() },
  },
  () => {
    const load = new BashOperator({
      taskId: 'load',
      bashCommand: 'echo "loading $FILE ($ROWS rows) into $DEST for the interval $START .. $END"',
      env: {
        FILE: "{{ ti.xcom_pull(task_ids='extract').file }}",
        ROWS: "{{ ti.xcom_pull(task_ids='extract').rows }}",
        DEST: "{{ bucket(params.target) }}/{{ var.value.get('example_prefix', 'raw') }}/{{ ds_nodash }}",
        START: '{{ data_interval_start }}',
        END: '{{ data_interval_end }}',
      },
      appendEnv: true,
    });
    const report = new BashOperator({ taskId: 'report', bashCommand: 'example_templating_report.sh', appendEnv: true });
    chain(extract('{{ ds_nodash }}', '{{ params.rows }}'), load, report);
  },
);
