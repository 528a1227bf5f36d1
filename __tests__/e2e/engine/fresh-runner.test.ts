import { describe, expect, it } from '@jest/globals'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { built, useInputsChanged } from '../fresh-runner-support.js'
import { DEFAULT_REGION, TOOLING_ACCOUNT, registryHost, useSandbox } from '../harness.js'
import { expectSucceeded, publishPrivateBase } from '../support.js'

/**
 * rebuild: if-inputs-changed (the default) through the real engine and registry: every input
 * that changes the image makes it build, and a .dockerignored file does not; going back to inputs
 * the repository holds an image of deploys that image without a build. What a fresh runner (no
 * image, no build cache: the builder pruned, machine-wide) does is in serial/fresh-runner.test.ts.
 */

const sandbox = useSandbox()
const { seed, deploy } = useInputsChanged(sandbox, 'inputs-changed-')

describe('rebuild: if-inputs-changed (the default)', () => {
  it('deploys the image of these inputs to a function that runs another one, still without building', async () => {
    const fn = await seed('other-image')
    const first = await deploy(fn)
    expectSucceeded(first)
    const changed = await deploy(fn, { 'build-args': 'GREETING=bonjour' })
    expectSucceeded(changed)
    expect(built(changed)).toBe(true)
    // Back to the first inputs: the repository holds their image, which is deployed again.
    await sandbox.control.clearCalls()
    const back = await deploy(fn)
    expectSucceeded(back)
    expect(built(back)).toBe(false)
    expect(back.outputs['image-digest']).toBe(first.outputs['image-digest'])
    expect(back.outputs.deployed).toBe('true')
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(1)
  })

  interface Change {
    readonly label: string
    /** Changes the context (or not) and returns the inputs that differ from the first run. */
    readonly change: (fn: { context: string }) => Record<string, string>
    readonly builds: boolean
  }
  it.each<Change>([
    {
      label: 'a changed file in the context',
      change: fn => {
        writeFileSync(path.join(fn.context, 'bootstrap'), '#!/bin/sh\necho changed\n', {
          mode: 0o755
        })
        return {}
      },
      builds: true
    },
    {
      label: 'a changed build argument',
      change: () => ({ 'build-args': 'GREETING=hola' }),
      builds: true
    },
    {
      label: 'a changed file that .dockerignore leaves out',
      change: fn => {
        writeFileSync(path.join(fn.context, 'notes.md'), 'edited\n')
        return {}
      },
      builds: false
    },
    { label: 'rebuild: always', change: () => ({ rebuild: 'always' }), builds: true }
  ])('$label: builds is $builds', async ({ change, builds }) => {
    const fn = await seed('change')
    expectSucceeded(await deploy(fn))
    const run = await deploy(fn, change(fn))
    expectSucceeded(run)
    expect(built(run)).toBe(builds)
    expect(run.outputs.built).toBe(String(builds))
  })

  it('builds when the base image moved to another digest, with nothing else changed', async () => {
    const fn = await seed('moved-base')
    // A private base in ECR: this test can move its tag.
    await sandbox.control.createRepository({
      account: TOOLING_ACCOUNT,
      region: DEFAULT_REGION,
      name: `${fn.name}-base`
    })
    const base = `${registryHost()}/${fn.name}-base:al2023`
    const publishBase = (generation: string) => publishPrivateBase(base, `generation=${generation}`)
    publishBase('1')
    const first = await deploy(fn, { 'build-args': `BASE=${base}` })
    expectSucceeded(first)
    expect(built(first)).toBe(true)
    const same = await deploy(fn, { 'build-args': `BASE=${base}` })
    expectSucceeded(same)
    expect(built(same)).toBe(false)

    publishBase('2')
    const moved = await deploy(fn, { 'build-args': `BASE=${base}` })
    expectSucceeded(moved)
    expect(built(moved)).toBe(true)
    expect(moved.outputs['inputs-digest']).not.toBe(first.outputs['inputs-digest'])
    expect(moved.outputs['base-image-digest']).not.toBe(first.outputs['base-image-digest'])
  })
})
