import { describe, expect, it } from 'vitest'
import { loggedPath } from './errors'

describe('the path an error line logs', () => {
  it('leaves out a preview’s token, its credential, and keeps the rest', () => {
    expect(loggedPath('/preview/eyJzZXNzaW9uSWQiOiJ4In0.c2lnbmF0dXJl/assets/app.js')).toBe('/preview/<token>/assets/app.js')
    expect(loggedPath('/preview/eyJ.sig')).toBe('/preview/<token>')
    expect(loggedPath('/v1/sessions/ses_1/events')).toBe('/v1/sessions/ses_1/events')
  })
})
