import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { outlastWorkerdKeepAlive } from './keep-alive'

/**
 * A scripted OpenAI-compatible chat completions server: the offline demo model of
 * `npm run dev` and the model every test talks to. It is not an LLM. Without a script it
 * answers with a labelled echo; a user message carrying `<<script {...}>>` makes it follow
 * that script, which is how tests make the agent stream long replies or call tools.
 */

export const DEMO_MODEL_ID = 'offline-demo'
export const UNPRICED_MODEL_ID = 'offline-demo-unpriced'
export const DEMO_LABEL = '[offline demo model]'

/** `{{tool_result}}` in a text is replaced by what the last tool call returned, so tests can see what the model saw. */
export type ToolCall = { name: string; args: Record<string, unknown> }
/** `tools` makes several calls at once, which the agent runs in parallel. */
export type ScriptStep = { text?: string; tool?: ToolCall; tools?: ToolCall[] }
export type Script = {
  /** one step per model call after the user's message; a step with a tool ends in a tool call */
  steps?: ScriptStep[]
  /** shorthand for steps: [{ text: reply }] */
  reply?: string
  /** each text is written this many times over: a reply far longer than a message may be */
  repeat?: number
  /** how many pieces each text is streamed in (default: one per word) */
  chunks?: number
  /** pause between pieces, so a test can act mid-stream */
  delayMs?: number
  /**
   * For benchmarks: `true` starts each streamed piece with the time it was sent (ms since the
   * epoch, sub-millisecond) and a space, so a reader can tell how long each piece took to reach
   * it; a number streams that many pieces holding only the time.
   */
  stamp?: boolean | number
  /** the token counts to report for this answer, instead of estimates from its length (for exact cost checks) */
  usage?: { prompt: number; completion: number; cached?: number }
}

type ChatMessage = { role: string; content?: unknown; tool_calls?: unknown[] }
type ChatRequest = { model?: string; messages?: ChatMessage[]; stream?: boolean; tools?: unknown[] }

const SCRIPT_MARKER = /<<script (\{.*?\})>>/s

function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && 'text' in p ? String(p.text) : '')).join('')
  }
  return ''
}

function lastUserIndex(messages: ChatMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') return i
  return -1
}

export function findScript(messages: ChatMessage[]): Script | undefined {
  const i = lastUserIndex(messages)
  if (i < 0) return undefined
  // The last script of the message: an agent may send a new message joined to one it was stopped in (Claude Code after an abort).
  const match = [...contentText(messages[i]!.content).matchAll(new RegExp(SCRIPT_MARKER, 'gs'))].at(-1)
  if (!match) return undefined
  try {
    return JSON.parse(match[1]!) as Script
  } catch {
    return { reply: `${DEMO_LABEL} the script marker in your message is not valid JSON` }
  }
}

function isTitleRequest(messages: ChatMessage[]): boolean {
  return messages.some((m) => m.role === 'system' && /title generator/i.test(contentText(m.content)))
}

/** What the model answers to this request: text to stream, or one tool call. */
export function decide(req: ChatRequest): { text?: string; tools?: ToolCall[]; script?: Script } {
  const messages = req.messages ?? []
  if (isTitleRequest(messages)) return { text: 'Scripted session' }
  const script = findScript(messages)
  const userIndex = lastUserIndex(messages)
  if (!script) {
    const said = userIndex >= 0 ? contentText(messages[userIndex]!.content).trim() : ''
    return {
      text: `${DEMO_LABEL} No model provider key is set, so this local stand-in answers instead of an LLM. You said: ${said}`,
    }
  }
  const steps = script.steps ?? [{ text: script.reply ?? '' }]
  const stepIndex = messages.slice(userIndex + 1).filter((m) => m.role === 'assistant').length
  const step = steps[stepIndex] ?? { text: 'Done.' }
  const lastTool = messages.findLast((m) => m.role === 'tool')
  const text = step.text?.replaceAll('{{tool_result}}', lastTool ? contentText(lastTool.content) : '').repeat(script.repeat ?? 1)
  const tools = step.tools ?? (step.tool ? [step.tool] : undefined)
  return { ...(text !== undefined && { text }), ...(tools && { tools }), script }
}

export function splitText(text: string, chunks?: number): string[] {
  if (!text) return []
  if (!chunks) return text.match(/\S+\s*|\s+/g) ?? [text]
  const size = Math.max(1, Math.ceil(text.length / chunks))
  const pieces: string[] = []
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size))
  return pieces
}

