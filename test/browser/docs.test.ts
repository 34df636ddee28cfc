import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../../local/stack'
import { BROWSER_KEY, openTab, startHarness, type Harness } from './harness'

/**
 * The served OpenAPI document and the /docs page rendered from it: a structural check of the
 * document against the OpenAPI 3.1 rules it can break, every route of the API in it, and
 * every route on the page with a working "try it".
 */

type Json = Record<string, any>
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

let h: Harness
let doc: Json

beforeAll(async () => {
  h = await startHarness('docs')
  const res = await fetch(`${h.stack.url}/openapi.json`)
  expect(res.status).toBe(200)
  doc = (await res.json()) as Json
})

afterAll(async () => {
  await h?.close()
})

/** `METHOD /path` for each operation of the document, paths in OpenAPI's `{param}` form. */
const operationsOf = (d: Json) =>
  Object.entries(d.paths as Json).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`))

/**
 * Every route the project says it has, from two places that do not come from the document:
 * the README's API table, and the plain Hono registrations in src/api (the ones the document
 * does not pick up by itself), under the prefix app.ts mounts them at.
 */
function declaredRoutes(): string[] {
  const routes = new Set<string>()
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8')
  // the first cell of each row of the API table: `METHOD /path`, sometimes two to a cell
  for (const row of readme.split('\n').filter((l) => /^\| `(GET|POST|PUT|PATCH|DELETE) \//.test(l))) {
    for (const m of row.split('|')[1]!.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`\s?]*)[^`]*`/g)) {
      routes.add(`${m[1]} ${m[2]!.replace(/:(\w+)/g, '{$1}')}`)
    }
  }
  const apiDir = join(PROJECT_ROOT, 'src', 'api')
  const app = readFileSync(join(apiDir, 'app.ts'), 'utf8')
  const prefixes = new Map<string, string>([['app', '']])
  for (const m of app.matchAll(/\.route\('([^']+)',\s*(\w+)\)/g)) prefixes.set(m[2]!, m[1]!)
  for (const file of readdirSync(apiDir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(apiDir, file), 'utf8')
    for (const m of source.matchAll(/\b(\w+)\.(get|post|put|patch|delete)\('([^']+)'/g)) {
      const prefix = prefixes.get(m[1]!)
      if (prefix === undefined) continue
      const path = `${prefix}${m[3] === '/' ? '' : m[3]}`.replace(/:(\w+)/g, '{$1}') || '/'
      routes.add(`${m[2]!.toUpperCase()} ${path}`)
    }
  }
  // the document does not describe itself
  routes.delete('GET /openapi.json')
  return [...routes].sort()
}

/** Every `$ref` in the document, with where it sits. */
function refsOf(node: unknown, at = '#', out: [string, string][] = []): [string, string][] {
  if (Array.isArray(node)) node.forEach((v, i) => refsOf(v, `${at}/${i}`, out))
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push([at, v])
      else refsOf(v, `${at}/${k}`, out)
    }
  }
  return out
}

const pointer = (d: Json, ref: string) =>
  ref
    .replace(/^#\//, '')
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<any>((node, key) => (node === undefined ? undefined : node[key]), d)

const JSON_TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'])

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) mistakes a generator can make: 3.0 keywords, bad types, stray `required`. */
function schemaProblems(schema: unknown, at: string, out: string[] = []): string[] {
  if (!schema || typeof schema !== 'object') {
    if (typeof schema !== 'boolean') out.push(`${at}: a schema must be an object or a boolean`)
    return out
  }
  const s = schema as Json
  if ('nullable' in s) out.push(`${at}: "nullable" is OpenAPI 3.0; 3.1 uses type: [..., "null"]`)
  if (typeof s.exclusiveMinimum === 'boolean' || typeof s.exclusiveMaximum === 'boolean') out.push(`${at}: boolean exclusiveMinimum/Maximum is 3.0`)
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type]
    for (const t of types) if (!JSON_TYPES.has(t)) out.push(`${at}: unknown type ${JSON.stringify(t)}`)
  }
  if (s.required !== undefined) {
    if (!Array.isArray(s.required) || s.required.some((r: unknown) => typeof r !== 'string')) out.push(`${at}: required must be a list of names`)
    else if (s.properties) for (const r of s.required) if (!(r in s.properties)) out.push(`${at}: required "${r}" is not a property`)
  }
  if (s.enum !== undefined && (!Array.isArray(s.enum) || s.enum.length === 0)) out.push(`${at}: enum must be a non-empty list`)
  for (const [k, v] of Object.entries(s.properties ?? {})) schemaProblems(v, `${at}/properties/${k}`, out)
  for (const key of ['items', 'additionalProperties', 'not', 'propertyNames', 'contains'] as const) {
    if (s[key] !== undefined && typeof s[key] !== 'boolean') schemaProblems(s[key], `${at}/${key}`, out)
  }
  for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const) {
    if (s[key] !== undefined) {
      if (!Array.isArray(s[key]) || s[key].length === 0) out.push(`${at}: ${key} must be a non-empty list`)
      else s[key].forEach((v: unknown, i: number) => schemaProblems(v, `${at}/${key}/${i}`, out))
    }
  }
  return out
}

describe('GET /openapi.json', () => {
  it('is a well-formed OpenAPI 3.1 document', () => {
    const problems: string[] = []
    const check = (ok: boolean, what: string) => ok || problems.push(what)

    check(typeof doc.openapi === 'string' && /^3\.1\.\d+$/.test(doc.openapi), `openapi is ${doc.openapi}, not 3.1.x`)
    check(typeof doc.info?.title === 'string' && typeof doc.info?.version === 'string', 'info needs title and version')
    check(doc.paths && typeof doc.paths === 'object', 'paths is missing')
    for (const key of Object.keys(doc)) {
      check(['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs'].includes(key) || key.startsWith('x-'), `unknown top-level field ${key}`)
    }
    const schemes = doc.components?.securitySchemes ?? {}
    const operationIds = new Set<string>()

    for (const [path, item] of Object.entries(doc.paths as Json)) {
      check(path.startsWith('/'), `path ${path} must start with /`)
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)
      for (const method of METHODS.filter((m) => item[m])) {
        const op = item[method] as Json
        const at = `${method.toUpperCase()} ${path}`
        if (op.operationId !== undefined) {
          check(!operationIds.has(op.operationId), `${at}: operationId ${op.operationId} is used twice`)
          operationIds.add(op.operationId)
        }
        const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: Json) => (p.$ref ? pointer(doc, p.$ref) : p))
        const seen = new Set<string>()
        for (const p of params) {
          check(p && typeof p.name === 'string' && ['path', 'query', 'header', 'cookie'].includes(p.in), `${at}: parameter needs a name and a valid "in"`)
          check(!seen.has(`${p.in}:${p.name}`), `${at}: parameter ${p.name} (${p.in}) is listed twice`)
          seen.add(`${p.in}:${p.name}`)
          check((p.schema === undefined) !== (p.content === undefined), `${at}: parameter ${p.name} needs exactly one of schema and content`)
          if (p.in === 'path') {
            check(p.required === true, `${at}: path parameter ${p.name} must be required`)
            check(templated.includes(p.name), `${at}: path parameter ${p.name} is not in the path`)
          }
          if (p.schema) schemaProblems(p.schema, `${at} parameter ${p.name}`, problems)
        }
        for (const name of templated) check(seen.has(`path:${name}`), `${at}: {${name}} has no path parameter`)
        if (op.requestBody) {
          const body = op.requestBody.$ref ? pointer(doc, op.requestBody.$ref) : op.requestBody
          check(body.content && Object.keys(body.content).length > 0, `${at}: requestBody needs content`)
          for (const [type, media] of Object.entries(body.content ?? {}) as [string, Json][]) {
            if (media.schema) schemaProblems(media.schema, `${at} body ${type}`, problems)
          }
        }
        check(op.responses && Object.keys(op.responses).length > 0, `${at}: no responses`)
        for (const [status, res] of Object.entries(op.responses ?? {}) as [string, Json][]) {
          check(/^([1-5]\d\d|[1-5]XX|default)$/.test(status), `${at}: bad response key ${status}`)
          const r = res.$ref ? pointer(doc, res.$ref) : res
          check(typeof r?.description === 'string', `${at} ${status}: a response needs a description`)
          for (const [type, media] of Object.entries(r?.content ?? {}) as [string, Json][]) {
            if (media.schema) schemaProblems(media.schema, `${at} ${status} ${type}`, problems)
          }
        }
        for (const requirement of op.security ?? doc.security ?? []) {
          for (const name of Object.keys(requirement)) check(name in schemes, `${at}: security scheme ${name} is not defined`)
        }
      }
    }
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
      check(/^[a-zA-Z0-9.\-_]+$/.test(name), `component name ${name} is not allowed`)
      schemaProblems(schema, `#/components/schemas/${name}`, problems)
    }
    for (const [at, ref] of refsOf(doc)) {
      check(ref.startsWith('#/') && pointer(doc, ref) !== undefined, `${at}: $ref ${ref} does not resolve`)
    }
    for (const [name, scheme] of Object.entries(schemes) as [string, Json][]) {
      check(['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'].includes(scheme.type), `security scheme ${name} has a bad type`)
    }
    expect(problems).toEqual([])
  })

  it('lists every route of the API', () => {
    const listed = new Set(operationsOf(doc))
    const declared = declaredRoutes()
    expect(declared.length).toBeGreaterThan(15)
    expect(declared.filter((r) => !listed.has(r))).toEqual([])
  })
})

