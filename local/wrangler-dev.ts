import { unstable_startWorker } from 'wrangler'

/**
 * `wrangler dev` for the local stack, through wrangler's own programmatic API, with one
 * difference from the CLI: no DevTools inspector. With the inspector on, wrangler's inspector
 * proxy turns every chunk the Worker reads from a fetch (every event of opencode's stream) into
 * a debug message POSTed to wrangler's Node process on a connection of its own: thousands of
 * connections and most of the CPU during a long reply. Attach a debugger with `wrangler dev`.
 *
 *   tsx local/wrangler-dev.ts <port> <persist dir> [env file ...]
 */
const [port, persist, ...envFiles] = process.argv.slice(2)
const worker = await unstable_startWorker({
  config: 'wrangler.toml',
  envFiles,
  dev: {
    inspector: false,
    server: { hostname: '127.0.0.1', port: Number(port) },
    persist,
    watch: true,
  },
})
await worker.ready
console.log(`Ready on ${(await worker.url).href}`)

const stop = async () => {
  await worker.dispose()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