const estimateTokens = (s: string) => Math.max(1, Math.ceil(s.length / 4))

async function readJson(req: IncomingMessage): Promise<ChatRequest> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as ChatRequest
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** What the scripted provider billed for one answer: the usage it stated, and the messages it answered (to be told apart by a mark). */
export type Billed = { messages: string; prompt: number; completion: number; cached: number }

async function answer(req: ChatRequest, res: ServerResponse, log: ChatRequest[], cut: () => void, billed: Billed[]) {
  log.push(req)
  const decision = decide(req)
  const id = `chatcmpl-${Date.now().toString(36)}`
  const model = req.model ?? DEMO_MODEL_ID
  const created = Math.floor(Date.now() / 1000)
  const promptTokens = estimateTokens(JSON.stringify(req.messages ?? []))
  const text = decision.text ?? ''
  const toolCalls = decision.tools?.map((tool, index) => ({
    index,
    id: `call_${Math.random().toString(36).slice(2, 10)}`,
    type: 'function',
    function: { name: tool.name, arguments: JSON.stringify(tool.args) },
  }))
  const stated = decision.script?.usage
  const usage = {
    prompt_tokens: stated?.prompt ?? promptTokens,
    completion_tokens: stated?.completion ?? estimateTokens(text || JSON.stringify(decision.tools ?? '')),
    total_tokens: 0,
    // what of the prompt the provider read from its cache (counted inside prompt_tokens, as OpenAI does)
    prompt_tokens_details: { cached_tokens: stated?.cached ?? 0 },
  }
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
  billed.push({ messages: JSON.stringify(req.messages ?? []), prompt: usage.prompt_tokens, completion: usage.completion_tokens, cached: stated?.cached ?? 0 })
  const finish = toolCalls ? 'tool_calls' : 'stop'

  if (!req.stream) {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text || null, ...(toolCalls && { tool_calls: toolCalls }) },
            finish_reason: finish,
          },
        ],
        usage,
      }),
    )
    return
  }

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
  const send = (delta: object, finishReason: string | null = null, extra: object = {}) =>
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra })}\n\n`,
    )
  send({ role: 'assistant', content: '' })
  const delayMs = decision.script?.delayMs ?? 0
  const stamps = decision.script?.stamp
  const pieces = typeof stamps === 'number' ? Array.from({ length: stamps }, () => '') : splitText(text, decision.script?.chunks)
  for (const piece of pieces) {
    if (res.destroyed) return cut()
    send({ content: stamps ? `${(performance.timeOrigin + performance.now()).toFixed(3)} ${piece}` : piece })
    if (delayMs) await sleep(delayMs)
  }
  if (toolCalls) send({ tool_calls: toolCalls })
  send({}, finish)
  res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`)
  res.end('data: [DONE]\n\n')
}

type ResponsesItem = { type?: string; role?: string; content?: unknown; output?: unknown; name?: string; arguments?: string }
type ResponsesRequest = { model?: string; input?: string | ResponsesItem[]; instructions?: string; stream?: boolean; tools?: unknown[] }

/**
 * Responses input items as chat messages: a function call as (part of) an assistant turn, its
 * output as a tool message, a `developer` message as the system prompt it is for reasoning models.
 */
function responsesToChat(req: ResponsesRequest): ChatMessage[] {
  const out: ChatMessage[] = req.instructions ? [{ role: 'system', content: req.instructions }] : []
  if (typeof req.input === 'string') return [...out, { role: 'user', content: req.input }]
  for (const item of req.input ?? []) {
    if (item.type === 'function_call') {
      // the calls of one answer follow its text (if any): they are one assistant turn
      const last = out.at(-1)
      if (last?.role === 'assistant') last.tool_calls = [...(last.tool_calls ?? []), item]
      else out.push({ role: 'assistant', content: '', tool_calls: [item] })
    } else if (item.type === 'function_call_output') out.push({ role: 'tool', content: item.output })
    else if (item.role) out.push({ role: item.role === 'developer' ? 'system' : item.role, content: item.content })
  }
  return out
}

/**
 * The same answer in OpenAI's Responses API dialect (`POST /responses`): `input` items for
 * messages (function calls and their outputs among them), output items of a message and of
 * `function_call`s, streamed as `response.output_item.added`/`.done` around their deltas, and the
 * usage in `response.completed` (`input_tokens` with `input_tokens_details.cached_tokens` inside
 * it, `output_tokens`).
 */
