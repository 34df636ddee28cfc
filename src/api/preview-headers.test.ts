import { describe, expect, it } from 'vitest'
import { PREVIEW_CSP, previewRequestHeaders, previewResponseHeaders } from './preview-headers'

describe('preview headers', () => {
  it('hands the sandbox neither the browser’s credentials nor the platform’s headers, and sets the provider’s own', () => {
    const out = previewRequestHeaders(
      new Headers({ authorization: 'Bearer key', cookie: 'a=1', host: 'api', 'cf-connecting-ip': '1.2.3.4', accept: 'text/html', upgrade: 'websocket' }),
      { 'e2b-traffic-access-token': 't' },
    )
    expect([...out.keys()].sort()).toEqual(['accept', 'e2b-traffic-access-token', 'upgrade'])
  })

  it('keeps the page from the origin: no cookie set, an opaque origin, no referer; redirects stay under the prefix', () => {
    const out = previewResponseHeaders(
      new Headers({ 'set-cookie': 's=1', location: '/login?x=1', 'content-type': 'text/html', 'content-security-policy': "default-src *" }),
      '/preview/tok',
    )
    expect(out.get('set-cookie')).toBeNull()
    expect(out.get('location')).toBe('/preview/tok/login?x=1')
    expect(out.get('content-security-policy')).toBe(PREVIEW_CSP)
    expect(out.get('referrer-policy')).toBe('no-referrer')
    expect(out.get('content-type')).toBe('text/html')
    expect(previewResponseHeaders(new Headers({ location: '//evil.example/x' }), '/preview/tok').get('location')).toBe('//evil.example/x')
    expect(previewResponseHeaders(new Headers({ location: 'https://elsewhere/' }), '/preview/tok').get('location')).toBe('https://elsewhere/')
  })
})
