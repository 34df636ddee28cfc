// The API reference, rendered from the Worker's own GET /openapi.json (the same zod schemas
// that validate every request), with a "try it" form per route. No CDN, no framework.
import { $, el } from './dom.js'
import { loadSpec } from './openapi.js'

const METHODS = ['get', 'post', 'put', 'patch', 'delete']
let spec = null
let apiKey = '' // memory only; sent only in the Authorization header

const opId = (method, path) => `op-${method}-${path.replace(/[^\w]+/g, '-').replace(/^-|-$/g, '')}`

// ---- schemas ----
function resolve(schema) {
  if (schema && typeof schema.$ref === 'string') {
    const name = schema.$ref.replace(/^#\/components\/schemas\//, '')
    return { name, schema: (spec.components && spec.components.schemas && spec.components.schemas[name]) || {} }
  }
  return { name: null, schema: schema || {} }
}

function typeLabel(s) {
  if (s.const !== undefined) return JSON.stringify(s.const)
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ')
  const t = Array.isArray(s.type) ? s.type.join(' | ') : s.type
  if (t === 'array') {
    const item = resolve(s.items)
    return `array of ${item.name || typeLabel(item.schema) || 'any'}`
  }
  if (!t && s.properties) return 'object'
  if (!t && (s.anyOf || s.oneOf)) return 'one of'
  if (!t && s.allOf) return 'all of'
  return t || 'any'
}

function constraints(s) {
  const out = []
  for (const [k, label] of [['minLength', 'min length'], ['maxLength', 'max length'], ['minimum', 'min'], ['maximum', 'max'],
    ['exclusiveMinimum', '>'], ['exclusiveMaximum', '<'], ['minItems', 'min items'], ['maxItems', 'max items'], ['pattern', 'pattern'],
    ['format', 'format'], ['default', 'default']]) {
    if (s[k] !== undefined) out.push(`${label} ${typeof s[k] === 'string' ? s[k] : JSON.stringify(s[k])}`)
  }
  return out.join(', ')
}

/** A schema as a nested list: properties with their types, constraints and descriptions. */
function renderSchema(schema, seen = new Set(), depth = 0) {
  const list = el('ul', { class: 'schema' })
  const { name, schema: s } = resolve(schema)
  if (name && seen.has(name)) {
    list.append(el('li', {}, el('span', { class: 'ref', text: `${name} (see above)` })))
    return list
  }
  const nextSeen = new Set(seen)
  if (name) nextSeen.add(name)
  const head = el('li', {},
    name ? el('span', { class: 'ref', text: `${name}: ` }) : null,
    el('span', { class: 'type', text: typeLabel(s) }),
    constraints(s) ? el('span', { class: 'constraint', text: ` (${constraints(s)})` }) : null,
    s.description ? el('span', { class: 'note', text: ` ${s.description}` }) : null)
  list.append(head)
  if (depth > 8) return list
  const required = new Set(s.required || [])
  if (s.properties) {
    const props = el('ul', { class: 'schema' })
    for (const [prop, sub] of Object.entries(s.properties)) {
      const r = resolve(sub)
      const li = el('li', { 'data-prop': prop },
        el('span', { class: 'prop', text: prop }),
        required.has(prop) ? el('span', { class: 'req', text: ' required' }) : null,
        ': ',
        el('span', { class: 'type', text: r.name || typeLabel(r.schema) }),
        constraints(r.schema) ? el('span', { class: 'constraint', text: ` (${constraints(r.schema)})` }) : null,
        r.schema.description ? el('span', { class: 'note', text: ` ${r.schema.description}` }) : null)
      if (hasChildren(r.schema)) li.append(renderSchema(sub, nextSeen, depth + 1))
      props.append(li)
    }
    head.append(props)
  }
  if (s.type === 'array' && s.items && hasChildren(resolve(s.items).schema)) head.append(renderSchema(s.items, nextSeen, depth + 1))
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    head.append(el('div', { class: 'note', text: 'each value:' }), renderSchema(s.additionalProperties, nextSeen, depth + 1))
  }
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    if (Array.isArray(s[key])) {
      head.append(el('div', { class: 'note', text: key === 'allOf' ? 'all of:' : 'one of:' }))
      for (const sub of s[key]) head.append(renderSchema(sub, nextSeen, depth + 1))
    }
  }
  return list
}
const hasChildren = (s) =>
  Boolean(s.properties || s.anyOf || s.oneOf || s.allOf || (s.type === 'array' && s.items && (s.items.$ref || s.items.properties)) ||
    (s.additionalProperties && typeof s.additionalProperties === 'object'))

