/**
 * Task-instance notes and the built-in roles' permissions in Chromium against a real engine: the admin adds
 * a note in the task-instance panel, sees who set it and when, edits it, and finds it again after the
 * instance is cleared and runs its next try; a Viewer reads the note but is offered no editing; the roles
 * page lists every built-in role's permissions. Axe-checked, with screenshots.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { waitFor } from '../support/processes.ts';
import { CHROMIUM_MISSING, chromiumPath, collectPageProblems, launchChromium, screenshot, seriousA11yViolations } from './support/browser.ts';
import { newPage, signIn, startUiServer, type UiTestServer } from './support/uiServer.ts';

const UI_NOTES = `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'ui_notes', schedule: null }, () => {
  new BashOperator({ taskId: 'load', bashCommand: 'echo loaded' });
});
`;

interface Ti {
  state: string;
  tryNumber: number;
  note: string | null;
  noteUpdatedBy: string | null;
}

describe('web UI: task-instance notes, built-in role permissions', { skip: chromiumPath ? false : CHROMIUM_MISSING }, () => {
  let s: UiTestServer;
  let browser: Browser;
  let runId = '';
  const json = async <T,>(path: string, init?: RequestInit): Promise<T> => {
    const r = await s.t.apiFetch(path, init);
    assert.ok(r.ok, `${init?.method ?? 'GET'} ${path}: HTTP ${r.status} ${await r.clone().text()}`);
    return (await r.json()) as T;
  };
  const send = (method: string, path: string, body: unknown) => json<unknown>(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const tiOf = () => json<Ti>(`/api/v2/dags/ui_notes/dagRuns/${encodeURIComponent(runId)}/taskInstances/load`);

  before(async () => {
    [s, browser] = await Promise.all([startUiServer({ dags: { 'ui_notes.ts': UI_NOTES } }), launchChromium()]);
    await waitFor(async () => (await s.t.apiFetch('/api/v2/dags/ui_notes')).ok, 'ui_notes parsed', 60_000);
    await send('PATCH', '/api/v2/dags/ui_notes', { isPaused: false });
    runId = ((await send('POST', '/api/v2/dags/ui_notes/dagRuns', {})) as { dagRunId: string }).dagRunId;
    await waitFor(async () => (await tiOf()).state === 'success', 'ui_notes load succeeds', 120_000);
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  test('add, see who and when, edit; the note stays across a clear and the next try', { timeout: 180_000 }, async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, undefined, undefined, `/dags/ui_notes/runs/${encodeURIComponent(runId)}/tasks/load`);
    const note = page.getByRole('region', { name: 'Note' });
    await note.getByText('No note.').waitFor();
    await note.getByRole('button', { name: 'Add note' }).click();
    await note.getByRole('textbox', { name: `Note of task load in run ${runId}` }).fill('Loaded late: the source dump arrived at 03:10.');
    await note.getByRole('button', { name: 'Save note' }).click();
    await note.getByText('Loaded late: the source dump arrived at 03:10.').waitFor();
    await note.getByText(/^set by admin\b.*, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/).waitFor();
    const stored = await tiOf();
    assert.equal(stored.note, 'Loaded late: the source dump arrived at 03:10.');
    assert.match(stored.noteUpdatedBy ?? '', /^admin\b/);
    assert.deepEqual(await seriousA11yViolations(page), [], 'task instance with note');
    await screenshot(page, 'ti-note');

    await note.getByRole('button', { name: 'Edit note' }).click();
    const box = note.getByRole('textbox', { name: `Note of task load in run ${runId}` });
    assert.equal(await box.inputValue(), 'Loaded late: the source dump arrived at 03:10.', 'the editor starts from the stored note');
    await box.fill('Rerun after the dump was fixed.');
    await note.getByRole('button', { name: 'Save note' }).click();
    await note.getByText('Rerun after the dump was fixed.').waitFor();
    assert.equal((await tiOf()).note, 'Rerun after the dump was fixed.');

    // Cleared: the instance runs try 2, and its note is still there (it belongs to the instance, not a try).
    await send('POST', '/api/v2/dags/ui_notes/clearTaskInstances', { dryRun: false, dagRunId: runId, taskIds: ['load'] });
    await waitFor(async () => {
      const ti = await tiOf();
      return ti.tryNumber === 2 && ti.state === 'success';
    }, 'load reruns', 120_000);
    await page.reload();
    await page.getByText(/^try 2 of \d+$/).waitFor();
    await note.getByText('Rerun after the dump was fixed.').waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a Viewer reads the note and is offered no editing', { timeout: 120_000 }, async () => {
    await s.t.engine.auth.createUser({ username: 'notes_viewer', password: 'viewer-password', role: 'Viewer' });
    await send('PATCH', `/api/v2/dags/ui_notes/dagRuns/${encodeURIComponent(runId)}/taskInstances/load/note`, { note: 'visible to viewers' });
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, 'notes_viewer', 'viewer-password', `/dags/ui_notes/runs/${encodeURIComponent(runId)}/tasks/load`);
    const note = page.getByRole('region', { name: 'Note' });
    await note.getByText('visible to viewers').waitFor();
    assert.equal(await note.getByRole('button').count(), 0, 'no Add/Edit note for a Viewer');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("the roles page lists every built-in role's permissions", { timeout: 120_000 }, async () => {
    const { context, page } = await newPage(browser);
    const problems = collectPageProblems(page);
    await signIn(page, s.url, undefined, undefined, '/admin/roles');
    const perms = async (role: string) => {
      const list = page.getByRole('list', { name: `Permissions of ${role}` });
      await list.locator('li').first().waitFor();
      return list.locator('li').allTextContents();
    };
    const viewer = await perms('Viewer');
    const user = await perms('User');
    const op = await perms('Op');
    const admin = await perms('Admin');
    assert.ok(viewer.includes('dag:read') && !viewer.includes('dag_run:create'), `Viewer: ${viewer.join(' ')}`);
    assert.ok(user.includes('dag_run:create') && user.includes('task_instance:edit') && !user.includes('connection:edit'), `User: ${user.join(' ')}`);
    assert.ok(op.includes('connection:edit') && !op.includes('role:edit'), `Op: ${op.join(' ')}`);
    assert.ok(admin.includes('role:edit') && admin.includes('user:delete'), `Admin: ${admin.join(' ')}`);
    for (const [lesser, greater] of [[viewer, user], [user, op], [op, admin]] as const) assert.ok(lesser.every((p) => greater.includes(p)) && greater.length > lesser.length, 'each role holds the one before it');
    assert.deepEqual(await seriousA11yViolations(page), [], 'roles with permissions');
    await screenshot(page, 'admin-roles-permissions');
    assert.deepEqual(problems, []);
    await context.close();
  });
});
