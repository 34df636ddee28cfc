// @ts-check
// Files for a message, read into `{filename, mime, data}` (base64) as POST /v1/sessions/:id/messages takes them.
// What is accepted (types, how many, how large) is read from /openapi.json, the API's own schemas,
// so the page refuses early what the API would refuse, and the API stays the one that decides.
import { loadSpec } from '../openapi.js'

/** @typedef {{ mimes: string[], maxFiles: number, maxBase64: number }} Rules */
/** @typedef {{ filename: string, mime: string, data: string, size: number }} PendingFile */

/** Browsers leave `type` empty for some files (often .md); the extension then says what it is. @type {Record<string, string>} */
const BY_EXTENSION = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', pdf: 'application/pdf',
  txt: 'text/plain', md: 'text/markdown', markdown: 'text/markdown', csv: 'text/csv', json: 'application/json',
}

/** What the API accepts, from the schemas of /openapi.json. @returns {Promise<Rules>} */
export async function loadRules() {
  let schemas
  try {
    schemas = (await loadSpec()).components.schemas
  } catch (err) {
    throw new Error(`cannot read what the API accepts (${err instanceof Error ? err.message : err})`)
  }
  const file = schemas.Attachment.properties
  return { mimes: file.mime.enum, maxFiles: schemas.SendMessage.properties.attachments.maxItems, maxBase64: file.data.maxLength }
}

/** @param {string} name */
const extension = (name) => (/\.([^.]+)$/.exec(name || '') || [])[1]?.toLowerCase() ?? ''
/** @param {File} file */
const mimeOf = (file) => file.type || BY_EXTENSION[extension(file.name)] || ''

/** The `accept` of a file picker: the types, and the extensions of those types. @param {Rules} r */
export const acceptOf = (r) => [...r.mimes, ...Object.keys(BY_EXTENSION).filter((x) => r.mimes.includes(BY_EXTENSION[x] ?? '')).map((x) => `.${x}`)].join(',')

/** Why `file` cannot join the `count` files already chosen; undefined when it can. @param {Rules} r @param {number} count @param {File} file */
export function refusal(r, count, file) {
  const mime = mimeOf(file)
  if (!r.mimes.includes(mime)) return `${file.name || 'this file'}: ${mime || 'an unknown type'} is not accepted (${r.mimes.join(', ')})`
  if (count >= r.maxFiles) return `at most ${r.maxFiles} files per message`
  if (Math.ceil(file.size / 3) * 4 > r.maxBase64) return `${file.name} is too large (${size(file.size)})`
  return undefined
}

/** A pasted image arrives as `image.png`; several pasted files get numbers so they can be told apart. @param {File} file @param {number} index */
function nameOf(file, index) {
  if (file.name && file.name !== 'image.png') return file.name
  return `pasted-${index + 1}.${extension(file.name) || Object.keys(BY_EXTENSION).find((x) => BY_EXTENSION[x] === mimeOf(file)) || 'bin'}`
}

/** The file read as base64. @param {File} file @param {number} index @returns {Promise<PendingFile>} */
export function read(file, index) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onerror = () => reject(reader.error || new Error(`cannot read ${file.name}`))
    reader.onload = () => {
      const url = String(reader.result)
      resolve({ filename: nameOf(file, index), mime: mimeOf(file), data: url.slice(url.indexOf(',') + 1), size: file.size })
    }
    reader.readAsDataURL(file)
  })
}

/** @param {number} bytes */
export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
