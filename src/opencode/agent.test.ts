import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { filePart } from './agent'

describe('a file as opencode takes it', () => {
  const bytes = new Uint8Array(Buffer.from('# notes\nthe button is red'))

  it('keeps the type of images and PDFs, so a model that takes them gets them as such', () => {
    expect(filePart({ filename: 'shot.png', mime: 'image/png', bytes: Uint8Array.from([1, 2, 3]) })).toEqual({
      type: 'file',
      mime: 'image/png',
      filename: 'shot.png',
      url: 'data:image/png;base64,AQID',
    })
    expect(filePart({ filename: 'spec.pdf', mime: 'application/pdf', bytes }).mime).toBe('application/pdf')
  })

  it('sends the text kinds as text/plain, which opencode reads into the conversation for any model', () => {
    const part = filePart({ filename: 'notes.md', mime: 'text/markdown', bytes })
    expect(part.mime).toBe('text/plain')
    expect(Buffer.from(part.url.replace('data:text/plain;base64,', ''), 'base64').toString()).toBe('# notes\nthe button is red')
  })
})
