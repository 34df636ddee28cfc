import { afterAll } from 'vitest'
import { endSessionsMadeHere } from './http'

// A setup file of the projects that run sessions: each test file ends what it started.
afterAll(endSessionsMadeHere)
