/** Page cursors: opaque to clients, the (createdAt, id) of the last item seen. */
export function encodeCursor(createdAt: string, id: string): string {
  return btoa(`${createdAt}|${id}`).replace(/=+$/, '')
}

export function decodeCursor(cursor: string): [string, string] | [undefined, undefined] {
  try {
    const [createdAt, id] = atob(cursor).split('|')
    return createdAt && id ? [createdAt, id] : [undefined, undefined]
  } catch {
    return [undefined, undefined]
  }
}
