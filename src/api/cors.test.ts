import { describe, expect, it } from 'vitest'
import { corsOrigins } from './cors'

describe('CORS_ORIGINS', () => {
  it('reads comma-separated origins, trimmed and without trailing slashes', () => {
    expect(corsOrigins(' https://a.example , http://127.0.0.1:5173/ ,,')).toEqual(['https://a.example', 'http://127.0.0.1:5173'])
  })

  it('grants nothing when unset or empty', () => {
    expect(corsOrigins(undefined)).toEqual([])
    expect(corsOrigins(' , ')).toEqual([])
  })
})