async function answerResponses(req: ResponsesRequest, res: ServerResponse, log: ChatRequest[], billed: Billed[]) {
  const messages = responsesToChat(req)
  const chat = { model: req.model, messages }
  // The tools as the dialect sent them, for tests that check what the agent offered the model.
  log.push({ ...chat, ...(req.tools && { tools: req.tools }) })
  const decision = decide(chat)
  const text = decision.text ?? ''
  const stated = decision.script?.usage
  const usage = {
    input_tokens: stated?.prompt ?? estimateTokens(JSON.stringify(messages)),
    input_tokens_details: { cached_tokens: stated?.cached ?? 0 },
    output_tokens: stated?.completion ?? estimateTokens(text || JSON.stringify(decision.tools ?? '')),
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 0,
  }
  usage.total_tokens = usage.input_tokens + usage.output_tokens
  billed.push({ messages: JSON.stringify(messages), prompt: usage.input_tokens, completion: usage.output_tokens, cached: usage.input_tokens_details.cached_tokens })
  const id = `resp_${Date.now().toString(36)}`
  const model = req.model ?? DEMO_MODEL_ID
  const message = { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }
  const calls = (decision.tools ?? []).map((t, i) => {
    const callId = `call_${i}_${Math.random().toString(36).slice(2, 8)}`
    return { type: 'function_call', id: `fc_${callId}`, call_id: callId, name: t.name, arguments: JSON.stringify(t.args), status: 'completed' }
  })
  const output = [...(text ? [message] : []), ...calls]
  const response = { id, object: 'response', created_at: Math.floor(Date.now() / 1000), model, status: 'completed', incomplete_details: null, output, usage }
  if (!req.stream) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response))
    return
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  const send = (data: Record<string, unknown>) => res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`)
  send({ type: 'response.created', response: { ...response, status: 'in_progress', output: [], usage: null } })
  for (const [index, item] of output.entries()) {
    send({ type: 'response.output_item.added', output_index: index, item: item.type === 'message' ? { ...message, status: 'in_progress', content: [] } : { ...item, arguments: '' } })
    if (item.type === 'message') {
      for (const delta of splitText(text, decision.script?.chunks)) {
        if (res.destroyed) return
        send({ type: 'response.output_text.delta', item_id: item.id, output_index: index, content_index: 0, delta })
        if (decision.script?.delayMs) await sleep(decision.script.delayMs)
      }
    } else {
      send({ type: 'response.function_call_arguments.delta', item_id: item.id, output_index: index, delta: (item as { arguments: string }).arguments })
    }
    send({ type: 'response.output_item.done', output_index: index, item })
  }
  send({ type: 'response.completed', response })
  res.end()
}

type AnthropicBlock = { type: string; text?: string; content?: unknown; id?: string; name?: string; input?: unknown }
type AnthropicRequest = { model?: string; system?: unknown; messages?: { role: string; content: string | AnthropicBlock[] }[]; stream?: boolean; tools?: unknown[] }

/** Anthropic's messages as chat messages: the system prompt first, a user turn of tool results as tool messages. */
function anthropicToChat(req: AnthropicRequest): ChatMessage[] {
  const out: ChatMessage[] = req.system ? [{ role: 'system', content: req.system }] : []
  for (const m of req.messages ?? []) {
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content
    const results = blocks.filter((b) => b.type === 'tool_result')
    if (m.role === 'user' && results.length > 0 && results.length === blocks.length) {
      for (const r of results) out.push({ role: 'tool', content: r.content })
    } else {
      out.push({ role: m.role, content: blocks.filter((b) => b.type === 'text') })
    }
  }
  return out
}

/**
 * The same answer in Anthropic's Messages dialect (`POST /messages`): streamed as message_start
 * (with the input usage: `input_tokens` without the cache, `cache_read_input_tokens` beside it),
 * content blocks of text and `tool_use`, and message_delta with the output usage.
 */
async function answerAnthropic(req: AnthropicRequest, res: ServerResponse, log: ChatRequest[], billed: Billed[]) {
  const messages = anthropicToChat(req)
  const chat = { model: req.model, messages }
  log.push({ ...chat, ...(req.tools && { tools: req.tools }) })
  const decision = decide(chat)
  const text = decision.text ?? ''
  const stated = decision.script?.usage
  const prompt = stated?.prompt ?? estimateTokens(JSON.stringify(messages))
  const cached = stated?.cached ?? 0
  const output = stated?.completion ?? estimateTokens(text || JSON.stringify(decision.tools ?? ''))
  billed.push({ messages: JSON.stringify(messages), prompt, completion: output, cached })
  const inputUsage = { input_tokens: prompt - cached, cache_creation_input_tokens: 0, cache_read_input_tokens: cached }
  const id = `msg_${Date.now().toString(36)}`
  const model = req.model ?? DEMO_MODEL_ID
  const tools = (decision.tools ?? []).map((t, i) => ({ type: 'tool_use', id: `toolu_${i}_${Math.random().toString(36).slice(2, 8)}`, name: t.name, input: t.args }))
  const stop = tools.length ? 'tool_use' : 'end_turn'
  if (!req.stream) {
    const content = [...(text ? [{ type: 'text', text }] : []), ...tools]
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ id, type: 'message', role: 'assistant', model, content, stop_reason: stop, stop_sequence: null, usage: { ...inputUsage, output_tokens: output } }))
    return
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  const send = (data: Record<string, unknown>) => res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`)
  send({ type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...inputUsage, output_tokens: 1 } } })
  let index = 0
  if (text) {
    send({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } })
    for (const piece of splitText(text, decision.script?.chunks)) {
      if (res.destroyed) return
      send({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } })
      if (decision.script?.delayMs) await sleep(decision.script.delayMs)
    }
    send({ type: 'content_block_stop', index })
    index++
  }
  for (const tool of tools) {
    send({ type: 'content_block_start', index, content_block: { ...tool, input: {} } })
    send({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(tool.input) } })
    send({ type: 'content_block_stop', index })
    index++
  }
  send({ type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: output } })
  send({ type: 'message_stop' })
  res.end()
}

