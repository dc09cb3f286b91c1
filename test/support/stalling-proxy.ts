import net from 'node:net';

export interface StallingProxy {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** From now on, bytes sent to the target wait in the proxy (on open connections too). */
  hold(): void;
  /** Sends what waited, and everything after it, straight on. */
  release(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy on loopback in front of `target` that can stall: while held, requests reach the proxy
 * but not the target, as when a stream endpoint stops answering. Nothing is lost: on release the held
 * bytes go on in order.
 */
export async function startStallingProxy(target: string): Promise<StallingProxy> {
  const { hostname, port } = new URL(target);
  let held = false;
  const connections = new Set<{ flush(): void; destroy(): void }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    const waiting: Buffer[] = [];
    const connection = {
      flush() {
        for (const chunk of waiting.splice(0)) upstream.write(chunk);
      },
      destroy() {
        client.destroy();
        upstream.destroy();
      },
    };
    connections.add(connection);
    client.on('data', (chunk: Buffer) => {
      if (held) waiting.push(chunk);
      else upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('close', () => {
      connections.delete(connection);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    hold() {
      held = true;
    },
    release() {
      held = false;
      for (const connection of connections) connection.flush();
    },
    close() {
      for (const connection of connections) connection.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
