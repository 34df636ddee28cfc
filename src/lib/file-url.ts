/** A `file:` URL of an absolute path in a sandbox, each segment percent-encoded (spaces, `#`, `?` in names). */
export const fileUrl = (path: string): string => `file://${path.split('/').map(encodeURIComponent).join('/')}`