export type ModelServer = { url: string; requests: ChatRequest[]; close(): Promise<void> }

/**
 * Paths for tests that look at what reached the model (`/_cut`: how many streamed answers the
 * caller hung up on; `/_landed`: what reached `/_landing`, where a call with `_redirect=1` in its
 * query is sent; `/_calls`: the method, path with query and header names of every call);
 * `/_billed?mark=…`: what it billed, summed over the answers whose messages hold the mark);
 * they need no key.
 */
const INSPECTION = ['/_requests', '/_keys', '/_cut', '/_landed', '/_calls', '/_billed']

/** One call as `/_calls` lists it: enough to tell what was forwarded, without any header's value. */
export type SeenCall = { method: string; url: string; headers: string[] }

/**
 * `apiKey`: when given, the server answers model calls only with `Authorization: Bearer <apiKey>`,
 * as a real provider would; the local stack gives it one that only the Worker's gateway holds.
 */
export async function startModelServer(opts: { port?: number; apiKey?: string } = {}): Promise<ModelServer> {
  const requests: ChatRequest[] = []
  /** every Authorization header a model call came with, accepted or not */
  const keys: string[] = []
  let cut = 0
  /** the Authorization header of each request that reached /_landing */
  const landed: string[] = []
  const calls: SeenCall[] = []
  const billed: Billed[] = []
  const server: Server = outlastWorkerdKeepAlive(createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? ''
    // Where a redirect points: a provider's key must never reach it by the redirect being followed.
    if (path === '/_landing') {
      landed.push(req.headers.authorization ?? '')
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"landed":true}')
      return
    }
    if (!INSPECTION.includes(path)) {
      keys.push(req.headers.authorization ?? '')
      calls.push({ method: req.method ?? '', url: req.url ?? '', headers: Object.keys(req.headers) })
    }
    // Anthropic's dialect takes the key as x-api-key, the others as a bearer token.
    const presented = req.headers.authorization ?? (req.headers['x-api-key'] ? `Bearer ${String(req.headers['x-api-key'])}` : undefined)
    if (opts.apiKey !== undefined && presented !== `Bearer ${opts.apiKey}` && !INSPECTION.includes(path)) {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: 'invalid API key', type: 'invalid_request_error' } }))
      return
    }
    // What the model was sent, for tests that check what reached it (system prompt, tools, model).
    if (req.method === 'GET' && INSPECTION.includes(path)) {
      res.writeHead(200, { 'content-type': 'application/json' })
      const mark = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('mark') ?? ''
      const marked = billed.filter((b) => b.messages.includes(mark))
      const total = (k: 'prompt' | 'completion' | 'cached') => marked.reduce((n, b) => n + b[k], 0)
      const sum = { answers: marked.length, prompt: total('prompt'), completion: total('completion'), cached: total('cached') }
      const seen: Record<string, unknown> = { '/_keys': keys, '/_cut': cut, '/_landed': landed, '/_calls': calls, '/_billed': sum }
      res.end(JSON.stringify(seen[path] ?? requests))
      return
    }
    // A provider URL that answers with a redirect, as a misconfigured or hostile endpoint might.
    if (new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('_redirect') === '1') {
      res.writeHead(307, { location: `http://${req.headers.host ?? '127.0.0.1'}/_landing` }).end()
      return
    }
    if (req.method === 'GET' && path?.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ object: 'list', data: [{ id: DEMO_MODEL_ID, object: 'model', owned_by: 'local' }] }))
      return
    }
    if (req.method === 'POST' && path?.endsWith('/messages')) {
      readJson(req)
        .then((body) => answerAnthropic(body as AnthropicRequest, res, requests, billed))
        .catch((err: unknown) => {
          if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: { message: String(err) } }))
        })
      return
    }
    if (req.method === 'POST' && path?.endsWith('/responses')) {
      readJson(req)
        .then((body) => answerResponses(body as ResponsesRequest, res, requests, billed))
        .catch((err: unknown) => {
          if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: { message: String(err) } }))
        })
      return
    }
    if (req.method === 'POST' && path?.endsWith('/chat/completions')) {
      readJson(req)
        .then((body) => answer(body, res, requests, () => void cut++, billed))
        .catch((err: unknown) => {
          if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: { message: String(err) } }))
        })
      return
    }
    res.writeHead(404).end()
  }))
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve))
  const { port: actual } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${actual}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * What the demo models cost, USD per million tokens: made up, so that spend and its caps can be
 * seen working offline.
 */
