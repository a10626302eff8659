/**
 * What a reused task process resets before each try and checks after it (docs/architecture.md, "Reused task
 * processes"). Reset: the environment (replaced by the try's own, from the executor's allow-list) and the
 * working directory. Checked, and the process retired (it exits, a fresh one takes its place) when changed:
 * global variables added or replaced, handles left open (timers, servers, child processes, watchers — the
 * runtime's own keep-alive connections to the Execution API aside), listeners left on `process` (signal
 * handlers, exit hooks). Not reset: what modules loaded by earlier tries keep (Capstan's SDK, node_modules,
 * the helper modules a DAG file imports) and changes to built-in prototypes.
 */

/**
 * Resources not counted: the runtime's own keep-alive sockets to the Execution API, and requests in flight
 * (a file handle's close, a write), which end by themselves.
 */
const transient = (type: string): boolean => type === 'TCPSocketWrap' || type.includes('Req') || type === 'WriteWrap' || type === 'ShutdownWrap';

/** Snapshot of a process's shared state, taken once it is booted and idle. */
export class TryIsolation {
  readonly #cwd = process.cwd();
  readonly #globals = new Map<string, PropertyDescriptor>();
  readonly #handles: Map<string, number>;
  readonly #listeners: Map<string | symbol, number>;

  constructor() {
    for (const name of Object.getOwnPropertyNames(globalThis)) {
      const d = Object.getOwnPropertyDescriptor(globalThis, name);
      if (d) this.#globals.set(name, d);
    }
    this.#handles = countHandles();
    this.#listeners = countListeners();
  }

  /** Before a try: the try's own environment (everything else removed) and the process's first working directory. */
  enter(env: Readonly<Record<string, string>>): void {
    for (const name of Object.keys(process.env)) if (!Object.hasOwn(env, name)) delete process.env[name];
    for (const [name, value] of Object.entries(env)) if (process.env[name] !== value) process.env[name] = value;
    if (process.cwd() !== this.#cwd) process.chdir(this.#cwd);
  }

  /** After a try: why this process must not run another one, or null when nothing it shares was changed. */
  leftBehind(): string | null {
    for (const name of Object.getOwnPropertyNames(globalThis)) {
      const before = this.#globals.get(name);
      if (!before) return `the try added the global '${name}'`;
      const now = Object.getOwnPropertyDescriptor(globalThis, name);
      if (now && !sameDescriptor(before, now)) return `the try replaced the global '${name}'`;
    }
    for (const [type, n] of countHandles()) {
      if (transient(type)) continue;
      if (n > (this.#handles.get(type) ?? 0)) return `the try left ${n - (this.#handles.get(type) ?? 0)} ${type} handle(s) open`;
    }
    for (const [event, n] of countListeners()) {
      if (n !== (this.#listeners.get(event) ?? 0)) return `the try changed the process '${String(event)}' listeners`;
    }
    return null;
  }
}

function sameDescriptor(a: PropertyDescriptor, b: PropertyDescriptor): boolean {
  return Object.is(a.value, b.value) && a.get === b.get && a.set === b.set;
}

function countHandles(): Map<string, number> {
  const out = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) out.set(type, (out.get(type) ?? 0) + 1);
  return out;
}

function countListeners(): Map<string | symbol, number> {
  const out = new Map<string | symbol, number>();
  for (const event of process.eventNames()) out.set(event, process.listenerCount(event));
  return out;
}
