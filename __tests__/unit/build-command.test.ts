import { describe, expect, it } from '@jest/globals'
import {
  buildArguments,
  parseBuildMetadata,
  type BuildRequest
} from '../../src/domain/build-command.js'
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
  builder: 'default',
  metadataFile: '/tmp/metadata.json'
}

const CONFIG = `sha256:${'c'.repeat(64)}`
const MANIFEST = `sha256:${'a'.repeat(64)}`

describe('buildArguments', () => {
  it('builds one platform on the named builder, without attestations, loaded into docker', () => {
    expect(buildArguments(request)).toEqual([
      'buildx',
      'build',
      '--builder',
      'default',
      '--platform',
      'linux/arm64',
      '--provenance=false',
      '--sbom=false',
      '--load',
      '--file',
      'app/Dockerfile',
      '--metadata-file',
      '/tmp/metadata.json',
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

  it('never asks for an iidfile, which names an image the containerd store does not know', () => {
    expect(buildArguments(request)).not.toContain('--iidfile')
  })

  it('passes builder, target and caches through as separate arguments', () => {
    const args = buildArguments({
      ...request,
      builder: 'remote',
      target: 'runtime',
      cacheFrom: ['type=registry,ref=r:cache'],
      cacheTo: ['type=registry,ref=r:cache,mode=max']
    })
    expect(args.slice(0, 4)).toEqual(['buildx', 'build', '--builder', 'remote'])
    expect(args).toEqual(expect.arrayContaining(['--target', 'runtime']))
    expect(args.join(' ')).toContain(
      '--cache-from type=registry,ref=r:cache --cache-to type=registry,ref=r:cache,mode=max app'
    )
  })

  it('loads the result of a docker-container builder into the engine the push reads', () => {
    const args = buildArguments({ ...request, builder: 'builder-5f2c' })
    expect(args.slice(0, 4)).toEqual(['buildx', 'build', '--builder', 'builder-5f2c'])
    expect(args).toContain('--load')
    expect(args.filter(arg => arg.startsWith('--output') || arg === '--push')).toEqual([])
  })

  it('only exports the cache on a cache-only build: nothing is loaded or tagged', () => {
    const args = buildArguments({ ...request, cacheOnly: true, cacheTo: ['type=registry,ref=r:c'] })
    expect(args).toContain('--output=type=cacheonly')
    expect(args).not.toContain('--load')
    expect(args).not.toContain('--tag')
    expect(args.slice(args.indexOf('--cache-to'), args.indexOf('--cache-to') + 2)).toEqual([
      '--cache-to',
      'type=registry,ref=r:c'
    ])
  })

  it('asks for the base image from its registry when pull is set', () => {
    expect(buildArguments({ ...request, pull: true })).toContain('--pull')
    expect(buildArguments(request)).not.toContain('--pull')
  })

  it('keeps hostile values inside one argument', () => {
    const args = buildArguments({
      ...request,
      buildArgs: ['X=$(rm -rf /); --output=type=local,dest=/']
    })
    expect(args).toContain('X=$(rm -rf /); --output=type=local,dest=/')
    expect(args).not.toContain('--output=type=local,dest=/')
  })
})

describe('parseBuildMetadata', () => {
  it('reads the config and manifest digests buildx reports', () => {
    const text = JSON.stringify({
      'buildx.build.ref': 'default/default/abc',
      'containerimage.config.digest': CONFIG,
      'containerimage.digest': MANIFEST,
      'image.name': 'app:v1'
    })
    expect(parseBuildMetadata(text)).toEqual({ configDigest: CONFIG, manifestDigest: MANIFEST })
  })

  it('accepts metadata without a manifest digest', () => {
    const text = JSON.stringify({ 'containerimage.config.digest': CONFIG })
    expect(parseBuildMetadata(text)).toEqual({ configDigest: CONFIG, manifestDigest: undefined })
  })

  it.each(['', '{}', '{"containerimage.config.digest":"latest"}', 'not json'])(
    'refuses metadata without a config digest: %p',
    text => {
      expect(() => parseBuildMetadata(text)).toThrow(ActionError)
      expect(() => parseBuildMetadata(text)).toThrow(/containerimage.config.digest/)
    }
  )
})
