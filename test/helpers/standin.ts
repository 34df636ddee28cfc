import { readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Sandbox } from 'e2b'
import { expect } from 'vitest'
import { startE2BStandIn, type E2BStandIn, type E2BStandInOptions } from '../../local/e2b-standin'

export const API_KEY = 'e2b_standin_test_key'

export type StandInFixture = {
  standIn: E2BStandIn
  /** the SDK's connection options for this stand-in */
  conn: { apiKey: string; apiUrl: string; sandboxUrl: string }
  close(): Promise<void>
}

/** A stand-in in its own temporary root, which `close` removes. */
export async function startFixture(opts: Partial<E2BStandInOptions> = {}): Promise<StandInFixture> {
  // Short, so the sandboxes' Unix socket paths stay within Linux's limit.
  const root = await mkdtemp(join(tmpdir(), 'e2bsi-'))
  const standIn = await startE2BStandIn({ apiKey: API_KEY, root, ...opts })
  return {
    standIn,
    conn: { apiKey: API_KEY, apiUrl: standIn.apiUrl, sandboxUrl: standIn.sandboxUrl },
    close: async () => {
      await standIn.close()
      await rm(root, { recursive: true, force: true })
    },
  }
}

/** A request to a port of a sandbox, the way port traffic reaches E2B through the sandbox URL. */
export function portFetch(
  fx: StandInFixture,
  sbx: Sandbox,
  port: number,
  path: string,
  opts: { token?: string | null; init?: RequestInit } = {},
): Promise<Response> {
  const token = opts.token === undefined ? sbx.trafficAccessToken : opts.token
  return fetch(`${fx.standIn.sandboxUrl}${path}`, {
    ...opts.init,
    headers: {
      'E2b-Sandbox-Id': sbx.sandboxId,
      'E2b-Sandbox-Port': String(port),
      ...(token && { 'e2b-traffic-access-token': token }),
    },
  })
}

/** A one-line HTTP server for inside a sandbox: answers every request with $WHO. */
export const WHO_SERVER = `node -e "require('http').createServer((q, s) => s.end(process.env.WHO)).listen(4096, '0.0.0.0')"`

/**
 * A session's secrets as its E2B sandbox holds them, read from the stand-in's side: opencode's
 * password and the gateway token, in the env file of the sandbox's home (owner-only).
 */
export function sandboxCredentials(home: string): { password: string; gatewayToken: string } {
  const file = join(home, '.sandbox-env')
  expect(statSync(file).mode & 0o777).toBe(0o600)
  const text = readFileSync(file, 'utf8')
  const password = /OPENCODE_SERVER_PASSWORD='([^']+)'/.exec(text)?.[1]
  const gatewayToken = /"apiKey":"([^"]+)"/.exec(text)?.[1]
  expect(password).toMatch(/.{16,}/)
  expect(gatewayToken).toMatch(/.{16,}/)
  return { password: password!, gatewayToken: gatewayToken! }
}
