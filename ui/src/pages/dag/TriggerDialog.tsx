/**
 * Trigger a run with a form generated from the DAG's params (types, enums as dropdowns, required fields),
 * or a raw JSON conf; optional logical date, run id and note. The server validates the conf against the
 * params and its 400 names the field (`conf.n`), which the form shows beside that field. The last few
 * confs used for this DAG are offered again (kept in this browser).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/http.ts';
import { liveKeys } from '../../api/events.ts';
import { api, data, type Schemas } from '../../api/v2.ts';
import { Dialog } from '../../components/Dialog.tsx';

type Param = Schemas['DagDetails']['params'][string];
type Values = Record<string, string | boolean>;

const RECENT = (dagId: string) => `capstan.recentConf.${dagId}`;

function recentConfs(dagId: string): Array<Record<string, unknown>> {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(RECENT(dagId)) ?? '[]');
    return Array.isArray(v) ? (v as Array<Record<string, unknown>>) : [];
  } catch {
    return [];
  }
}

function remember(dagId: string, conf: Record<string, unknown>): void {
  const text = JSON.stringify(conf);
  const list = [conf, ...recentConfs(dagId).filter((c) => JSON.stringify(c) !== text)].slice(0, 5);
  localStorage.setItem(RECENT(dagId), JSON.stringify(list));
}

function initialValue(p: Param): string | boolean {
  if (p.type === 'boolean') return p.default === true;
  if (p.default === undefined || p.default === null) return '';
  return typeof p.default === 'object' ? JSON.stringify(p.default) : String(p.default);
}

/** The conf the fields say; a field left empty is left out (the DAG's default applies). */
function confOf(params: Record<string, Param>, values: Values): { conf: Record<string, unknown>; bad?: { field: string; message: string } } {
  const conf: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(params)) {
    const v = values[name];
    if (typeof v === 'boolean') {
      conf[name] = v;
      continue;
    }
    if (v === undefined || v === '') continue;
    if (p.type === 'integer' || p.type === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) return { conf, bad: { field: name, message: 'must be a number' } };
      conf[name] = n;
    } else if (p.type === 'object' || p.type === 'array') {
      try {
        conf[name] = JSON.parse(v);
      } catch {
        return { conf, bad: { field: name, message: 'must be JSON' } };
      }
    } else if (p.enum && !p.enum.includes(v)) {
      // enum of numbers offered as text
      const hit = p.enum.find((e) => String(e) === v);
      conf[name] = hit ?? v;
    } else conf[name] = v;
  }
  return { conf };
}

