/** Triggers: the deferrable-wait contract, the built-in triggers and the classpath registry. */
export type { SerializedTrigger, Trigger, TriggerClass, TriggerEnv, TriggerEvent, TriggerLogger, TriggerTaskLog } from './types.ts';
export { builtinClasspath, triggerClasspath, BUILTIN_PREFIX } from './classpath.ts';
export { DateTimeTrigger, TimeDeltaTrigger, type DateTimeTriggerKwargs } from './dateTime.ts';
export { FileTrigger, matchingFiles, type FileTriggerKwargs } from './file.ts';
export { HttpTrigger, buildHttpRequest, sendHttpRequest, type HttpRequestSpec, type HttpResponseInfo, type HttpTriggerKwargs } from './http.ts';
export { TaskDeferred, TaskRescheduled, TaskDeferralTimeout, TaskDeferralError, FAIL_METHOD } from './signals.ts';
export { loadTrigger, builtinTriggerNames, registerLazyBuiltinTrigger } from './registry.ts';
