import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { whenStdinCloses } from './lifeline'
import { portIsFree } from './ports'

/**
 * `wrangler dev` for the local stack, through wrangler's own programmatic API, with these
 * differences from the CLI:
 * - no DevTools inspector. With the inspector on, wrangler's inspector proxy turns every chunk
 *   the Worker reads from a fetch (every event of opencode's stream) into a debug message POSTed
 *   to wrangler's Node process on a connection of its own: thousands of connections and most of
 *   the CPU during a long reply. Attach a debugger with `wrangler dev`.
 * - the bundle is built as `wrangler deploy` builds it. The CLI derives the Node.js
 *   compatibility mode from the flags; the API takes it as an option and without one bundles as
 *   if `nodejs_compat` were off, warning about every `node:` import (the e2b SDK's).
 *   `nodejs_compat` with our compatibility date is mode "v2".
 * - no fetch of the `Request.cf` placeholder from workers.cloudflare.com (the Worker does not
 *   read `request.cf`; offline, the fetch fails with a stack trace).
 * - a port still taken after 10 s ends it with exit code 2, rather than a workerd crash trace
 *   and a server that never answers.
 * - it stops when its stdin closes: the stack that started it has ended.
 *
 * - it rebuilds on source changes only when WRANGLER_DEV_WATCH=1 (`npm run dev`).
 * - DEPLOYMENT_SETTINGS_FILE, when set, is bundled in place of the project's
 *   deployment-settings.json (src/config/bundled-settings.ts), so a stack has settings of its own.
 *
 *   tsx local/wrangler-dev.ts <port> <persist dir> [env file ...]
 */
const [port, persist, ...envFiles] = process.argv.slice(2)
// Required, not imported: an ESM import of wrangler's 10 MB CommonJS bundle has Node scan it for
// its exports and tsx's loader look it over, which took about as much CPU as the rest of a start.
const { unstable_startWorker } = createRequire(import.meta.url)('wrangler') as typeof import('wrangler')
/** A port that frees within a few seconds (the Worker this one restarts still letting go of it) is waited for. */
async function portFreesSoon(): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await portIsFree(Number(port))) return true
    await new Promise((r) => setTimeout(r, 500))
  }
  return false
}
if (!(await portFreesSoon())) {
  console.error(`port ${port} is already in use`)
  process.exit(2)
}
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false'
const worker = await unstable_startWorker({
  config: 'wrangler.toml',
  envFiles,
  build: {
    nodejsCompatMode: 'v2',
    ...(process.env.DEPLOYMENT_SETTINGS_FILE && { alias: { '#deployment-settings': process.env.DEPLOYMENT_SETTINGS_FILE } }),
  },
  dev: {
    inspector: false,
    server: { hostname: '127.0.0.1', port: Number(port) },
    persist,
    watch: process.env.WRANGLER_DEV_WATCH === '1',
  },
})
// Where the Worker answers behind wrangler's proxy, for benchmarks that weigh the proxy's hop:
// written on every reload, readable only by this user (the headers hold the proxy's secret).
const proxy = worker.raw.proxy
const onReloadComplete = proxy.onReloadComplete.bind(proxy)
proxy.onReloadComplete = (event) => {
  const { userWorkerUrl, userWorkerInnerUrlOverrides, headers } = event.proxyData
  const direct = { url: `${userWorkerUrl.protocol}//${userWorkerUrl.hostname}:${userWorkerUrl.port}`, innerUrl: userWorkerInnerUrlOverrides, headers }
  writeFileSync(join(persist!, 'direct.json'), JSON.stringify(direct), { mode: 0o600 })
  onReloadComplete(event)
}
await worker.ready
console.log(`Ready on ${(await worker.url).href}`)

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  // A dispose that hangs would leave this process and its workerd running with nobody to end them:
  // the stack starts this in a process group of its own, which goes as a whole.
  setTimeout(() => process.kill(0, 'SIGKILL'), 15_000).unref()
  await worker.dispose()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// The stack holds the other end of stdin: it closes when the stack's process ends, even by SIGKILL.
whenStdinCloses(stop)