/** A starting body for "try it": required fields, with examples where the schema gives them. */
function example(schema, depth = 0) {
  const { schema: s } = resolve(schema)
  if (s.example !== undefined) return s.example
  if (s.default !== undefined) return s.default
  if (s.const !== undefined) return s.const
  if (Array.isArray(s.enum)) return s.enum[0]
  if (depth > 5) return null
  if (s.anyOf || s.oneOf) return example((s.anyOf || s.oneOf)[0], depth + 1)
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type
  if (t === 'object' || s.properties) {
    const out = {}
    for (const k of s.required || []) out[k] = example(s.properties[k], depth + 1)
    return out
  }
  if (t === 'array') return []
  if (t === 'string') return ''
  if (t === 'number' || t === 'integer') return 0
  if (t === 'boolean') return false
  return null
}

// ---- routes ----
function operations() {
  const ops = []
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of METHODS) if (item[method]) ops.push({ path, method, op: item[method], shared: item.parameters || [] })
  }
  return ops
}
const group = (path) => {
  const parts = path.split('/').filter(Boolean)
  return parts[0] === 'v1' ? parts[1] || 'v1' : 'service'
}

function renderOp({ path, method, op, shared }) {
  const section = el('section', { class: 'card op', id: opId(method, path), 'data-method': method, 'data-path': path })
  section.append(el('h2', {}, el('span', { class: 'method', 'data-m': method, text: method }), el('span', { class: 'path', text: path }),
    op.security && op.security.length ? el('span', { class: 'lock', title: 'needs an API key (or a session token)', text: '🔒 bearer' }) : null))
  if (op.summary) section.append(el('p', { class: 'summary', text: op.summary }))
  if (op.description) section.append(el('p', { class: 'desc', text: op.description }))

  const params = [...shared, ...(op.parameters || [])].map((p) => (p.$ref ? resolve(p).schema : p))
  if (params.length) {
    section.append(el('h4', { text: 'Parameters' }))
    const table = el('table', { class: 'params' }, el('tr', {}, el('th', { text: 'name' }), el('th', { text: 'in' }), el('th', { text: 'schema' })))
    for (const p of params) {
      table.append(el('tr', { 'data-param': p.name },
        el('td', {}, el('code', { text: p.name }), p.required ? el('span', { class: 'req', text: ' required' }) : null),
        el('td', { text: p.in }),
        el('td', {}, renderSchema(p.schema || {}), p.description ? el('div', { class: 'note', text: p.description }) : null)))
    }
    section.append(table)
  }

  const body = op.requestBody && (op.requestBody.$ref ? resolve(op.requestBody).schema : op.requestBody)
  const bodySchema = body && body.content && body.content['application/json'] && body.content['application/json'].schema
  if (body) {
    section.append(el('h4', { text: `Request body${body.required ? ' (required)' : ' (optional)'}` }))
    if (body.description) section.append(el('p', { class: 'desc', text: body.description }))
    if (bodySchema) section.append(el('div', { class: 'request-body' }, renderSchema(bodySchema)))
  }

  section.append(el('h4', { text: 'Responses' }))
  for (const [status, res] of Object.entries(op.responses || {})) {
    const r = res.$ref ? resolve(res).schema : res
    const div = el('div', { class: 'response', 'data-status': status },
      el('span', { class: 'status', text: status }), ' ', el('span', { text: r.description || '' }))
    for (const [type, media] of Object.entries(r.content || {})) {
      div.append(el('div', { class: 'note', text: type }))
      if (media.schema) div.append(renderSchema(media.schema))
    }
    section.append(div)
  }

  section.append(tryIt({ path, method, params, bodySchema, stream: Object.values(op.responses || {}).some((r) => r.content && r.content['text/event-stream']) }))
  return section
}

