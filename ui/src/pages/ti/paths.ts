/** Deep links of a task instance's panel (`?try=` and `?tab=` select within it). */
export function taskInstancePath(dagId: string, dagRunId: string, taskId: string, o: { tab?: string; tryNumber?: number; mapIndex?: number } = {}): string {
  const q = new URLSearchParams();
  if (o.tab) q.set('tab', o.tab);
  if (o.tryNumber !== undefined) q.set('try', String(o.tryNumber));
  if (o.mapIndex !== undefined && o.mapIndex >= 0) q.set('map', String(o.mapIndex));
  const s = q.toString();
  return `/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(dagRunId)}/tasks/${encodeURIComponent(taskId)}${s ? `?${s}` : ''}`;
}
