/**
 * KubernetesJobOperator and its companions: a task as a Kubernetes Job (retries by the Job controller,
 * parallel and indexed pods), XCom per completion index, a Job from a template, a suspended Job resumed by
 * KubernetesPatchJobOperator and removed by KubernetesDeleteJobOperator.
 *
 * Try (no cluster needed):
 *   capstan tasks render-pod job_basics shards        # the exact Job manifest, as YAML
 * Then:
 *   capstan dags trigger job_basics
 *   kubectl get jobs,pods -l capstan.dev/dag-id=job_basics -L batch.kubernetes.io/job-completion-index -w
 * See docs/kubernetes/job-operator.md.
 */
import { dag, KubernetesDeleteJobOperator, KubernetesJobOperator, KubernetesPatchJobOperator } from 'capstan';

const CONN = 'kubernetes_default';

export default dag(
  {
    dagId: 'job_basics',
    description: 'Tasks as Kubernetes Jobs: indexed shards with XCom, templates, suspend/resume and delete',
    schedule: null,
    tags: ['example', 'kubernetes', 'job'],
  },
  () => {
    // Three shards, two at a time; each pod knows its index ($JOB_COMPLETION_INDEX) and writes its result.
    // The task's return value is the list of the three results in index order; the Job's final status is
    // the `job` XCom. A shard that fails is retried by the Job controller (backoffLimit), its log kept
    // under its own pod-name prefix in the task log.
    const shards = new KubernetesJobOperator({
      taskId: 'shards',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c'],
      // Templated values reach the shell through env, used quoted ("$DAY"), never rendered into the command.
      env: { DAY: '{{ ds }}' },
      arguments: ['echo "shard $JOB_COMPLETION_INDEX of $DAY"; echo "{\\"shard\\": $JOB_COMPLETION_INDEX}" > /airflow/xcom/return.json'],
      completions: 3,
      parallelism: 2,
      completionMode: 'Indexed',
      backoffLimit: 2,
      activeDeadlineSeconds: 1800,
      doXcomPush: true,
      containerResources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    });

    // A team's Job template (as a dict here; `jobTemplateFile` takes a YAML path) under the task's own
    // arguments: arguments > fullJobSpec > template. The template's `base` container takes the image.
    const fromTemplate = new KubernetesJobOperator({
      taskId: 'from_template',
      kubernetesConnId: CONN,
      jobTemplateDict: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { labels: { team: 'data-platform' } },
        spec: {
          backoffLimit: 4,
          ttlSecondsAfterFinished: 3600,
          template: { spec: { containers: [{ name: 'base', env: [{ name: 'MODE', value: 'nightly' }] }] } },
        },
      },
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo "mode=$MODE"'],
      backoffLimit: 1,
      onFinishAction: 'delete_succeeded_job',
    });

    // More pods allowed than completions needed (a work queue): the task ends when the Job completes.
    const wide = new KubernetesJobOperator({
      taskId: 'wide',
      kubernetesConnId: CONN,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo working'],
      completions: 1,
      parallelism: 3,
    });

    // A Job created suspended (no pods), not awaited; resumed by a patch, then deleted once Complete.
    const suspended = new KubernetesJobOperator({
      taskId: 'create_suspended',
      kubernetesConnId: CONN,
      name: 'nightly-export-{{ ds_nodash }}',
      randomNameSuffix: false,
      image: 'busybox:1.36',
      cmds: ['sh', '-c', 'echo exporting'],
      suspend: true,
      waitUntilJobComplete: false,
    });
    const resume = new KubernetesPatchJobOperator({
      taskId: 'resume',
      kubernetesConnId: CONN,
      name: 'nightly-export-{{ ds_nodash }}',
      body: { spec: { suspend: false } },
    });
    const remove = new KubernetesDeleteJobOperator({
      taskId: 'delete_when_complete',
      kubernetesConnId: CONN,
      name: 'nightly-export-{{ ds_nodash }}',
      waitForCompletion: true,
      deleteOnStatus: 'Complete',
      propagationPolicy: 'Foreground',
    });

    shards.before(fromTemplate);
    wide.after(shards);
    suspended.before(resume).before(remove);
  },
);
