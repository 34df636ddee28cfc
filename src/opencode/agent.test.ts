import { describe, expect, it } from 'vitest'
import { filePart } from './agent'

describe('a file as opencode takes it', () => {
  it('keeps the type of images and PDFs, so a model that takes them gets them as such', () => {
    expect(filePart({ filename: 'shot.png', mime: 'image/png', path: '/home/user/attachments/msg_1/1-shot.png' })).toEqual({
      type: 'file',
      mime: 'image/png',
      filename: 'shot.png',
      url: 'file:///home/user/attachments/msg_1/1-shot.png',
    })
    expect(filePart({ filename: 'spec.pdf', mime: 'application/pdf', path: '/h/1-spec.pdf' }).mime).toBe('application/pdf')
  })

  it('sends the text kinds as text/plain, which opencode reads with its Read tool for any model', () => {
    expect(filePart({ filename: 'notes.md', mime: 'text/markdown', path: '/h/1-notes.md' }).mime).toBe('text/plain')
  })

  it('names the file by a URL its path comes back from whole, whatever the name holds', () => {
    const path = '/h/attachments/msg_1/2-my report #1 (final)?.csv'
    const { url } = filePart({ filename: 'x', mime: 'text/csv', path })
    expect(decodeURIComponent(new URL(url).pathname)).toBe(path)
  })
})
