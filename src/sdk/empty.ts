/**
 * EmptyOperator: does nothing. Useful to group dependencies (a join point after a fan-out) and in
 * benchmarks, where only the scheduler's own work should be measured.
 */
import { BaseOperator } from './baseOperator.ts';

export class EmptyOperator extends BaseOperator {
  readonly operatorName = 'EmptyOperator';

  override execute(): undefined {
    return undefined;
  }
}
