import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { fixturesDir, useSandbox } from '../harness.js'

/**
 * A base image past its end of support (issue 26): the deploy and the scheduled refresh warn,
 * naming the successor. The fixture builds FROM public.ecr.aws/lambda/provided:al2, which AWS's
 * "Lambda runtimes" page gives the deprecation date 2026-07-31 and whose successor is
 * provided:al2023; the stand-in base under that name is built by stack/base-images.sh. The
 * expected text is written here from that page, not read from the action's table.
 */

const sandbox = useSandbox()
const PAST = path.join(fixturesDir, 'base-past-end-of-support')
const SUPPORTED = path.join(fixturesDir, 'smoke-provided-bootstrap')
const WARNING = '::warning title=Base image past its end of support::'

function warningOf(stdout: string): string | undefined {
  return stdout.split('\n').find(line => line.startsWith(WARNING))
}

describe('a base image past its end of support', () => {
  it('is named in a warning and the summary by the deploy and by the refresh that rebuilds nothing', async () => {
    const fn = await sandbox.seed({ label: 'eos' })
    const deploy = await sandbox.run({
      'function-name': fn.name,
      repository: fn.repository,
      context: PAST,
      tags: `eos-${Date.now()}`,
      rebuild: 'always'
    })
    expect(deploy.exitCode).toBe(0)
    expect(deploy.outputs.deployed).toBe('true')
    const warning = warningOf(deploy.stdout)
    expect(warning).toContain('public.ecr.aws/lambda/provided:al2 ')
    expect(warning).toContain('2026-07-31')
    expect(warning).toContain('Move to public.ecr.aws/lambda/provided:al2023')
    expect(deploy.summary).toContain('Base image past its end of support:')
    expect(deploy.summary).toContain('public.ecr.aws/lambda/provided:al2023')

    // The scheduled refresh: the base has not moved, so nothing is built, and it still warns.
    const refresh = await sandbox.run({
      'function-name': fn.name,
      repository: fn.repository,
      context: PAST,
      tags: `eos-refresh-${Date.now()}`,
      rebuild: 'if-base-changed'
    })
    expect(refresh.exitCode).toBe(0)
    expect(refresh.outputs['base-image-updated']).toBe('false')
    expect(refresh.outputs.deployed).toBe('false')
    expect(refresh.stdout).not.toContain('::group::Build')
    expect(warningOf(refresh.stdout)).toContain('Move to public.ecr.aws/lambda/provided:al2023')
    expect(refresh.summary).toContain('Base image past its end of support:')
  })

  it('is not reported for a supported base (provided:al2023)', async () => {
    const fn = await sandbox.seed({ label: 'eos-supported' })
    const deploy = await sandbox.run({
      'function-name': fn.name,
      repository: fn.repository,
      context: SUPPORTED,
      tags: `supported-${Date.now()}`
    })
    expect(deploy.exitCode).toBe(0)
    expect(deploy.outputs['base-image']).toBe('public.ecr.aws/lambda/provided:al2023')
    expect(warningOf(deploy.stdout)).toBeUndefined()
    expect(deploy.summary).not.toContain('end of support')
  })
})
