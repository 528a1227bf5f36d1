import { describe, expect, it } from '@jest/globals'
import type { InspectedImage } from '../../src/adapters/docker.js'
import type { RegistryHttp } from '../../src/adapters/registry-http.js'
import { findDockerfileBase } from '../../src/domain/dockerfile-base.js'
import { ActionError } from '../../src/domain/errors.js'
import {
  baseLabels,
  builderCanPull,
  ecrRegistriesOf,
  resolveBaseImage,
  verifyBaseLayers,
  type ResolvedBase
} from '../../src/steps/base-image.js'
import type { BuildSettings } from '../../src/inputs.js'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

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

  it.each([
    [
      'a public base with a resolved digest is pulled afresh',
      'public.ecr.aws/lambda/nodejs:22',
      DIGEST,
      true
    ],
    // The build logs in to its registry, so a stale local copy is never what it builds on.
    [
      'a private ECR base with a resolved digest is pulled afresh',
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/base:1',
      DIGEST,
      true
    ],
    [
      'a base whose digest could not be resolved is not',
      'public.ecr.aws/lambda/nodejs:22',
      null,
      false
    ]
  ])('%s (--pull)', (_, from, digest, pull) => {
    expect(builderCanPull(resolved(from, digest))).toBe(pull)
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

  it('names the registry of an image a RUN step mounts (from=IMAGE), which the build pulls too', () => {
    const mounted = '333333333333.dkr.ecr.us-west-2.amazonaws.com'
    const dockerfile = [
      'FROM public.ecr.aws/lambda/provided:al2023',
      `RUN --mount=type=bind,from=${mounted}/certs:1,target=/c cp /c/ca.pem /etc/ca.pem`
    ].join('\n')
    expect(ecrRegistriesOf({ base: findDockerfileBase(dockerfile), requests: 0 })).toEqual([
      mounted
    ])
  })
})

describe('resolveBaseImage', () => {
  it.each<[string, string, string | null]>([
    ['for the function’s platform', 'FROM public.ecr.aws/lambda/provided:al2023', 'linux/arm64'],
    [
      'for a FROM’s literal --platform',
      'FROM --platform=linux/amd64 public.ecr.aws/lambda/provided:al2023',
      'linux/amd64'
    ],
    [
      'not at all for FROM --platform=$BUILDPLATFORM (the builder’s platform is not known yet)',
      'FROM --platform=$BUILDPLATFORM public.ecr.aws/lambda/provided:al2023',
      null
    ]
  ])('resolves the base %s', async (_label, dockerfile, platform) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'resolve-base-'))
    const file = path.join(dir, 'Dockerfile')
    writeFileSync(file, `${dockerfile}\n`)
    const asked: string[] = []
    const registry = {
      resolvePlatformDigest: (reference: string, wanted: string) => {
        asked.push(wanted)
        return Promise.resolve({ image: reference, platform: wanted, digest: DIGEST, requests: 1 })
      }
    } as unknown as RegistryHttp
    const build = { file, buildArgs: [], labels: [] } as unknown as BuildSettings
    const result = await resolveBaseImage(build, 'arm64', registry)
    rmSync(dir, { recursive: true })
    expect(asked).toEqual(platform === null ? [] : [platform])
    expect(result.digest).toBe(platform === null ? undefined : DIGEST)
  })
})