describe('/docs', () => {
  it('renders every route with its parameters, body and responses, and tries one out', async () => {
    const tab = await openTab(h.browser, `${h.stack.url}/docs`)
    try {
      await tab.page.locator('body[data-ready=true]').waitFor()
      const shown = await tab.page.$$eval('section.op', (ops) => ops.map((o) => `${o.getAttribute('data-method')!.toUpperCase()} ${o.getAttribute('data-path')}`))
      expect(shown.sort()).toEqual(operationsOf(doc).sort())

      // one route in detail: its path parameter, body fields and responses, from the document
      const send = tab.page.locator('section.op[data-method=post][data-path="/v1/sessions/{id}/messages"]')
      expect(await send.locator('tr[data-param=id]').count()).toBe(1)
      expect(await send.locator('.request-body [data-prop=text]').textContent()).toContain('required')
      const statuses = await send.locator('.response').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-status')))
      expect(statuses).toEqual(expect.arrayContaining(['200', '202', '400', '401', '404']))

      // try it: create a session with a key typed into the page
      await tab.page.fill('#docs-key', BROWSER_KEY)
      const create = tab.page.locator('section.op[data-method=post][data-path="/v1/sessions"]')
      await create.locator('details.try summary').click()
      await create.locator('textarea[name=body]').fill('{"title":"from the docs page"}')
      await create.locator('button[type=submit]').click()
      await create.locator('.try-status[data-status="201"]').waitFor()
      const created = JSON.parse((await create.locator('.try-out').textContent())!) as Json
      expect(created).toMatchObject({ title: 'from the docs page', status: 'starting' })

      // and end it again from the page, with a path parameter
      const end = tab.page.locator('section.op[data-method=delete][data-path="/v1/sessions/{id}"]')
      await end.locator('details.try summary').click()
      await end.locator('input[name=id]').fill(created.id)
      await end.locator('button[type=submit]').click()
      await end.locator('.try-status[data-status="200"]').waitFor()
      expect(JSON.parse((await end.locator('.try-out').textContent())!)).toMatchObject({ id: created.id, status: 'ended' })

      for (const r of tab.requests) expect(r.url()).not.toContain(BROWSER_KEY)
      expect(tab.problems).toEqual([])
    } finally {
      await tab.close()
    }
  })
})
