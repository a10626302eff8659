// Preloaded (NODE_OPTIONS=--import) into every Node process of a pod the local kubelet runs in a sandbox
// (podSandbox.ts): the pod's network namespace, as far as listening goes. In a real pod, a server bound to all
// interfaces or to loopback is reached at the pod's own IP and collides with nothing outside the pod. Here every
// pod shares the machine's network, so the kubelet maps each pod IP (kwok's, in status.podIP and so in the
// Service's EndpointSlices) to a loopback address of its own (127.x.y.z), and this maps a listen on any address
// or on loopback to that address. Outgoing connections are left alone: 127.0.0.1 from inside a pod reaches the
// machine (where the test's PostgreSQL and the API server are), not the pod.
import net from 'node:net';

const podIP = process.env['CAPSTAN_LOCAL_KUBELET_POD_IP'];
const REBOUND = new Set(['', '0.0.0.0', '::', '127.0.0.1', '::1', 'localhost']);

if (podIP !== undefined && podIP !== '') {
  const listen = net.Server.prototype.listen;
  // Node's listen takes (port, host?, backlog?, cb?), (options, cb?) or (path|handle, …); only TCP ones move.
  net.Server.prototype.listen = function podListen(this: net.Server, ...args: unknown[]): net.Server {
    const [first, second] = args;
    if (first !== null && typeof first === 'object' && !('fd' in first) && !('_handle' in first)) {
      const options = first as net.ListenOptions;
      if (options.path === undefined && REBOUND.has(options.host ?? '')) args[0] = { ...options, host: podIP };
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      if (typeof second === 'string') {
        if (REBOUND.has(second)) args[1] = podIP;
      } else {
        args.splice(1, 0, podIP);
      }
    }
    return (listen as (...a: unknown[]) => net.Server).apply(this, args);
  } as typeof net.Server.prototype.listen;
}
