import { describe, expect, it } from 'vitest'
import { JsonSyntaxError, JsonTokens, ValueCopies, type JsonPath } from './json-tokens'
import { Base64Error, Base64Stream } from './base64-stream'

/** Every value of `text` by path, copied as JsonTokens reads it in pieces of `size` bytes. */
function values(text: string, size: number): [JsonPath, unknown][] {
  const out: [JsonPath, unknown][] = []
  const copies = new ValueCopies(() => true, (path, bytes) => out.push([path, JSON.parse(new TextDecoder().decode(bytes))]), Infinity)
  // One copy at a time: the outermost; each value is then read from it.
  const tokens = new JsonTokens(copies)
  const bytes = new TextEncoder().encode(text)
  for (let at = 0; at < bytes.length; at += size) {
    const chunk = bytes.slice(at, at + size)
    copies.reading(chunk)
    tokens.push(chunk)
    copies.read()
  }
  tokens.finish()
  return out
}

describe('a JSON document read in pieces', () => {
  const doc = { a: [1, -2.5e3, true, null, { 'k"\\y': 'x\\"y\u00e9\n' }], 'é': { b: [] , c: {} }, d: '' }

  it('finds each value whole, wherever the pieces are cut', () => {
    const text = JSON.stringify(doc, null, 1)
    for (const size of [1, 2, 3, 7, text.length]) expect(values(text, size)).toEqual([[[], doc]])
  })

  it('tells where each value is by its path', () => {
    const seen: string[] = []
    const tokens = new JsonTokens({ start: (path, kind) => seen.push(`${path.join('.')}:${kind}`) })
    tokens.push(new TextEncoder().encode(JSON.stringify(doc)))
    tokens.finish()
    expect(seen).toEqual([':object', 'a:array', 'a.0:number', 'a.1:number', 'a.2:literal', 'a.3:literal', 'a.4:object', 'a.4.k"\\y:string', 'é:object', 'é.b:array', 'é.c:object', 'd:string'])
  })

  it('refuses what is not JSON', () => {
    for (const text of ['{"a" 1}', '{"a":1,}x', '[1 2]', '{1:2}', '{"a":1}}', '{"a":']) {
      expect(() => {
        const tokens = new JsonTokens({})
        tokens.push(new TextEncoder().encode(text))
        tokens.finish()
      }).toThrow(JsonSyntaxError)
    }
  })
})

describe('base64 read in pieces', () => {
  it('decodes whatever the cuts, escaped slashes included, and refuses anything else', () => {
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) % 256)
    const text = Buffer.from(bytes).toString('base64').replaceAll('/', '\\/')
    for (const size of [1, 2, 3, 5, text.length]) {
      const stream = new Base64Stream()
      const out: Uint8Array[] = []
      for (let at = 0; at < text.length; at += size) out.push(stream.push(new TextEncoder().encode(text.slice(at, at + size))))
      out.push(stream.finish())
      expect(Buffer.concat(out).equals(Buffer.from(bytes))).toBe(true)
    }
    for (const bad of ['ab$c', 'YQ==YQ==', 'YQ===', 'a\\nb']) {
      expect(() => {
        const stream = new Base64Stream()
        stream.push(new TextEncoder().encode(bad))
        stream.finish()
      }).toThrow(Base64Error)
    }
  })
})
