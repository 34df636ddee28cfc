// @ts-check
// The API's own description (GET /openapi.json, made from the zod schemas that validate every
// request), fetched once per page for all who read it.

/** @type {Promise<any> | undefined} */
let spec

/** The OpenAPI document; a failed fetch is tried again by the next caller. */
export function loadSpec() {
  spec ??= fetch('/openapi.json').then((res) => {
    if (!res.ok) throw new Error(`/openapi.json answered ${res.status}`)
    return res.json()
  })
  spec.catch(() => { spec = undefined })
  return spec
}
