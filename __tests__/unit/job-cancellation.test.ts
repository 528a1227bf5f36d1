import { describe, expect, it, jest } from '@jest/globals'

/** The entry point's signal handler, replaced: the deferrals it is given are recorded. */
const deferred: ((signal: NodeJS.Signals) => void)[] = []
jest.unstable_mockModule('../../src/adapters/temporary-files.js', () => ({
  deferCancellation: (onSignal: (signal: NodeJS.Signals) => void) => {
    deferred.push(onSignal)
    return () => {
      deferred.splice(deferred.indexOf(onSignal), 1)
    }
  }
}))
const { watchJobCancellation } = await import('../../src/adapters/job-cancellation.js')

describe('watchJobCancellation', () => {
  it('takes the signals over only while something holds them', () => {
    const cancellation = watchJobCancellation()
    expect(deferred).toHaveLength(0)
    const first = cancellation.hold()
    const second = cancellation.hold()
    expect(deferred).toHaveLength(1)
    first()
    first()
    expect(deferred).toHaveLength(1)
    second()
    expect(deferred).toHaveLength(0)
    expect(cancellation.signal.aborted).toBe(false)
  })

  it('aborts on the first signal, names it, and marks the run failed', () => {
    const cancellation = watchJobCancellation()
    const release = cancellation.hold()
    const exitCode = process.exitCode
    try {
      deferred[0]!('SIGINT')
      deferred[0]!('SIGTERM')
      expect(cancellation.signal.aborted).toBe(true)
      expect((cancellation.signal.reason as Error).message).toBe('the job was cancelled (SIGINT)')
      expect(process.exitCode).toBe(1)
    } finally {
      process.exitCode = exitCode
      release()
    }
  })
})
