import { mkdir } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { getRequestListener } from '@hono/node-server'
import { createGateway } from './gateway'
import { createRestApi, noFaults, type FaultScope, type RestCall } from './rest'
import { sandboxPids, type Memory } from './memory'
import { Sandboxes } from './sandboxes'
import { Snapshots } from './snapshots'
import { outlastWorkerdKeepAlive } from '../keep-alive'

/**
 * A local stand-in for E2B: its REST API and each sandbox's envd and ports, spoken well enough
 * that the real `e2b` SDK, given `apiUrl` and `sandboxUrl`, cannot tell. Sandboxes are folders
 * with their own network namespace and real processes. Linux only, as root (network namespaces).
 */

export type E2BStandInOptions = {
  /** the only key accepted (X-API-KEY); others get E2B's 401 */
  apiKey: string
  /** folder under which each sandbox gets its own directory (its HOME among others) */
  root: string
  /** for the REST API; the sandbox URL takes a free port. Default 0 (free). Listens on 127.0.0.1 only. */
  port?: number
  /** host 127.0.0.1 ports that processes inside sandboxes may reach; nothing else on the host is reachable */
  egressPorts?: number[]
  /** extra PATH entries for sandbox processes, as a template would have them */
  pathPrepend?: string[]
  /**
   * Files the template holds at absolute paths (`/opt/agents/acp-bridge.mjs`), each with where it
   * lies on this host: a stand-in sandbox shares the host's file system, so a command naming one
   * runs the host's copy.
   */
  templateFiles?: Record<string, string>
}

export type E2BStandInSandbox = {
  sandboxId: string
  state: 'running' | 'paused'
  pids: number[]
  /** the sandbox's home folder on the host (a fork's processes see it at its original's path) */
  home: string
  metadata: Record<string, string>
  /** create-time environment, secrets included: tests look for them where they must not be */
  envs: Record<string, string>
  trafficAccessToken: string | undefined
  envdAccessToken: string
  /** when the sandbox's timeout ends it */
  endAt: Date
  /** process event streams a client holds open to it now (a background command's, unless disconnected) */
  openStreams: number
}

export type E2BStandInCall = RestCall

export type E2BStandInSnapshot = {
  snapshotId: string
  sourceSandboxId: string
  /** the copy of the source's disk (its home) on the host */
  disk: string
  /** what the snapshot's memory holds (see memory.ts): what a leak through memory would show */
  memory: Memory
}

export type E2BStandIn = {
  apiUrl: string
  sandboxUrl: string
  /** what runs now; `pids` are every process in the sandbox's network namespace */
  list(): E2BStandInSandbox[]
  /** the snapshots kept (createSnapshot), until deleted */
  snapshots(): E2BStandInSnapshot[]
  /** the next `count` create calls fail with 503, as in an E2B outage */
  failNextCreates(count: number): void
  /** the next `count` create calls answer 429, as E2B does past the plan's creates per second (no Retry-After) */
  rateLimitNextCreates(count: number): void
  /** the next `count` sandboxes made fail their first command, as one whose envd came up broken */
  breakNextSandboxes(count: number): void
  /** how many create calls it has answered, failed ones included */
  createAttempts(): number
  /**
   * The next `count` pauses are refused (500), the sandbox running on; `only`: of sandboxes whose
   * metadata has these entries (a session's: `{ sessionId }`), so that other sessions' pauses
   * do not spend them.
   */
  refuseNextPauses(count: number, only?: FaultScope): void
  /**
   * The next `count` kills (`only`: as for pauses) fail and the sandbox lives on: answered 500,
   * or (`drop`) with the connection cut, as when E2B is unreachable for a moment.
   */
  failNextKills(count: number, opts?: { how?: 'error' | 'drop'; only?: FaultScope }): void
  /**
   * From now on a sandbox that runs longer than `seconds` since it was made or last resumed is
   * killed, as E2B ends one past the plan's continuous-run limit (1 h on Hobby, 24 h on Pro);
   * undefined: no limit (the default).
   */
  enforceRunLimit(seconds: number | undefined): void
  /** the sandboxes the run limit killed, in order */
  runLimitKills(): string[]
  /** every create, pause and kill call so far (of one kind if given), failed ones included, in order */
  calls(kind?: RestCall['kind']): E2BStandInCall[]
  /** kills every sandbox (removing their folders, nothing else) and stops serving */
  close(): Promise<void>
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((done, fail) => {
    server.once('error', fail)
    server.listen(port, '127.0.0.1', () => done((server.address() as AddressInfo).port))
  })
}

export async function startE2BStandIn(opts: E2BStandInOptions): Promise<E2BStandIn> {
  const root = resolve(opts.root)
  await mkdir(root, { recursive: true })
  const sandboxes = new Sandboxes({ root, egressPorts: opts.egressPorts ?? [], pathPrepend: opts.pathPrepend ?? [], templateFiles: opts.templateFiles ?? {} })
  const snapshots = new Snapshots(root, sandboxes)
  const faults = noFaults()
  const api = outlastWorkerdKeepAlive(createServer(getRequestListener(createRestApi(sandboxes, snapshots, opts.apiKey, faults).fetch)))
  const gateway = createGateway(sandboxes)
  let runLimit: NodeJS.Timeout | undefined
  const runLimitKills: string[] = []
  const apiPort = await listen(api, opts.port ?? 0)
  const gatewayPort = await listen(gateway, 0)
  return {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    sandboxUrl: `http://127.0.0.1:${gatewayPort}`,
    list: () =>
      sandboxes.list().map((sb) => ({
        sandboxId: sb.id,
        state: sb.state,
        pids: sandboxPids(sb),
        home: sb.hostHome,
        metadata: sb.metadata,
        envs: sb.envs,
        trafficAccessToken: sb.trafficAccessToken,
        envdAccessToken: sb.envdAccessToken,
        endAt: sb.endAt,
        openStreams: sb.openStreams ?? 0,
      })),
    snapshots: () => snapshots.list().map((s) => ({ snapshotId: s.id, sourceSandboxId: s.sourceId, disk: s.disk, memory: s.memory })),
    failNextCreates: (count) => {
      faults.creates = count
    },
    rateLimitNextCreates: (count) => {
      faults.rateLimitedCreates = count
    },
    breakNextSandboxes: (count) => {
      faults.brokenSandboxes = count
    },
    createAttempts: () => faults.calls.filter((call) => call.kind === 'create').length,
    refuseNextPauses: (count, only) => {
      faults.pauses = { count, only }
    },
    failNextKills: (count, { how = 'error', only } = {}) => {
      faults.kills = { count, only, how }
    },
    enforceRunLimit: (seconds) => {
      clearInterval(runLimit)
      runLimit = undefined
      if (seconds === undefined) return
      runLimit = setInterval(() => {
        for (const sb of sandboxes.list()) {
          if (sb.state !== 'running' || sb.ending || Date.now() - sb.runningSince.getTime() <= seconds * 1000) continue
          runLimitKills.push(sb.id)
          void sandboxes.kill(sb)
        }
      }, 100)
      runLimit.unref()
    },
    runLimitKills: () => [...runLimitKills],
    calls: (kind) => faults.calls.filter((call) => !kind || call.kind === kind).map((call) => ({ ...call })),
    close: async () => {
      clearInterval(runLimit)
      await sandboxes.closeAll()
      await snapshots.closeAll()
      for (const server of [api, gateway]) server.closeAllConnections()
      await Promise.all([api, gateway].map((server) => new Promise((done) => server.close(done))))
    },
  }
}