export const DEMO_PRICE = { input: 1, output: 2, cache_read: 0.5 }

/** The opencode provider entry that points at a model server. */
export function modelProviderConfig(baseURL: string, apiKey = 'offline') {
  return {
    provider: {
      local: {
        npm: '@ai-sdk/openai-compatible',
        name: 'Offline demo (scripted, not an LLM)',
        options: { baseURL, apiKey },
        models: {
          // It takes images and PDFs, so attachments reach it as opencode sends them to a vision model.
          [DEMO_MODEL_ID]: {
            name: `Offline demo model ${DEMO_LABEL}`,
            cost: DEMO_PRICE,
            attachment: true,
            modalities: { input: ['text', 'image', 'pdf'], output: ['text'] },
          },
          [`${DEMO_MODEL_ID}-large`]: { name: `Offline demo model, large ${DEMO_LABEL}`, cost: DEMO_PRICE },
          // No `cost`, and no provider's price table knows it: what a cost cap cannot let through.
          [UNPRICED_MODEL_ID]: { name: `Offline demo model, unpriced ${DEMO_LABEL}` },
        },
      },
    },
    model: `local/${DEMO_MODEL_ID}`,
    small_model: `local/${DEMO_MODEL_ID}`,
  }
}

/**
 * The scripted model's other dialects, each as a provider that reaches the same server through
 * that API's own SDK: Anthropic's Messages API (usage in message_start and message_delta, cache
 * reads apart, tool_use blocks) and OpenAI's Responses API (input items, function_call output
 * items, usage in response.completed). Each model is named as one the price table knows and has no
 * `cost`, so its calls are priced by the table, as a deployment's are. `openai` is the provider's
 * own id, since the table prices a provider's models by its id (see prices.ts).
 */
export const DIALECTS = {
  anthropic: { provider: 'claude', npm: '@ai-sdk/anthropic', model: 'claude-haiku-4-5', api: 'Anthropic’s Messages API' },
  responses: { provider: 'openai', npm: '@ai-sdk/openai', model: 'gpt-4.1-mini', api: 'OpenAI’s Responses API' },
} as const
export type Dialect = keyof typeof DIALECTS

/** The scripted model's configuration (modelProviderConfig) with the provider of `dialect` added, as the default and title model. */
export const inDialect =
  (dialect: Dialect) =>
  (scripted: Record<string, unknown>): Record<string, unknown> => {
    const providers = scripted.provider as Record<string, { options: { baseURL: string; apiKey: string } }>
    const { provider, npm, model, api } = DIALECTS[dialect]
    const entry = {
      npm,
      name: `Offline demo, in ${api} (scripted, not an LLM)`,
      options: providers.local!.options,
      models: { [model]: { name: `Offline demo model ${DEMO_LABEL}, ${api}`, tool_call: true } },
    }
    return { ...scripted, provider: { ...providers, [provider]: entry }, model: `${provider}/${model}`, small_model: `${provider}/${model}` }
  }
