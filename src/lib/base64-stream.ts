import { Buffer } from 'node:buffer'

/**
 * Standard base64 decoded as its text arrives, a piece at a time (the text of a JSON string, so
 * `\/` stands for `/`). Lenient about a missing final padding, as Buffer is; strict about
 * anything else: letters, digits, `+` and `/`, then at most two `=` at the very end.
 */
export class Base64Stream {
  private carry = ''
  /** how many `=` have come: after the first, only `=` may follow, two at most */
  private pads = 0
  private escaped = false

  /** The bytes `text` (ASCII, maybe cut anywhere) completes; throws on a character base64 has no place for. */
  push(bytes: Uint8Array): Uint8Array {
    let text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
    if (this.escaped || text.includes('\\')) text = this.unescape(text)
    if (text === '') return new Uint8Array()
    const valid = this.pads > 0 ? /^=*$/ : /^[A-Za-z0-9+/]*=*$/
    if (!valid.test(text)) throw new Base64Error()
    this.pads += text.length - text.replace(/=+$/, '').length
    if (this.pads > 2) throw new Base64Error()
    const all = this.carry + text
    const whole = all.length - (all.length % 4)
    this.carry = all.slice(whole)
    return new Uint8Array(Buffer.from(all.slice(0, whole), 'base64'))
  }

  /** The last bytes, once the text has ended. */
  finish(): Uint8Array {
    if (this.escaped) throw new Base64Error()
    const rest = new Uint8Array(Buffer.from(this.carry, 'base64'))
    this.carry = ''
    return rest
  }

  private unescape(text: string): string {
    let out = ''
    for (const ch of text) {
      if (this.escaped) {
        if (ch !== '/') throw new Base64Error()
        out += ch
        this.escaped = false
      } else if (ch === '\\') this.escaped = true
      else out += ch
    }
    return out
  }
}

export class Base64Error extends Error {
  override name = 'Base64Error'
  constructor() {
    super('standard base64')
  }
}