export function TriggerDialog({ dagId, open, onClose, onTriggered }: { dagId: string; open: boolean; onClose: () => void; onTriggered: (run: Schemas['DagRun']) => void }) {
  const details = useQuery({ queryKey: ['dagDetails', dagId], queryFn: ({ signal }) => data(api.GET('/dags/{dagId}/details', { params: { path: { dagId } }, signal })), enabled: open });
  return (
    <Dialog open={open} title={`Trigger ${dagId}`} onClose={onClose}>
      {details.data ? <TriggerForm dagId={dagId} params={details.data.params} onTriggered={onTriggered} /> : details.isError ? <p role="alert">{details.error.message}</p> : <p role="status">Loading the DAG's params…</p>}
    </Dialog>
  );
}

function TriggerForm({ dagId, params, onTriggered }: { dagId: string; params: Record<string, Param>; onTriggered: (run: Schemas['DagRun']) => void }) {
  const qc = useQueryClient();
  const [values, setValues] = useState<Values>(() => Object.fromEntries(Object.entries(params).map(([k, p]) => [k, initialValue(p)])));
  const [raw, setRaw] = useState<string | undefined>(Object.keys(params).length === 0 ? '{}' : undefined);
  const [logicalDate, setLogicalDate] = useState('');
  const [runId, setRunId] = useState('');
  const [note, setNote] = useState('');
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | undefined>();
  const recent = recentConfs(dagId);
  const trigger = useMutation({
    mutationFn: (body: Schemas['TriggerDagRun']) => data(api.POST('/dags/{dagId}/dagRuns', { params: { path: { dagId } }, body })),
    onSuccess: async (run, body) => {
      remember(dagId, body.conf ?? {});
      await Promise.all([qc.invalidateQueries({ queryKey: liveKeys.grid(dagId) }), qc.invalidateQueries({ queryKey: liveKeys.runs(dagId) })]);
      onTriggered(run);
    },
    onError: (err) => {
      if (err instanceof ApiError && err.field) {
        const field = err.field.startsWith('conf.') ? err.field.slice(5).split('.')[0] ?? err.field : err.field;
        setFieldErrors({ [raw !== undefined && err.field.startsWith('conf') ? 'conf' : field]: err.message });
        setGeneral(`${err.field}: ${err.message}`);
      } else setGeneral(err.message);
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFieldErrors({});
    setGeneral(undefined);
    let conf: Record<string, unknown>;
    if (raw !== undefined) {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        conf = parsed as Record<string, unknown>;
      } catch {
        setFieldErrors({ conf: 'must be a JSON object' });
        return;
      }
    } else {
      const r = confOf(params, values);
      if (r.bad) {
        setFieldErrors({ [r.bad.field]: r.bad.message });
        return;
      }
      conf = r.conf;
    }
    trigger.mutate({
      conf,
      ...(logicalDate ? { logicalDate: new Date(logicalDate).toISOString() } : {}),
      ...(runId ? { dagRunId: runId } : {}),
      ...(note ? { note } : {}),
    });
  };

  return (
    <form onSubmit={submit} className="trigger-form" noValidate>
      {general ? (
        <p role="alert" className="error-box">
          {general}
        </p>
      ) : null}
      {recent.length > 0 ? (
        <label className="field">
          <span>Recent configurations</span>
          <select
            defaultValue=""
            onChange={(e) => {
              const c = recent[Number(e.target.value)];
              if (c) setRaw(JSON.stringify(c, null, 2));
            }}
          >
            <option value="">Choose one to reuse…</option>
            {recent.map((c, i) => (
              <option key={i} value={i}>
                {JSON.stringify(c).slice(0, 80)}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {raw === undefined ? (
        <fieldset className="params">
          <legend>Params</legend>
          {Object.entries(params).map(([name, p]) => (
            <ParamField key={name} name={name} param={p} value={values[name] ?? ''} error={fieldErrors[name]} onChange={(v) => setValues({ ...values, [name]: v })} />
          ))}
        </fieldset>
      ) : (
        <label className="field">
          <span>Conf (JSON)</span>
          <textarea rows={8} value={raw} onChange={(e) => setRaw(e.target.value)} aria-invalid={fieldErrors['conf'] ? true : undefined} aria-describedby={fieldErrors['conf'] ? 'conf-error' : undefined} className="code-input" />
          {fieldErrors['conf'] ? (
            <span id="conf-error" className="field-error">
              {fieldErrors['conf']}
            </span>
          ) : null}
        </label>
      )}
      {Object.keys(params).length > 0 ? (
        <button type="button" className="button small" onClick={() => setRaw(raw === undefined ? JSON.stringify(confOf(params, values).conf, null, 2) : undefined)}>
          {raw === undefined ? 'Edit as JSON' : 'Back to the form'}
        </button>
      ) : null}
      <details className="advanced">
        <summary>Logical date, run id, note</summary>
        <label className="field">
          <span>Logical date</span>
          <input type="datetime-local" step={1} value={logicalDate} onChange={(e) => setLogicalDate(e.target.value)} aria-invalid={fieldErrors['logicalDate'] ? true : undefined} />
          {fieldErrors['logicalDate'] ? <span className="field-error">{fieldErrors['logicalDate']}</span> : null}
        </label>
        <label className="field">
          <span>Run id</span>
          <input value={runId} onChange={(e) => setRunId(e.target.value)} placeholder="manual__<logical date>" aria-invalid={fieldErrors['dagRunId'] ? true : undefined} />
          {fieldErrors['dagRunId'] ? <span className="field-error">{fieldErrors['dagRunId']}</span> : null}
        </label>
        <label className="field">
          <span>Note</span>
          <input value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} />
        </label>
      </details>
      <div className="dialog-actions">
        <button type="submit" className="button primary" disabled={trigger.isPending}>
          {trigger.isPending ? 'Triggering…' : 'Trigger'}
        </button>
      </div>
    </form>
  );
}

function ParamField({ name, param, value, error, onChange }: { name: string; param: Param; value: string | boolean; error: string | undefined; onChange: (v: string | boolean) => void }) {
  const id = useId();
  const described = [param.description ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, 'aria-invalid': error ? true : undefined, 'aria-describedby': described, 'aria-required': param.required || undefined } as const;
  let input;
  if (param.type === 'boolean') input = <input type="checkbox" {...common} checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  else if (param.enum) {
    input = (
      <select {...common} value={String(value)} onChange={(e) => onChange(e.target.value)}>
        {param.required ? null : <option value="">(default)</option>}
        {param.enum.map((v) => (
          <option key={String(v)} value={String(v)}>
            {String(v)}
          </option>
        ))}
      </select>
    );
  } else if (param.type === 'integer' || param.type === 'number') input = <input type="number" step={param.type === 'integer' ? 1 : 'any'} {...common} value={String(value)} onChange={(e) => onChange(e.target.value)} />;
  else if (param.type === 'object' || param.type === 'array') input = <textarea rows={3} className="code-input" {...common} value={String(value)} onChange={(e) => onChange(e.target.value)} />;
  else input = <input {...common} value={String(value)} onChange={(e) => onChange(e.target.value)} />;
  return (
    <div className="field">
      <label htmlFor={id}>
        <span className="param-name">{name}</span>
        {param.required ? <span aria-hidden="true"> *</span> : null} <span className="muted small">({param.type})</span>
      </label>
      {input}
      {param.description ? (
        <span id={`${id}-help`} className="muted small">
          {param.description}
        </span>
      ) : null}
      {error ? (
        <span id={`${id}-error`} className="field-error">
          {error}
        </span>
      ) : null}
    </div>
  );
}
