import { describe, expect, it, jest } from '@jest/globals'
import type { AwsServices } from '../../src/adapters/aws-clients.js'
import type { ContainerRegistry, StoredManifest } from '../../src/adapters/ecr.js'
import { parseRepositoryUri } from '../../src/domain/aws-names.js'
import { ActionError } from '../../src/domain/errors.js'
import type { FunctionResult } from '../../src/steps/deploy-functions.js'
import { moveDeployedTag } from '../../src/steps/move-deployed-tag.js'
import type { DeployPlan, DeployTarget } from '../../src/steps/resolve-target.js'

const repository = parseRepositoryUri('111111111111.dkr.ecr.us-east-1.amazonaws.com/app')
const target = { repository, region: 'us-east-1' } as unknown as DeployTarget
const plan = { repositories: [repository], targets: [target] } as unknown as DeployPlan
const pushed = { digest: 'sha256:new', imageUri: `${repository.uri}@sha256:new`, mediaType: 'x' }
const manifest = (digest: string): StoredManifest => ({ digest, mediaType: 'x', body: '{}' })

type TagImage = (repository: unknown, manifest: StoredManifest, tag: string) => Promise<void>

function registryWith(
  tagged: string | undefined,
  tagImage = jest.fn<TagImage>(() => Promise.resolve())
) {
  const registry = {
    findTagged: jest.fn(() => Promise.resolve(tagged ? manifest(tagged) : undefined)),
    manifest: jest.fn((_repository: unknown, digest: string) => Promise.resolve(manifest(digest))),
    tagImage
  } as unknown as ContainerRegistry
  const aws = { registry: () => registry } as unknown as AwsServices
  return { registry, aws, tagImage }
}

const ok: FunctionResult[] = [{ target, status: 'updated' }]

describe('moveDeployedTag', () => {
  it('moves the tag to the deployed image and says where it was', async () => {
    const { aws, tagImage } = registryWith('sha256:old')
    const moves = await moveDeployedTag('deployed', plan, () => pushed, ok, aws)
    expect(tagImage).toHaveBeenCalledWith(repository, manifest('sha256:new'), 'deployed')
    expect(moves).toEqual([
      { repository: repository.uri, tag: 'deployed', digest: 'sha256:new', previous: 'sha256:old' }
    ])
  })

  it('changes nothing when the tag names the image already', async () => {
    const { aws, tagImage } = registryWith('sha256:new')
    const [move] = await moveDeployedTag('deployed', plan, () => pushed, ok, aws)
    expect(tagImage).not.toHaveBeenCalled()
    expect(move?.previous).toBeUndefined()
  })

  it('leaves the tag on the old image while a function of the repository failed', async () => {
    const { aws, tagImage } = registryWith('sha256:old')
    const failed: FunctionResult[] = [{ target, status: 'failed', error: new Error('x') }]
    const [move] = await moveDeployedTag('deployed', plan, () => pushed, failed, aws)
    expect(tagImage).not.toHaveBeenCalled()
    expect(move?.skipped).toContain('failed to deploy')
  })

  it('reports a tag it cannot move (immutable tags) instead of failing the deployed step', async () => {
    const refused = jest.fn<TagImage>(() =>
      Promise.reject(
        new ActionError('image-tag-immutable', 'tags are immutable', 'make them mutable')
      )
    )
    const { aws } = registryWith('sha256:old', refused)
    const [move] = await moveDeployedTag('deployed', plan, () => pushed, ok, aws)
    expect(move?.skipped).toContain('[image-tag-immutable]')
  })
})
