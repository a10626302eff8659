/** Shapes exchanged over the Execution API (shared by the server and the task runtime's client). */

export type { TaskRunContext } from '../../core/index.ts';
