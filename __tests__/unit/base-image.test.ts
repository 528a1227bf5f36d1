import { describe, expect, it } from '@jest/globals'
import type { InspectedImage } from '../../src/adapters/docker.js'
import type { RegistryHttp } from '../../src/adapters/registry-http.js'
import { findDockerfileBase } from '../../src/domain/dockerfile-base.js'
import { ActionError } from '../../src/domain/errors.js'
import {
  baseLabels,
  builderCanPull,
  ecrRegistriesOf,
  verifyBaseLayers,
  type ResolvedBase
} from '../../src/steps/base-image.js'

const DIGEST = `sha256:${'1'.repeat(64)}`

/** `null`: the digest could not be resolved. */
function resolved(from: string, digest: string | null = DIGEST): ResolvedBase {
  return { base: findDockerfileBase(`FROM ${from}\n`), digest: digest ?? undefined, requests: 2 }
}

function image(diffIds: string[]): InspectedImage {
  return { diffIds } as unknown as InspectedImage
}

function registryWith(diffIds: string[], seen: string[] = []): RegistryHttp {
  return {
    readImageConfig: (reference: string) => {
      seen.push(reference)
      return Promise.resolve({
        digest: DIGEST,
        configDigest: DIGEST,
        labels: {},
        diffIds,
        requests: 2
      })
    }
  } as unknown as RegistryHttp
}

describe('base image labels and pulling', () => {
  it('labels the canonical name and the resolved platform digest', () => {
    expect(baseLabels(resolved('public.ecr.aws/lambda/nodejs:22'))).toEqual([
      'org.opencontainers.image.base.name=public.ecr.aws/lambda/nodejs:22',
      `org.opencontainers.image.base.digest=${DIGEST}`
    ])
    expect(baseLabels(resolved('node:22', null))).toEqual([
      'org.opencontainers.image.base.name=docker.io/library/node:22'
    ])
    expect(baseLabels({ base: findDockerfileBase('FROM scratch\n'), requests: 0 })).toEqual([])
  })

  it('lets the builder pull public bases, not private ECR ones (docker has no login for those)', () => {
    expect(builderCanPull(resolved('public.ecr.aws/lambda/nodejs:22'))).toBe(true)
    expect(builderCanPull(resolved('123456789012.dkr.ecr.eu-west-1.amazonaws.com/base:1'))).toBe(
      false
    )
    expect(builderCanPull(resolved('public.ecr.aws/lambda/nodejs:22', null))).toBe(false)
  })
})

describe('verifyBaseLayers', () => {
  it('accepts an image whose layers start with the base image’s, read by digest', async () => {
    const seen: string[] = []
    await verifyBaseLayers(
      image(['sha256:a', 'sha256:b', 'sha256:c']),
      resolved('public.ecr.aws/lambda/nodejs:22'),
      registryWith(['sha256:a', 'sha256:b'], seen)
    )
    expect(seen).toEqual([`public.ecr.aws/lambda/nodejs@${DIGEST}`])
  })

  it.each([
    ['another version of the base', ['sha256:x', 'sha256:b']],
    ['a base with no layers reported', []]
  ])('refuses %s', async (_, baseIds) => {
    await expect(
      verifyBaseLayers(
        image(['sha256:a', 'sha256:b', 'sha256:c']),
        resolved('public.ecr.aws/lambda/nodejs:22'),
        registryWith(baseIds)
      )
    ).rejects.toThrow(ActionError)
  })
})

describe('ecrRegistriesOf', () => {
  it('names each ECR registry the build pulls from once, and no public registry', () => {
    const other = '222222222222.dkr.ecr.eu-west-1.amazonaws.com'
    const dockerfile = [
      `FROM ${other}/tools:1 AS tools`,
      `FROM 111111111111.dkr.ecr.us-east-1.amazonaws.com/ecr-public/lambda/provided:al2023`,
      'COPY --from=tools /bin/tool /bin/tool',
      `COPY --from=${other}/assets:2 /a /a`,
      'COPY --from=public.ecr.aws/docker/library/busybox:1 /bin/busybox /bin/busybox'
    ].join('\n')
    const resolvedBase = { base: findDockerfileBase(dockerfile), requests: 0 }
    expect(ecrRegistriesOf(resolvedBase).sort()).toEqual([
      '111111111111.dkr.ecr.us-east-1.amazonaws.com',
      other
    ])
  })
})
