/**
 * The providers' built-in triggers, registered with the trigger registry. src/triggers/ sits below the
 * Kubernetes provider (which builds on it), so it cannot name the provider's triggers itself; every process
 * that rebuilds stored triggers (the triggerer, the in-process test runner) loads them through this module.
 * A registration only names the class: its module is imported when a stored trigger first asks for it.
 */
import { loadTrigger, registerLazyBuiltinTrigger } from '../triggers/index.ts';

registerLazyBuiltinTrigger('KubernetesPodTrigger', async () => (await import('../kubernetes/index.ts')).KubernetesPodTrigger);

/** `loadTrigger` of src/triggers/registry.ts, with the providers' built-in triggers registered. */
export { loadTrigger };
export { builtinTriggerNames } from '../triggers/index.ts';
