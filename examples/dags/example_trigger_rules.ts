/**
 * Trigger rules and skip propagation: `check` skips itself (exit code 99), so `process` (all_success) is
 * skipped too, `fallback` (all_skipped) runs instead, and `finish` (none_failed_min_one_success) runs
 * because one path succeeded. `audit` (all_done) runs whatever happened upstream.
 */
import { BashOperator, dag, EmptyOperator } from 'capstan';

export default dag(
  { dagId: 'example_trigger_rules', schedule: null, tags: ['example', 'trigger-rules'], doc: 'Skips, fallbacks and joins.' },
  () => {
    const check = new BashOperator({ taskId: 'check', bashCommand: 'echo "no new data"; exit 99' });
    const process = new BashOperator({ taskId: 'process', bashCommand: 'echo processing' });
    const fallback = new BashOperator({ taskId: 'fallback', bashCommand: 'echo "nothing new: using yesterday\'s data"', triggerRule: 'all_skipped' });
    const finish = new EmptyOperator({ taskId: 'finish', triggerRule: 'none_failed_min_one_success' });
    const audit = new BashOperator({ taskId: 'audit', bashCommand: 'echo audited', triggerRule: 'all_done' });
    check.before([process, fallback]);
    finish.after([process, fallback]);
    audit.after(finish);
  },
);
