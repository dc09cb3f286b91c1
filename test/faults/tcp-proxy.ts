import net, { type AddressInfo } from 'node:net';

/**
 * How the proxy treats traffic, switchable at any moment, for connections already open too:
 * - `pass`: forwards both ways;
 * - `stall`: takes the bytes and answers nothing (a store that hangs: clients wait for their timeout);
 * - `reset`: drops every connection at once with a TCP reset (a store that has gone away);
 * - `unavailable`: answers every request with HTTP 503 (a store that is up but failing).
 */
export type ProxyMode = 'pass' | 'stall' | 'reset' | 'unavailable';

export interface TcpProxy {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  port: number;
  mode: ProxyMode;
  close(): Promise<void>;
}

const UNAVAILABLE_BODY =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>';
const UNAVAILABLE =
  'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nConnection: close\r\n' +
  `Content-Length: ${Buffer.byteLength(UNAVAILABLE_BODY)}\r\n\r\n${UNAVAILABLE_BODY}`;

/** A TCP proxy on 127.0.0.1 in front of `target`, whose behaviour the test controls. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let mode: ProxyMode = 'pass';

  const drop = (socket: net.Socket) => {
    if (!socket.destroyed) socket.resetAndDestroy();
  };

  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    if (mode === 'reset') {
      drop(client);
      return;
    }
    const upstream = net.connect(target.port, target.host);
    open.add(upstream);
    upstream.on('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => drop(client));
    client.on('close', () => upstream.destroy());
    client.on('data', (chunk) => {
      if (mode === 'pass') upstream.write(chunk);
      else if (mode === 'reset') drop(client);
      else if (mode === 'unavailable') client.end(UNAVAILABLE);
      // stall: swallow the request; the client waits for an answer that never comes.
    });
    upstream.on('data', (chunk) => {
      if (mode === 'pass') client.write(chunk);
      else if (mode === 'reset') drop(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    get mode() {
      return mode;
    },
    set mode(next: ProxyMode) {
      mode = next;
      if (next === 'reset') for (const socket of open) drop(socket);
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
