import type { AddressInfo } from "node:net";
import { createServer } from "node:net";

/**
 * A TCP port nothing listens on right now (the OS picks it, then it is freed), for a server a
 * test starts in another process, such as a bot's web admin.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
