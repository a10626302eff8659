/**
 * `capstan variables …` and `capstan pools …` through a remote API server (`/api/v2/variables`, `/pools`): the
 * same rows and objects as the local commands in src/cli/commands/variables.ts and pools.ts.
 */
import { CapstanError, InvalidArgument } from '../../core/index.ts';
import type { components } from '../../api/client.ts';
import type { PoolUsage } from '../../store/pools.ts';
import type { RemoteApi } from './connection.ts';
import { allPages, PAGE } from './dags.ts';

type Schemas = components['schemas'];

/** What the API answers in place of a secret-named variable's value. */
const MASKED = '***';

/** A variable's value, undefined when there is none (as the local store answers). */
export async function getVariableRemote(api: RemoteApi, key: string): Promise<string | undefined> {
  const r = await api.client.call('get', '/variables/{variableKey}', { path: { variableKey: key } });
  if (r.status === 404) return undefined;
  const v = await api.ok(Promise.resolve(r));
  if (v.isEncrypted && v.value === MASKED) {
    throw new InvalidArgument(`variable '${key}' has a secret-looking key, and the API never returns such a value`, 'read it where the metadata DB is, with `capstan --local variables get`, or from the task that uses it');
  }
  return v.value;
}

/** Create or replace a variable (its description kept unless one is given), as `variables set` prints it. */
export async function setVariableRemote(api: RemoteApi, key: string, value: string, description: string | undefined): Promise<{ key: string; description: string | null; encrypted: boolean }> {
  const created = await api.client.call('post', '/variables', { body: { key, value, ...(description === undefined ? {} : { description }) } });
  const saved = created.status === 409 ? await api.ok(api.client.call('patch', '/variables/{variableKey}', { path: { variableKey: key }, body: { value, ...(description === undefined ? {} : { description }) } })) : await api.ok(Promise.resolve(created));
  return { key: saved.key, description: saved.description, encrypted: saved.isEncrypted };
}

export async function listVariablesRemote(api: RemoteApi): Promise<Array<{ key: string; description: string | null; encrypted: boolean }>> {
  const all = await allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/variables', { query: { limit: PAGE, offset } }));
    return { items: page.variables, totalEntries: page.totalEntries };
  });
  return all.map((v) => ({ key: v.key, description: v.description, encrypted: v.isEncrypted }));
}

export async function deleteVariableRemote(api: RemoteApi, key: string): Promise<void> {
  const r = await api.client.call('delete', '/variables/{variableKey}', { path: { variableKey: key } });
  if (r.status === 404) throw new CapstanError('not_found', `variable '${key}' does not exist`, { hint: 'list variables with `capstan variables list`' });
  await api.ok(Promise.resolve(r));
}

/** An API pool as the store's PoolUsage. */
function poolUsage(p: Schemas['Pool']): PoolUsage {
  return { name: p.name, slots: p.slots, description: p.description, includeDeferred: p.includeDeferred, running: p.runningSlots, queued: p.queuedSlots, deferred: p.deferredSlots, occupied: p.occupiedSlots, open: p.openSlots };
}

/** Change a pool (only the settings given), or create it when there is none. */
export async function setPoolRemote(api: RemoteApi, name: string, s: { slots: number; description?: string; includeDeferred?: boolean }): Promise<PoolUsage> {
  const patched = await api.client.call('patch', '/pools/{poolName}', { path: { poolName: name }, body: s });
  if (patched.status !== 404) return poolUsage(await api.ok(Promise.resolve(patched)));
  return poolUsage(await api.ok(api.client.call('post', '/pools', { body: { name, ...s } })));
}

export async function listPoolsRemote(api: RemoteApi): Promise<PoolUsage[]> {
  const all = await allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/pools', { query: { limit: PAGE, offset, orderBy: 'name' } }));
    return { items: page.pools, totalEntries: page.totalEntries };
  });
  return all.map(poolUsage);
}

/** A pool, undefined when there is none (as the local store answers). */
export async function getPoolRemote(api: RemoteApi, name: string): Promise<PoolUsage | undefined> {
  const r = await api.client.call('get', '/pools/{poolName}', { path: { poolName: name } });
  if (r.status === 404) return undefined;
  return poolUsage(await api.ok(Promise.resolve(r)));
}

export async function deletePoolRemote(api: RemoteApi, name: string): Promise<void> {
  await api.ok(api.client.call('delete', '/pools/{poolName}', { path: { poolName: name } }));
}
