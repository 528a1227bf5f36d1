import net from 'node:net'

/**
 * A TCP relay that makes a loopback registry look like one across a network: every byte waits
 * half the round-trip time in each direction, and each direction of the link is a queue that
 * drains at a fixed bandwidth shared by all connections (one runner, one network interface).
 * TLS passes through untouched, so certificates and SNI stay those of the real host name.
 *
 * netem would do this in the kernel, but this machine's kernel has no sch_netem; a relay in
 * user space is accurate to a few milliseconds, far below the round trips it adds.
 */

export interface LinkShape {
  /** Round-trip time added to every exchange, ms (half on the way out, half on the way back). */
  readonly rttMs: number
  /** Bandwidth of each direction, bytes per second. */
  readonly bytesPerSecond: number
}

export interface ShapingProxy {
  readonly listen: { host: string; port: number }
  /** Bytes relayed towards the registry (uploads) and back (downloads). */
  readonly bytes: { up: number; down: number }
  close(): Promise<void>
}

/** Above this many bytes waiting in one direction, the relay stops reading its source. */
const HIGH_WATER = 8 * 1024 * 1024

/** One direction of the link: when the next byte can leave, and when it arrives. */
class Direction {
  private freeAt = 0

  constructor(private readonly shape: LinkShape) {}

  /** One-way delay of an empty segment (a FIN). */
  latency(): number {
    return this.shape.rttMs / 2
  }

  /** When a chunk that is ready now reaches the other end. */
  arrival(bytes: number): number {
    const start = Math.max(Date.now(), this.freeAt)
    this.freeAt = start + (bytes * 1000) / this.shape.bytesPerSecond
    return this.freeAt + this.shape.rttMs / 2
  }
}

export async function startShapingProxy(options: {
  listen: { host: string; port: number }
  target: { host: string; port: number }
  shape: LinkShape
}): Promise<ShapingProxy> {
  const up = new Direction(options.shape)
  const down = new Direction(options.shape)
  const bytes = { up: 0, down: 0 }
  const sockets = new Set<net.Socket>()

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, client => {
    sockets.add(client)
    client.pause()
    // The TCP handshake across the link costs one round trip before the first byte moves.
    setTimeout(() => {
      const registry = net.connect({ ...options.target, allowHalfOpen: true, noDelay: true })
      sockets.add(registry)
      registry.on('connect', () => {
        relay(client, registry, up, count => (bytes.up += count))
        relay(registry, client, down, count => (bytes.down += count))
        client.resume()
      })
      const drop = () => {
        client.destroy()
        registry.destroy()
      }
      client.on('error', drop)
      registry.on('error', drop)
      client.on('close', () => sockets.delete(client))
      registry.on('close', () => sockets.delete(registry))
    }, options.shape.rttMs)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.listen.port, options.listen.host, resolve)
  })
  return {
    listen: options.listen,
    bytes,
    close: () =>
      new Promise<void>(resolve => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

/** Copies `from` to `to`, each chunk delivered in order at the time the link says it arrives. */
function relay(
  from: net.Socket,
  to: net.Socket,
  direction: Direction,
  counted: (bytes: number) => void
): void {
  // One queue and one timer per direction: timers of different durations may fire out of the
  // order they were set in, and a reordered TLS record ends the connection.
  const queue: { chunk: Buffer | null; at: number }[] = []
  let waiting = 0
  let timer: NodeJS.Timeout | undefined
  const pump = (): void => {
    timer = undefined
    while (queue.length > 0 && queue[0]!.at <= Date.now()) {
      const { chunk } = queue.shift()!
      if (chunk === null) {
        to.end()
        continue
      }
      waiting -= chunk.length
      if (!to.destroyed) to.write(chunk)
    }
    if (waiting <= HIGH_WATER && from.isPaused()) from.resume()
    if (queue.length > 0) timer = setTimeout(pump, Math.max(0, queue[0]!.at - Date.now()))
  }
  const enqueue = (chunk: Buffer | null, at: number): void => {
    queue.push({ chunk, at: Math.max(at, queue.at(-1)?.at ?? 0) })
    if (timer === undefined) timer = setTimeout(pump, Math.max(0, queue[0]!.at - Date.now()))
  }
  from.on('data', (chunk: Buffer) => {
    counted(chunk.length)
    waiting += chunk.length
    if (waiting > HIGH_WATER) from.pause()
    enqueue(chunk, direction.arrival(chunk.length))
  })
  from.on('end', () => enqueue(null, Date.now() + direction.latency()))
  to.on('close', () => clearTimeout(timer))
}
