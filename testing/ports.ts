import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A loopback port for a process that binds it itself a few seconds later (a child server, redis-server), or for a
 * URL that must refuse connections.
 *
 * Why not "listen on 0, read the port, close it": that port is from the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range), which the kernel keeps handing out — to every parallel test's listen(0) and to the
 * local end of every outgoing connection — so before the child binds it, anything on the host may take it and the
 * child dies with EADDRINUSE (a CI run was lost to this). The kernel never hands out a port below that range; only an
 * explicit bind takes one, so a port drawn at random there and found free stays free.
 */
export async function unusedPort(): Promise<number> {
  const below = ephemeralRangeStart();
  const low = Math.max(1024, below - 16_384);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (below - low));
    if (await isFree(port)) return port;
  }
  throw new Error(`no free port found in ${low}–${below - 1}`);
}

/** The first port of the kernel's ephemeral range (Linux; the common default elsewhere). */
function ephemeralRangeStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 2048 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** Free on every interface (a child may bind 0.0.0.0, which clashes with anything on 127.0.0.1 too). */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}
