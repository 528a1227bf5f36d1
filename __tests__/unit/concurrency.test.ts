import { describe, expect, it } from '@jest/globals'
import { mapConcurrently, settleConcurrently } from '../../src/steps/concurrency.js'

describe('mapConcurrently', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0
    let peak = 0
    const results = await mapConcurrently([5, 1, 4, 2, 3], 2, async (n, index) => {
      running += 1
      peak = Math.max(peak, running)
      await new Promise(resolve => setTimeout(resolve, n * 3))
      running -= 1
      return n * 10 + index
    })
    expect(results).toEqual([50, 11, 42, 23, 34])
    expect(peak).toBe(2)
  })

  it('lets every item run before it throws the first failure', async () => {
    const ran: number[] = []
    await expect(
      mapConcurrently([1, 2, 3], 1, async n => {
        ran.push(n)
        await Promise.resolve()
        if (n === 1) throw new Error('one')
        return n
      })
    ).rejects.toThrow('one')
    expect(ran).toEqual([1, 2, 3])
    const settled = await settleConcurrently([1, 2], 5, async n => {
      await Promise.resolve()
      if (n === 2) throw new Error('two')
      return n
    })
    expect(settled.map(result => result.status)).toEqual(['fulfilled', 'rejected'])
  })
})
