/** The run-time half of the generic resource operators, loaded on first use (see podOperator.ts for why). */
export { checkWait, createResource, deleteResource, parseManifests, resolveRef, watchResource } from '../resources/index.ts';