// ---- try it ----
function tryIt({ path, method, params, bodySchema, stream }) {
  const details = el('details', { class: 'try' }, el('summary', { text: 'Try it' }))
  const form = el('form', { class: 'try-form', autocomplete: 'off' })
  const inputs = []
  for (const p of params.filter((p) => p.in === 'path' || p.in === 'query')) {
    const input = el('input', { type: 'text', name: p.name, placeholder: p.schema && p.schema.example !== undefined ? String(p.schema.example) : '', 'data-in': p.in })
    inputs.push({ p, input })
    form.append(el('label', { class: 'field' }, el('span', {}, el('code', { text: p.name }), ` (${p.in})`), input))
  }
  let bodyInput = null
  if (bodySchema) {
    bodyInput = el('textarea', { name: 'body', spellcheck: 'false' })
    bodyInput.value = JSON.stringify(example(bodySchema), null, 2)
    form.append(el('label', { class: 'field' }, el('span', { text: 'JSON body' }), bodyInput))
  }
  const status = el('span', { class: 'try-status' })
  const out = el('pre', { class: 'try-out' })
  const send = el('button', { type: 'submit', text: `Send ${method.toUpperCase()}` })
  const stop = el('button', { type: 'button', class: 'secondary', text: 'Stop', hidden: true })
  form.append(el('div', { class: 'row' }, send, stop, status))
  details.append(form, out)

  let controller = null
  stop.addEventListener('click', () => controller && controller.abort())
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    let url = path
    const query = new URLSearchParams()
    for (const { p, input } of inputs) {
      const v = input.value.trim()
      if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(v))
      else if (v) query.set(p.name, v)
    }
    if (/\{[^}]+\}/.test(url)) {
      status.textContent = 'fill in the path parameters'
      return
    }
    if (query.toString()) url += `?${query}`
    const headers = {}
    if (apiKey) headers.authorization = `Bearer ${apiKey}`
    let reqBody
    if (bodyInput && bodyInput.value.trim()) {
      try { JSON.parse(bodyInput.value) } catch (err) { status.textContent = `the body is not JSON: ${err.message}`; return }
      headers['content-type'] = 'application/json'
      reqBody = bodyInput.value
    }
    controller = new AbortController()
    out.textContent = ''
    status.textContent = '…'
    send.disabled = true
    try {
      const res = await fetch(url, { method: method.toUpperCase(), headers, body: reqBody, signal: controller.signal })
      status.textContent = `${res.status} ${res.statusText}`
      status.dataset.status = String(res.status)
      if (stream && res.ok && res.body) {
        stop.hidden = false
        const reader = res.body.getReader()
        const decoder = new TextDecoder()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          out.textContent += decoder.decode(value, { stream: true })
          if (out.textContent.length > 200_000) { controller.abort(); break }
        }
      } else {
        const text = await res.text()
        try { out.textContent = JSON.stringify(JSON.parse(text), null, 2) } catch { out.textContent = text }
      }
    } catch (err) {
      if (err.name !== 'AbortError') status.textContent = String(err.message || err)
    } finally {
      send.disabled = false
      stop.hidden = true
      controller = null
    }
  })
  return details
}

// ---- page ----
function render() {
  const info = spec.info || {}
  $('info').replaceChildren(
    el('h2', { text: `${info.title || 'API'} ${info.version ? `v${info.version}` : ''}` }),
    info.description ? el('p', { text: info.description }) : null,
    el('p', { class: 'muted', text: `OpenAPI ${spec.openapi} · ${operations().length} routes` }))
  const toc = $('toc')
  const ops = $('ops')
  toc.replaceChildren()
  ops.replaceChildren()
  let last = null
  for (const o of operations()) {
    const g = group(o.path)
    if (g !== last) {
      toc.append(el('h3', { text: g }))
      last = g
    }
    toc.append(el('a', { href: `#${opId(o.method, o.path)}` }, el('span', { class: 'method', 'data-m': o.method, text: o.method }), el('span', { class: 'mono', text: o.path })))
    ops.append(renderOp(o))
  }
  document.body.dataset.ready = 'true'
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView()
}

$('docs-key').addEventListener('input', (e) => { apiKey = e.target.value.trim() })
$('docs-key-form').addEventListener('submit', (e) => e.preventDefault())

loadSpec()
  .then((json) => {
    spec = json
    render()
  })
  .catch((err) => {
    $('info').replaceChildren(el('p', { class: 'notice', text: `Could not load the API description: ${err.message}` }))
  })
