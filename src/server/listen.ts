import type { AddressInfo, Server } from 'node:net';

/**
 * Listens and resolves once bound (rejects on EADDRINUSE and the like), with the port actually
 * bound (for port 0) and the host to show in URLs: a wildcard address is shown as 127.0.0.1.
 */
export async function listen(server: Server, port: number, host: string): Promise<{ port: number; shownHost: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    shownHost: host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host,
  };
}
