import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { built, pushed, useInputsChanged } from '../fresh-runner-support.js'
import { useSandbox } from '../harness.js'
import { MANIFEST_TYPES, expectSucceeded, servedManifest } from '../support.js'

/**
 * rebuild: if-inputs-changed (the default) through the real engine and registry, on a fresh
 * runner: a run whose inputs the repository already holds an image of builds and pushes nothing,
 * even on an engine that has neither the image nor any build cache (what the next job on a fresh
 * runner has). And the build cache (a registry cache on the containerd store, inline on the
 * classic store): a fresh runner rebuilds only the steps after a change. Serial: forgetting the build cache prunes the engine's whole builder.
 * Which changes of the inputs make a build (no pruning) is in engine/fresh-runner.test.ts.
 */

const PUBLIC_BASE = 'public.ecr.aws/lambda/provided:al2023'
const STORE = process.env.LAMBDA_STACK_IMAGE_STORE ?? 'classic'

const sandbox = useSandbox()
const { seed, deploy } = useInputsChanged(sandbox, 'fresh-runner-')

function docker(args: string[]) {
  return execFileSync('docker', args, { encoding: 'utf8', timeout: 120_000 })
}

/** What a fresh runner's engine holds of this repository's images, and any build cache. */
function forgetEverything(repository: string): void {
  const images = docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repository])
    .split('\n')
    .filter(line => line !== '' && !line.endsWith(':<none>'))
  if (images.length > 0) docker(['image', 'rm', '--force', ...images])
  docker(['builder', 'prune', '--all', '--force'])
}

/** The manifest digest a tag names in the registry. */
async function tagDigest(repository: string, tag: string): Promise<string | undefined> {
  return (await servedManifest(repository, tag, MANIFEST_TYPES))?.digest
}

describe('rebuild: if-inputs-changed (the default)', () => {
  it('builds and pushes nothing when the repository holds an image of the same inputs, on an engine without the image or any build cache', async () => {
    const fn = await seed('fresh-runner')
    const first = await deploy(fn)
    expectSucceeded(first)
    expect(built(first)).toBe(true)
    expect(first.outputs.built).toBe('true')
    const digest = first.outputs['image-digest']!
    const inputsDigest = first.outputs['inputs-digest']!
    expect(inputsDigest).toMatch(/^sha256:[0-9a-f]{64}$/)
    // The image records its inputs, and the repository names it by them.
    const tag = `inputs-${inputsDigest.slice('sha256:'.length)}`
    expect(await tagDigest(fn.repository, tag)).toBe(digest)

    forgetEverything(fn.repository)
    await sandbox.control.clearCalls()
    const second = await deploy(fn, { tags: 'v2' })
    expectSucceeded(second)
    expect(built(second)).toBe(false)
    expect(pushed(second)).toBe(false)
    expect(second.outputs.built).toBe('false')
    expect(second.outputs['inputs-digest']).toBe(inputsDigest)
    expect(second.outputs['image-digest']).toBe(digest)
    expect(second.outputs.deployed).toBe('false')
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(0)
    expect(second.stdout).toContain(`The repository holds ${tag}, built from these same inputs`)
    expect(second.summary).toContain('skipped: the repository holds')
    // The run's own tag is added to the image, without a push.
    expect(await tagDigest(fn.repository, 'v2')).toBe(digest)
    const calls = (await sandbox.control.calls()).map(call => call.operation)
    expect(calls).toContain('PutImage')
    // And nothing was loaded into the engine.
    expect(docker(['image', 'ls', '--quiet', fn.repository]).trim()).toBe('')
  })
})

describe('the registry build cache (registry-cache: true, the default)', () => {
  /** A RUN step whose output differs on every run: only a cache hit gives the same layer. */
  const CACHED_DOCKERFILE = [
    `FROM ${PUBLIC_BASE} AS build`,
    'RUN mkdir -p /out && date +%s%N > /out/stamp',
    `FROM ${PUBLIC_BASE}`,
    'COPY --from=build /out/stamp /var/task/stamp',
    'COPY bootstrap /var/runtime/bootstrap',
    'CMD ["function.handler"]',
    ''
  ].join('\n')

  async function layers(repository: string, digest: string): Promise<string[]> {
    const served = await servedManifest(repository, digest, MANIFEST_TYPES)
    return (served!.manifest.layers ?? []).map(layer => layer.digest)
  }

  it(`on the ${STORE} store: a one-line change on a fresh runner rebuilds only the steps after it`, async () => {
    const fn = await seed('cache')
    writeFileSync(path.join(fn.context, 'Dockerfile'), CACHED_DOCKERFILE)
    const first = await deploy(fn)
    expectSucceeded(first)
    forgetEverything(fn.repository)
    writeFileSync(path.join(fn.context, 'bootstrap'), '#!/bin/sh\necho "one line changed"\n', {
      mode: 0o755
    })
    const second = await deploy(fn)
    expectSucceeded(second)
    expect(second.outputs.built).toBe('true')
    const before = await layers(fn.repository, first.outputs['image-digest']!)
    const after = await layers(fn.repository, second.outputs['image-digest']!)
    // The last layer is the changed file's.
    expect(after.at(-1)).not.toBe(before.at(-1))
    if (STORE === 'classic') {
      // The classic store's own builder caches inline, in the image the function runs.
      expect(second.stdout).toContain('Build cache: inline in the image')
      expect(second.stdout).toContain(
        `importing cache manifest from ${fn.repository}@${first.outputs['image-digest']!}`
      )
    } else {
      expect(second.stdout).toContain(`Build cache: ${fn.repository}:buildcache-x86_64`)
      expect(second.stdout).toMatch(/importing cache manifest from [^\n]*buildcache-x86_64/)
      expect(await tagDigest(fn.repository, 'buildcache-x86_64')).toMatch(/^sha256:/)
    }
    // The RUN step came from the cache in the repository: the same stamp layer.
    expect(after.slice(0, -1)).toEqual(before.slice(0, -1))
  })
})
