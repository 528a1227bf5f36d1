import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { DEFAULT_REGION, TOOLING_ACCOUNT, fixturesDir, useSandbox } from '../harness.js'

/**
 * Issue 18: the task-root checks cover every entry, however many. The real engine builds an
 * image whose /var/task holds over 200,000 entries with one file only root may read at the end
 * of docker cp's stream; the action must name it and stop before the push.
 */

const sandbox = useSandbox()

describe('a task root of 200,000 entries', () => {
  it('names the one unreadable file at the end of the stream and pushes nothing', async () => {
    const fn = await sandbox.seed({ label: 'large-task-root' })
    const run = await sandbox.run({
      'function-name': fn.name,
      repository: fn.repository,
      context: path.join(fixturesDir, 'large-task-root'),
      'build-args': `VERSION=${fn.name}`
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error title=task-files-not-readable (Lambda image check)')
    expect(run.stdout).toContain('1 entry under /var/task can be read only by their owner or group')
    expect(run.stdout).toContain('/var/task/zz-private/settings.json (file, mode 0600, uid 0)')
    expect(run.stdout).not.toContain('task-files-not-checked')
    expect(run.stdout).not.toContain('::group::Push')
    expect(await sandbox.control.registryTags(TOOLING_ACCOUNT, DEFAULT_REGION, fn.name)).toEqual([])
  })
})
