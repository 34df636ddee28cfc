import type { Server } from 'node:http'

/**
 * workerd keeps idle connections to the servers it calls (the scripted model, the sandbox host,
 * the E2B stand-in, test receivers) in a pool and reuses them. Node closes an idle connection
 * after 5 s by default, about when workerd reuses it: under load the two cross, and the Worker's
 * request fails with "Network connection lost" (the soak saw model calls and kills fail so).
 * Keeping idle connections longer than workerd does leaves the closing to workerd.
 */
export function outlastWorkerdKeepAlive<T extends Pick<Server, 'keepAliveTimeout' | 'headersTimeout'>>(server: T): T {
  server.keepAliveTimeout = 120_000
  server.headersTimeout = 125_000
  return server
}
