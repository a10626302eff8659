/**
 * The DAG file a task process imports while it rehearses a try (warmUp.ts): one EmptyOperator, defined the way
 * a user's DAG file defines its tasks, so the SDK's definition path is compiled before the first real try.
 */
import { dag, EmptyOperator } from '../index.ts';

export default dag({ dagId: 'capstan_warm_up', schedule: null }, () => {
  new EmptyOperator({ taskId: 'noop' });
});
