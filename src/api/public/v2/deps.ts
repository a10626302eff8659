/** What the v2 routes are given: the store, the clock, wake-ups, logs and input limits. */
import type { EngineEvents } from '../../../services/index.ts';
import type { ChangeSignal } from './sse.ts';
import type { TaskLogHandler, LiveTaskLogSource } from '../../../logging/taskLogs.ts';
import type { MetadataDb } from '../../../store/index.ts';
import type { OperatorCluster, TryPodReader } from '../../../executors/kubernetes/workerPods.ts';
import type { AdminDeps } from './routes/admin/deps.ts';

export interface V2Limits {
  /** `api.maxConfBytes`. */
  maxConfBytes: number;
  /** `api.maxConfDepth`. */
  maxConfDepth: number;
  /** `core.allowedRunIdPattern`. */
  allowedRunIdPattern: string;
}

export interface V2Deps {
  db: MetadataDb;
  now: () => number;
  limits: V2Limits;
  /** Called after a change the scheduler should act on at once (trigger, clear, mark). */
  onTriggered?: () => void;
  /** In-process task state changes (standalone); live streams also poll the database, so this only speeds them up. */
  events?: EngineEvents;
  /** Where task logs are read: the log store, then live sources. Absent: the log routes answer 404. */
  taskLogs?: { handler: TaskLogHandler; live?: readonly LiveTaskLogSource[] };
  /** The cluster tries' pods are read from, connected on first use. Absent: the pod routes answer 404. */
  tryPods?: () => Promise<TryPodReader>;
  /** The cluster of a pod operator's own `kubernetesConnId` (another cluster than the executor's, often). */
  operatorTryPods?: (target: OperatorCluster) => Promise<TryPodReader>;
  /** Auth service, secret stores and options of the admin routes (routes/admin). Absent: they answer 404. */
  admin?: AdminDeps;
  /** Set by the v2 app: fired after each successful change through the API, so live streams answer at once. */
  changes?: ChangeSignal;
  /** `core.parallelism`, for the dependency explanation (default 32). */
  parallelism?: number;
  /** `core.dagsFolder`: DAG source is served only from files inside it. Absent: no source route answers. */
  dagsFolder?: string;
}
