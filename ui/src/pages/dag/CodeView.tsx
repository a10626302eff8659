/** The DAG's source file as the DAG processor last parsed it (`/dags/<id>/code`): path, parse time, lines. */
import { useQuery } from '@tanstack/react-query';
import { ApiError } from '../../api/http.ts';
import { api, data } from '../../api/v2.ts';
import { formatDuration, formatTime } from '../../components/format.ts';
import '../../views.css';

export function CodeView({ dagId }: { dagId: string }) {
  const source = useQuery({ queryKey: ['dagSource', dagId], retry: false, queryFn: ({ signal }) => data(api.GET('/dagSources/{dagId}', { params: { path: { dagId } }, signal })) });
  if (source.isError) {
    return (
      <p role="alert" className="error-box">
        {source.error.message}
        {source.error instanceof ApiError && source.error.hint ? ` (${source.error.hint})` : ''}
      </p>
    );
  }
  if (!source.data) return <p role="status">Loading the source…</p>;
  const s = source.data;
  const lines = s.content.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return (
    <section aria-label="DAG source" className="card">
      <dl className="details">
        <dt>File</dt>
        <dd>
          <code className="code-path">{s.fileloc}</code>
        </dd>
        <dt>Last parsed</dt>
        <dd>{formatTime(s.lastParsedTime)}</dd>
        <dt>Parse time</dt>
        <dd>{formatDuration(s.parseDurationMs)}</dd>
        <dt>Lines</dt>
        <dd>{lines.length}</dd>
      </dl>
      <pre className="source-view" tabIndex={0} aria-label={`Source of ${s.fileloc}`}>
        <code>
          {lines.map((l, i) => (
            <span key={i} className="source-line">
              <span className="source-no" aria-hidden="true">
                {i + 1}
              </span>
              {l}
              {'\n'}
            </span>
          ))}
        </code>
      </pre>
    </section>
  );
}
