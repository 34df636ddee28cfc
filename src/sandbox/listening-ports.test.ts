import { describe, expect, it } from 'vitest'
import { listeningSockets, portChanges, portSet, samePorts } from './listening-ports'

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 51234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 51299 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 60001 1 0000000000000000 100 0 0 10 0
`
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1435 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 70007 1 0000000000000000 100 0 0 10 0
`

describe('listening ports', () => {
  it('reads the LISTEN sockets of tcp and tcp6 tables with their inodes, and no connection', () => {
    expect(listeningSockets(TCP)).toEqual([
      { port: 8080, inode: '51234' },
      { port: 3000, inode: '60001' },
    ])
    expect(listeningSockets(TCP6)).toEqual([{ port: 5173, inode: '70007' }])
    expect(listeningSockets('')).toEqual([])
  })

  it('says which ports opened and which closed between two looks', () => {
    expect(portChanges([3000, 8080], [3000, 5173])).toEqual([
      { port: 8080, state: 'closed' },
      { port: 5173, state: 'open' },
    ])
    expect(portChanges([3000], [3000])).toEqual([])
    expect(portSet([8080, 3000, 8080])).toEqual([3000, 8080])
    expect(samePorts([1, 2], [1, 2])).toBe(true)
    expect(samePorts([1], [1, 2])).toBe(false)
  })
})
