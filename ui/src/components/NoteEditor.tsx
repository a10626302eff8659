/**
 * A note shown as text, edited in place by those who may (`onSave` sends it; an empty note clears it).
 * The server's answer replaces the shown note, so what is displayed is what was stored. `meta` (e.g. who
 * set the note and when) is shown under it.
 */
import { useMutation } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import '../views.css';

export function NoteEditor({ note, mayEdit, onSave, label, meta }: { note: string | null; mayEdit: boolean; onSave: (note: string | null) => Promise<unknown>; label: string; meta?: string | undefined }) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  const id = useId();
  const save = useMutation({ mutationFn: (n: string | null) => onSave(n), onSuccess: () => setEditing(false) });
  if (!editing) {
    return (
      <div className="note-box">
        {note ? <p className="note-text">{note}</p> : <p className="muted note-text">No note.</p>}
        {note && meta ? <p className="muted note-meta">{meta}</p> : null}
        {mayEdit ? (
          <button
            type="button"
            className="button small"
            onClick={() => {
              setDraft(note ?? '');
              save.reset();
              setEditing(true);
            }}
          >
            {note ? 'Edit note' : 'Add note'}
          </button>
        ) : null}
      </div>
    );
  }
  return (
    <form
      className="note-box"
      aria-label={label}
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        save.mutate(draft.trim() === '' ? null : draft);
      }}
    >
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <textarea id={id} value={draft} maxLength={1000} onChange={(e) => setDraft(e.target.value)} />
      {save.isError ? (
        <p role="alert" className="error-box">
          {save.error.message}
        </p>
      ) : null}
      <div className="dialog-actions">
        <button type="button" className="button small" onClick={() => setEditing(false)}>
          Cancel
        </button>
        <button type="submit" className="button small primary" disabled={save.isPending}>
          Save note
        </button>
      </div>
    </form>
  );
}
