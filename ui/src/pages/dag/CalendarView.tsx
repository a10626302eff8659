/**
 * Calendar heat map of a DAG's runs over the last year (`/dags/<id>/calendar?day=YYYY-MM-DD`): one square
 * per day, weeks as columns, coloured by the day's worst run state (failed over running over queued over
 * success) and darker the more runs it had. Choosing a day lists its runs below. A run belongs to the day
 * of its logical date, or of when it was queued when it has none (a manual run without one).
 */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { liveKeys } from '../../api/events.ts';
import { api, data, type Schemas } from '../../api/v2.ts';
import { formatDuration, formatTime } from '../../components/format.ts';
import { StateBadge } from '../../components/StateBadge.tsx';
import { useUrlState } from '../../components/urlState.ts';
import '../../views.css';

const DAY_MS = 86_400_000;
const PAGE = 1000;
/** Pages fetched at most (10,000 runs in a year); more and the map says it is partial. */
const MAX_PAGES = 10;
const SEVERITY = ['failed', 'running', 'queued', 'success'] as const;

/** `YYYY-MM-DD` of a time in the browser's zone. */
function dayKey(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function runDay(r: Schemas['DagRun']): string | undefined {
  const at = r.logicalDate ?? r.queuedAt ?? r.startDate;
  return at ? dayKey(new Date(at).getTime()) : undefined;
}

/**
 * Runs of the last year: by logical date, plus those without one that started in the year or wait queued
 * (a manual run may have no logical date).
 */
async function yearOfRuns(dagId: string, since: string, signal: AbortSignal): Promise<{ runs: Schemas['DagRun'][]; partial: boolean }> {
  const seen = new Map<string, Schemas['DagRun']>();
  let partial = false;
  for (const filter of [{ logicalDateGte: since }, { startDateGte: since }, { state: ['queued' as const] }]) {
    for (let page = 0; ; page++) {
      if (page === MAX_PAGES) {
        partial = true;
        break;
      }
      const r = await data(api.GET('/dags/{dagId}/dagRuns', { params: { path: { dagId }, query: { ...filter, limit: PAGE, offset: page * PAGE, orderBy: '-id' } }, signal }));
      // A run with an older logical date that started this year stays out: it belongs to its own day.
      for (const run of r.dagRuns) if (!run.logicalDate || Date.parse(run.logicalDate) >= Date.parse(since)) seen.set(run.dagRunId, run);
      if ((page + 1) * PAGE >= r.totalEntries) break;
    }
  }
  return { runs: [...seen.values()], partial };
}

interface Day {
  key: string;
  runs: Schemas['DagRun'][];
  counts: Map<string, number>;
  worst: string | undefined;
}

export function CalendarView({ dagId }: { dagId: string }) {
  const u = useUrlState();
  const chosenDay = u.get('day');
  // Today's start, so the query key is stable through the day.
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const first = new Date(today.getTime() - 364 * DAY_MS);
  first.setDate(first.getDate() - first.getDay()); // back to a Sunday: weeks are columns
  const since = first.toISOString();
  const runs = useQuery({ queryKey: [...liveKeys.runs(dagId), 'calendar', since], queryFn: ({ signal }) => yearOfRuns(dagId, since, signal) });
  if (runs.isError) return <p role="alert" className="error-box">{runs.error.message}</p>;
  if (!runs.data) return <p role="status">Loading a year of runs…</p>;

  const days = new Map<string, Day>();
  for (const r of runs.data.runs) {
    const k = runDay(r);
    if (!k) continue;
    const d: Day = days.get(k) ?? { key: k, runs: [], counts: new Map<string, number>(), worst: undefined };
    d.runs.push(r);
    d.counts.set(r.state, (d.counts.get(r.state) ?? 0) + 1);
    days.set(k, d);
  }
  for (const d of days.values()) d.worst = SEVERITY.find((s) => d.counts.has(s));
  const busiest = Math.max(1, ...[...days.values()].map((d) => d.runs.length));

  const weeks: Array<Array<{ key: string; date: Date }>> = [];
  for (let i = 0; ; i++) {
    const date = new Date(first.getFullYear(), first.getMonth(), first.getDate() + i);
    if (date.getTime() > today.getTime()) break;
    if (date.getDay() === 0 || weeks.length === 0) weeks.push([]);
    weeks[weeks.length - 1]?.push({ key: dayKey(date.getTime()), date });
  }
  const selected = chosenDay ? days.get(chosenDay) : undefined;
  const describe = (d: Day | undefined, key: string) =>
    d
      ? `${key}: ${d.runs.length} run${d.runs.length === 1 ? '' : 's'} (${[...d.counts].map(([s, n]) => `${n} ${s}`).join(', ')})`
      : `${key}: no runs`;

  return (
    <section aria-label="Calendar of runs" className="calendar-section">
      <p className="muted">
        {runs.data.runs.length} runs in the last year{runs.data.partial ? ' (the most recent 10,000 shown)' : ''}. Each square is a day, coloured by its worst run state.
      </p>
      <div className="calendar card">
        <div className="calendar-weekdays" aria-hidden="true">
          {['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].map((w, i) => (
            <span key={w}>{i % 2 === 1 ? w : ''}</span>
          ))}
        </div>
        <div className="calendar-weeks" role="group" aria-label="Runs per day, last 12 months">
          {weeks.map((week) => {
            const month = week.find((d) => d.date.getDate() === 1);
            return (
              <div key={week[0]?.key} className="calendar-week">
                <span className="calendar-month" aria-hidden="true">
                  {month ? month.date.toLocaleString(undefined, { month: 'short' }) : ''}
                </span>
                {week.map(({ key }) => {
                  const d = days.get(key);
                  if (!d) return <span key={key} className="calendar-day empty" title={`${key}: no runs`} />;
                  const level = Math.ceil((d.runs.length / busiest) * 3);
                  return (
                    <button
                      key={key}
                      type="button"
                      className={`calendar-day state-fill-${d.worst ?? 'none'} level-${level}`}
                      aria-label={describe(d, key)}
                      aria-pressed={chosenDay === key}
                      title={describe(d, key)}
                      data-day={key}
                      onClick={() => u.set({ day: chosenDay === key ? undefined : key })}
                    />
                  );
                })}
              </div>
            );
          })}
        </div>
        <p className="calendar-legend muted" aria-hidden="true">
          {SEVERITY.map((s) => (
            <span key={s}>
              <span className={`calendar-day state-fill-${s} level-3`} /> {s}
            </span>
          ))}
        </p>
      </div>
      {chosenDay ? (
        <section className="card" aria-labelledby="calendar-day-title">
          <h2 id="calendar-day-title">{describe(selected, chosenDay)}</h2>
          {selected ? (
            <table className="table compact">
              <caption className="visually-hidden">Runs on {chosenDay}</caption>
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">State</th>
                  <th scope="col">Type</th>
                  <th scope="col">Logical date</th>
                  <th scope="col">Duration</th>
                </tr>
              </thead>
              <tbody>
                {selected.runs.map((r) => (
                  <tr key={r.dagRunId}>
                    <td>
                      <Link to={`/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(r.dagRunId)}`}>{r.dagRunId}</Link>
                    </td>
                    <td>
                      <StateBadge state={r.state} />
                    </td>
                    <td>{r.runType}</td>
                    <td className="nowrap">{formatTime(r.logicalDate)}</td>
                    <td>{formatDuration(r.durationMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>
      ) : null}
    </section>
  );
}
