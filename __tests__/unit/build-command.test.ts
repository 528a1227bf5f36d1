import { describe, expect, it } from '@jest/globals'
import { buildArguments, type BuildRequest } from '../../src/domain/build-command.js'
import { ActionError } from '../../src/domain/errors.js'

const request: BuildRequest = {
  context: 'app',
  file: 'app/Dockerfile',
  platform: 'linux/arm64',
  buildArgs: ['A=1'],
  labels: ['org.opencontainers.image.revision=abc'],
  imageRefs: ['111111111111.dkr.ecr.us-east-1.amazonaws.com/app:v1'],
  secretFiles: [{ id: 'token', path: '/tmp/secret-0' }],
  cacheFrom: [],
  cacheTo: [],
  iidFile: '/tmp/iid'
}

describe('buildArguments', () => {
  it('builds one platform with buildx, without attestations, loaded into docker', () => {
    expect(buildArguments(request, { buildx: true, attestationFlags: true })).toEqual([
      'buildx',
      'build',
      '--platform',
      'linux/arm64',
      '--provenance=false',
      '--sbom=false',
      '--load',
      '--file',
      'app/Dockerfile',
      '--iidfile',
      '/tmp/iid',
      '--build-arg',
      'A=1',
      '--label',
      'org.opencontainers.image.revision=abc',
      '--tag',
      '111111111111.dkr.ecr.us-east-1.amazonaws.com/app:v1',
      '--secret',
      'id=token,src=/tmp/secret-0',
      'app'
    ])
  })

  it('leaves out attestation flags that an old buildx does not know', () => {
    const args = buildArguments(request, { buildx: true, attestationFlags: false })
    expect(args).not.toContain('--provenance=false')
    expect(args).toContain('--load')
  })

  it('passes builder, target and caches through as separate arguments', () => {
    const args = buildArguments(
      {
        ...request,
        builder: 'remote',
        target: 'runtime',
        cacheFrom: ['type=registry,ref=r:cache'],
        cacheTo: ['type=registry,ref=r:cache,mode=max']
      },
      { buildx: true, attestationFlags: true }
    )
    expect(args.slice(0, 4)).toEqual(['buildx', 'build', '--builder', 'remote'])
    expect(args).toEqual(expect.arrayContaining(['--target', 'runtime']))
    expect(args.join(' ')).toContain(
      '--cache-from type=registry,ref=r:cache --cache-to type=registry,ref=r:cache,mode=max app'
    )
  })

  it('falls back to docker build when buildx is missing', () => {
    const args = buildArguments(request, { buildx: false, attestationFlags: false })
    expect(args.slice(0, 3)).toEqual(['build', '--platform', 'linux/arm64'])
    expect(args).not.toContain('--load')
  })

  it('refuses buildx-only inputs when buildx is missing', () => {
    expect(() =>
      buildArguments(
        { ...request, cacheTo: ['type=inline'] },
        { buildx: false, attestationFlags: false }
      )
    ).toThrow(ActionError)
  })

  it('keeps hostile values inside one argument', () => {
    const args = buildArguments(
      { ...request, buildArgs: ['X=$(rm -rf /); --output=type=local,dest=/'] },
      { buildx: true, attestationFlags: true }
    )
    expect(args).toContain('X=$(rm -rf /); --output=type=local,dest=/')
    expect(args).not.toContain('--output=type=local,dest=/')
  })
})
