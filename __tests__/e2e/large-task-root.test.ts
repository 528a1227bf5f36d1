import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { repoRoot, runAction } from '../../stack/run-action.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'

/**
 * Issue 18: the task-root checks cover every entry, however many. The real engine builds an
 * image whose /var/task holds over 200,000 entries with one file only root may read at the end
 * of docker cp's stream; the action must name it and stop before the push.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'

let standIn: StandIn
let control: StandInControl

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
})

afterAll(async () => {
  await standIn.close()
})

describe('a task root of 200,000 entries', () => {
  it('names the one unreadable file at the end of the stream and pushes nothing', async () => {
    const name = `large-task-root-${process.pid}`
    await control.createRepository({ account: ACCOUNT, region: REGION, name })
    await control.createFunction({ account: ACCOUNT, region: REGION, name, packageType: 'Image' })
    const run = await runAction(
      {
        'function-name': name,
        repository: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${name}`,
        context: path.join(repoRoot, '__tests__', 'fixtures', 'large-task-root'),
        'build-args': `VERSION=${name}`
      },
      { standInUrl: standIn.url, account: ACCOUNT, region: REGION }
    )
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error title=task-files-not-readable (Lambda image check)')
    expect(run.stdout).toContain('1 entry under /var/task can be read only by their owner or group')
    expect(run.stdout).toContain('/var/task/zz-private/settings.json (file, mode 0600, uid 0)')
    expect(run.stdout).not.toContain('task-files-not-checked')
    expect(run.stdout).not.toContain('::group::Push')
    expect(await control.registryTags(ACCOUNT, REGION, name)).toEqual([])
  })
})
