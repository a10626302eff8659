/**
 * Branching, short-circuit and latest-only. `pick_path` follows one branch by the day of the week and
 * the other branch is skipped; the `join` after both branches uses `none_failed_min_one_success`, so it
 * runs whichever branch was taken. `has_work` short-circuits: when it returns a falsy value every task
 * below it is skipped. `latest_only` lets `publish` run only in the run of the latest interval (and in
 * manual runs), so catch-up runs do not publish.
 */
import { branchTask, chain, dag, EmptyOperator, LatestOnlyOperator, shortCircuitTask, task } from 'capstan';

export default dag(
  {
    dagId: 'example_branching',
    description: 'Choose a path, skip the rest, join again',
    schedule: '@daily',
    startDate: '2026-01-01',
    catchup: false,
    tags: ['example', 'branching'],
  },
  () => {
    const weekday = task({ taskId: 'weekday' }, () => new Date().getUTCDay());
    const pickPath = branchTask({ taskId: 'pick_path' }, (day: number) => (day === 0 || day === 6 ? 'weekend_report' : ['weekday_load', 'weekday_report']));
    const picked = pickPath(weekday());
    const weekendReport = task({ taskId: 'weekend_report' }, () => 'quiet day')();
    const weekdayLoad = task({ taskId: 'weekday_load' }, () => 42)();
    const weekdayReport = task({ taskId: 'weekday_report' }, () => 'busy day')();
    const join = new EmptyOperator({ taskId: 'join', triggerRule: 'none_failed_min_one_success' });
    chain(picked, [weekendReport, weekdayLoad, weekdayReport], join);

    const hasWork = shortCircuitTask({ taskId: 'has_work' }, () => true)();
    const process = task({ taskId: 'process' }, () => 'processed')();
    join.before(hasWork.operator);
    chain(hasWork, process);

    const latestOnly = new LatestOnlyOperator({ taskId: 'latest_only' });
    const publish = new EmptyOperator({ taskId: 'publish' });
    chain(process, latestOnly, publish);
  },
);
