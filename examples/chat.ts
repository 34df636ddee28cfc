/**
 * A chat through the typed client: create a session, send one message, print the reply as it
 * streams, then end the session. Against `npm run dev`:
 *
 *   npx tsx examples/chat.ts "Hello! What can you do?"
 *
 * API_URL (default http://127.0.0.1:8787) and API_KEY (default dev-key) point it elsewhere.
 */
import { createClient, streamEvents } from '../src/client'

const baseUrl = process.env.API_URL ?? 'http://127.0.0.1:8787'
const apiKey = process.env.API_KEY ?? 'dev-key'
const text = process.argv.slice(2).join(' ') || 'Hello! What can you do?'

const api = createClient(baseUrl, { apiKey })

const created = await api.v1.sessions.$post({ json: { title: 'examples/chat.ts' } })
if (created.status !== 201) throw new Error(`creating the session failed: ${created.status} ${await created.text()}`)
const session = await created.json()
console.error(`session ${session.id} (${session.status})`)

const controller = new AbortController()
/** what has been printed of each assistant message, so nothing is printed twice */
const printed = new Map<string, number>()
const print = (messageId: string, text: string) => {
  process.stdout.write(text)
  printed.set(messageId, (printed.get(messageId) ?? 0) + text.length)
}

const streaming = streamEvents(baseUrl, session.id, {
  apiKey,
  signal: controller.signal,
  onEvent: (event) => {
    switch (event.type) {
      case 'sandbox.status':
        console.error(`[sandbox ${event.data.state}${event.data.reason ? `: ${event.data.reason}` : ''}]`)
        break
      case 'message.delta':
        if (event.data.kind === 'text') print(event.data.messageId, event.data.text)
        break
      case 'tool.updated':
        if (event.data.state === 'completed' || event.data.state === 'error') console.error(`\n[${event.data.tool} ${event.data.state}]`)
        break
      case 'message.completed':
        // The first assistant message with text is the reply (tool calls come in text-less ones).
        if (event.data.role === 'assistant' && (event.data.text !== '' || event.data.error)) {
          print(event.data.messageId, event.data.text.slice(printed.get(event.data.messageId) ?? 0))
          if (event.data.error) console.error(`\n[${event.data.error.code}: ${event.data.error.message}]`)
          process.stdout.write('\n')
          controller.abort()
        }
        break
      case 'error':
        console.error(`\n[error ${event.data.code}: ${event.data.message}]`)
        break
    }
  },
})

// The message waits in the session's queue until the sandbox is ready.
const sent = await api.v1.sessions[':id'].messages.$post({ param: { id: session.id }, query: {}, json: { text } })
if (sent.status !== 202) throw new Error(`sending failed: ${sent.status} ${await sent.text()}`)
console.error(`message ${(await sent.json()).messageId} sent`)

await streaming
await api.v1.sessions[':id'].$delete({ param: { id: session.id } })
console.error(`session ${session.id} ended`)
