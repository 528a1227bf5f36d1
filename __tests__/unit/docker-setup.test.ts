import { describe, expect, it } from '@jest/globals'
import {
  cacheType,
  checkCaches,
  checkDockerVersions,
  chooseBuilder,
  buildCaches,
  chooseCaches,
  describeDockerSetup,
  inlineCacheSources,
  versionAtLeast,
  type DockerFacts
} from '../../src/domain/docker-setup.js'
import { buildArguments } from '../../src/domain/build-command.js'

const runner: DockerFacts = {
  engineVersion: '28.0.4',
  apiVersion: '1.48',
  imageStore: 'classic',
  buildxVersion: '0.36.1',
  enginePlatform: 'linux/amd64',
  kernelVersion: '6.11.0-1018-azure',
  context: 'default',
  endpoint: 'unix:///var/run/docker.sock',
  builder: { name: 'default', driver: 'docker', platforms: ['linux/amd64'] }
}
const containerdStore: DockerFacts = { ...runner, imageStore: 'containerd' }
const onGitHub = {
  ACTIONS_RUNTIME_TOKEN: 'token',
  ACTIONS_RESULTS_URL: 'https://results.example/',
  ACTIONS_CACHE_SERVICE_V2: 'True'
}

describe('versionAtLeast', () => {
  it.each([
    ['28.5.2+dfsg4', '23.0.0', true],
    ['23.0.0', '23.0.0', true],
    ['20.10.24+dfsg1', '23.0.0', false],
    ['0.29.1+ds1', '0.10.0', true],
    ['0.9.1', '0.10.0', false],
    ['v0.36.1', '0.21.0', true],
    ['1.46', '1.46', true],
    ['unknown', '23.0.0', false]
  ])('%s >= %s is %s', (a, b, expected) => {
    expect(versionAtLeast(a, b)).toBe(expected)
  })
})

describe('checkDockerVersions', () => {
  it("accepts GitHub's ubuntu-24.04 engine and buildx", () => {
    expect(() => checkDockerVersions(runner)).not.toThrow()
  })

  it('refuses Docker 20.10, naming the version found and the one needed', () => {
    expect(() => checkDockerVersions({ ...runner, engineVersion: '20.10.24' })).toThrow(
      /version 20\.10\.24; this action needs 23\.0\.0 or later/
    )
  })

  it('refuses a buildx without --provenance, naming both versions', () => {
    expect(() => checkDockerVersions({ ...runner, buildxVersion: '0.9.1' })).toThrow(
      /buildx is 0\.9\.1; this action needs buildx 0\.10\.0 or later/
    )
  })

  it('says when buildx is not installed at all', () => {
    expect(() => checkDockerVersions({ ...runner, buildxVersion: '' })).toThrow(
      /buildx is not installed/
    )
  })
})

describe('chooseBuilder', () => {
  it("pins the engine's own builder, named after the docker context", () => {
    expect(chooseBuilder(undefined, 'default')).toBe('default')
    expect(chooseBuilder(undefined, 'colima')).toBe('colima')
  })

  it('uses the builder the input names', () => {
    expect(chooseBuilder('builder-1234', 'default')).toBe('builder-1234')
  })
})

describe('cacheType', () => {
  it.each([
    ['type=gha,scope=app', 'gha'],
    ['type=registry,ref=r:cache', 'registry'],
    ['mode=max, type=local,dest=/tmp/c', 'local'],
    ['user/app:cache', 'registry'],
    ['type=inline', 'inline']
  ])('%s is %s', (option, type) => {
    expect(cacheType(option)).toBe(type)
  })
})

describe('checkCaches', () => {
  const gha = { from: ['type=gha'], to: ['type=gha,mode=max'] }

  it('refuses any exported cache on the docker driver with the classic store', () => {
    expect(() =>
      checkCaches({ from: [], to: ['type=registry,ref=r:cache'] }, runner, onGitHub)
    ).toThrow(/classic image store, which supports only type=inline/)
  })

  it('lets an inline cache through on every store', () => {
    expect(() => checkCaches({ from: [], to: ['type=inline'] }, runner, {})).not.toThrow()
  })

  it('accepts type=gha on the containerd store inside a GitHub job', () => {
    expect(() => checkCaches(gha, containerdStore, onGitHub)).not.toThrow()
  })

  it('accepts type=gha on a docker-container builder with the classic store', () => {
    const container = {
      ...runner,
      builder: { name: 'builder-1', driver: 'docker-container', platforms: ['linux/amd64'] }
    }
    expect(() => checkCaches(gha, container, onGitHub)).not.toThrow()
  })

  it('refuses type=gha outside a GitHub job, where buildx would skip it silently', () => {
    expect(() => checkCaches(gha, containerdStore, {})).toThrow(/ACTIONS_RUNTIME_TOKEN/)
  })

  it('refuses type=gha without a cache service address', () => {
    expect(() => checkCaches(gha, containerdStore, { ACTIONS_RUNTIME_TOKEN: 'token' })).toThrow(
      /neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL/
    )
  })

  it('refuses type=gha with a buildx older than 0.21', () => {
    expect(() =>
      checkCaches(gha, { ...containerdStore, buildxVersion: '0.20.1' }, onGitHub)
    ).toThrow(/needs buildx 0\.21\.0 or later/)
  })
})

describe('describeDockerSetup', () => {
  it('names engine, store, buildx and builder', () => {
    expect(describeDockerSetup(runner)).toBe(
      'Docker engine 28.0.4 (classic image store), buildx 0.36.1, builder default (docker driver)'
    )
  })

  it('names a context other than the default and where it points', () => {
    expect(
      describeDockerSetup({ ...containerdStore, context: 'colima', endpoint: 'unix:///c.sock' })
    ).toContain('context colima (unix:///c.sock)')
  })
})

describe('chooseCaches', () => {
  const REPO = '111111111111.dkr.ecr.us-east-1.amazonaws.com/app'
  const none = { from: [], to: [] }

  it("caches in the function's repository, per architecture, in ECR's form, never failing the build", () => {
    const choice = chooseCaches(none, 'min', containerdStore, REPO, 'arm64')
    expect(choice.from).toEqual([`type=registry,ref=${REPO}:buildcache-arm64`])
    expect(choice.to).toEqual([
      `type=registry,ref=${REPO}:buildcache-arm64,mode=min,image-manifest=true,oci-mediatypes=true,ignore-error=true`
    ])
    expect(choice.repository).toBe(REPO)
  })

  it("by default exports only the final image's layers (mode=min), saying how to get more or none", () => {
    const choice = chooseCaches(none, 'min', containerdStore, REPO, 'x86_64')
    expect(choice.to[0]).toContain(',mode=min,')
    expect(choice.to[0]).not.toContain('mode=max')
    expect(choice.note).toContain('mode=min')
    expect(choice.note).toContain('registry-cache: max')
    expect(choice.note).toContain('false turns the cache off')
  })

  it('exports every stage (mode=max) only when asked, and says who can read it', () => {
    const choice = chooseCaches(none, 'max', containerdStore, REPO, 'x86_64')
    expect(choice.to).toEqual([
      `type=registry,ref=${REPO}:buildcache-x86_64,mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true`
    ])
    expect(choice.note).toContain('builder stages included')
    expect(choice.note).toContain('readable by every principal that may pull from it')
  })

  it('does the same on a docker-container builder over the classic store', () => {
    const container = {
      ...runner,
      builder: { name: 'ci', driver: 'docker-container', platforms: ['linux/amd64'] }
    }
    expect(chooseCaches(none, 'min', container, REPO, 'x86_64').to).toHaveLength(1)
  })

  it("on the classic store's own builder caches inline, read from the images the functions run now", () => {
    const running = `${REPO}@sha256:${'a'.repeat(64)}`
    const choice = chooseCaches(none, 'min', runner, REPO, 'x86_64', false, [running])
    expect(choice).toEqual({
      from: [`type=registry,ref=${running}`],
      to: [],
      inline: true,
      note: expect.stringContaining(`read from ${running}, the image the function runs now`),
      repository: REPO
    })
  })

  it('on the classic store caches inline even with nothing to read yet, and needs no login then', () => {
    const choice = chooseCaches(none, 'min', runner, REPO, 'x86_64')
    expect(choice).toMatchObject({ from: [], to: [], inline: true, repository: undefined })
    expect(choice.note).toContain('nothing to read yet')
  })

  it("on the classic store writes no cache tag, so an immutable repository's tags are no concern", () => {
    const choice = chooseCaches(none, 'min', runner, REPO, 'x86_64', true)
    expect(choice.to).toEqual([])
    expect(choice.from.some(source => source.includes('buildcache-'))).toBe(false)
    expect(choice.inline).toBe(true)
  })

  it('on the classic store says that registry-cache: max caches only the final image there', () => {
    const choice = chooseCaches(none, 'max', runner, REPO, 'x86_64')
    expect(choice.inline).toBe(true)
    expect(choice.note).toContain("Only the final image's layers are cached")
  })

  it('never caches inline where the builder can export a registry cache', () => {
    expect(chooseCaches(none, 'min', containerdStore, REPO, 'x86_64').inline).toBeUndefined()
  })

  it('caches nothing, inline included, with registry-cache off or caches of the user', () => {
    const running = [`${REPO}:v1`]
    expect(chooseCaches(none, 'off', runner, REPO, 'x86_64', false, running)).toEqual(none)
    const given = { from: [], to: ['type=local,dest=/tmp/c'] }
    expect(chooseCaches(given, 'min', runner, REPO, 'x86_64', false, running)).toEqual(given)
  })

  it('reads but does not write a cache tag the repository holds immutable, saying why', () => {
    const choice = chooseCaches(none, 'min', containerdStore, REPO, 'x86_64', true)
    expect(choice.from).toEqual([`type=registry,ref=${REPO}:buildcache-x86_64`])
    expect(choice.to).toEqual([])
    expect(choice.note).toContain('immutable')
    expect(choice.note).toContain('exclusion filter for buildcache-*')
  })

  it("uses the user's caches as given, and none with registry-cache off", () => {
    const given = { from: ['type=gha'], to: [] }
    expect(chooseCaches(given, 'min', containerdStore, REPO, 'x86_64')).toEqual(given)
    expect(chooseCaches(given, 'max', containerdStore, REPO, 'x86_64')).toEqual(given)
    expect(chooseCaches(none, 'off', containerdStore, REPO, 'x86_64')).toEqual(none)
  })
})

describe('inlineCacheSources', () => {
  const REPO = '111111111111.dkr.ecr.us-east-1.amazonaws.com/app'
  const sha = (c: string) => c.repeat(64)
  const target = (imageUri: string, codeSha256: string, extra: object = {}) => ({
    function: { imageUri, codeSha256 },
    changesArchitecture: false,
    ...extra
  })

  it('names the image a function runs by its digest, even when it was deployed by a tag', () => {
    expect(inlineCacheSources(REPO, [target(`${REPO}:v1`, sha('a'))])).toEqual([
      `${REPO}@sha256:${sha('a')}`
    ])
  })

  it('takes ResolvedImageUri when CodeSha256 is no digest, and never a tag, which may have moved', () => {
    const resolved = `${REPO}@sha256:${sha('f')}`
    expect(
      inlineCacheSources(REPO, [
        target(`${REPO}:v1`, '', {
          function: { imageUri: `${REPO}:v1`, codeSha256: '', resolvedImageUri: resolved }
        })
      ])
    ).toEqual([resolved])
    expect(inlineCacheSources(REPO, [target(`${REPO}:v1`, '')])).toEqual([])
  })

  it('reads only the cache repository: not another repository, not one whose name starts alike', () => {
    const other = '222222222222.dkr.ecr.us-east-1.amazonaws.com/app'
    expect(
      inlineCacheSources(REPO, [
        target(`${other}:v1`, sha('a')),
        target(`${REPO}-two:v1`, sha('b')),
        target(`${REPO}/nested:v1`, sha('c'))
      ])
    ).toEqual([])
  })

  it('leaves out functions still to be created and functions that change architecture', () => {
    expect(
      inlineCacheSources(REPO, [
        target(`${REPO}:v1`, sha('a'), { creation: {} }),
        target(`${REPO}:v1`, sha('b'), { changesArchitecture: true })
      ])
    ).toEqual([])
  })

  it('reads each image once, and at most three', () => {
    const targets = ['a', 'a', 'b', 'c', 'd'].map(c => target(`${REPO}:v1`, sha(c)))
    expect(inlineCacheSources(REPO, targets)).toEqual(
      ['a', 'b', 'c'].map(c => `${REPO}@sha256:${sha(c)}`)
    )
  })
})

describe('the build command per image store and builder', () => {
  const REPO = '111111111111.dkr.ecr.us-east-1.amazonaws.com/app'
  const RUNNING = `${REPO}@sha256:${'e'.repeat(64)}`
  const container: DockerFacts = {
    ...runner,
    builder: { name: 'ci', driver: 'docker-container', platforms: ['linux/amd64'] }
  }
  const REGISTRY_TO = `type=registry,ref=${REPO}:buildcache-x86_64,mode=min,image-manifest=true,oci-mediatypes=true,ignore-error=true`

  /** The --cache-from and --cache-to arguments of the build itself. */
  function cacheFlags(facts: DockerFacts, given = { from: [] as string[], to: [] as string[] }) {
    const choice = chooseCaches(given, 'min', facts, REPO, 'x86_64', false, [RUNNING])
    const caching = buildCaches(choice, given)
    const args = buildArguments({
      context: '.',
      file: 'Dockerfile',
      platform: 'linux/amd64',
      buildArgs: [],
      labels: [],
      imageRefs: [`${REPO}:v1`],
      secretFiles: [],
      cacheFrom: caching.from,
      cacheTo: caching.to,
      builder: facts.context,
      metadataFile: '/tmp/m.json'
    })
    const flags = args.flatMap((arg, i) =>
      arg === '--cache-from' || arg === '--cache-to' ? [`${arg} ${args[i + 1]}`] : []
    )
    return { flags, afterChecks: caching.afterChecks }
  }

  it.each([
    [
      'classic store, docker driver (ubuntu-24.04)',
      runner,
      [`--cache-from type=registry,ref=${RUNNING}`, '--cache-to type=inline'],
      []
    ],
    [
      'containerd store, docker driver',
      containerdStore,
      [`--cache-from type=registry,ref=${REPO}:buildcache-x86_64`],
      [REGISTRY_TO]
    ],
    [
      'classic store, docker-container driver',
      container,
      [`--cache-from type=registry,ref=${REPO}:buildcache-x86_64`],
      [REGISTRY_TO]
    ]
  ])('%s', (_name, facts, flags, afterChecks) => {
    expect(cacheFlags(facts)).toEqual({ flags, afterChecks })
  })

  it("passes the user's caches to the build as given, adding nothing", () => {
    const given = { from: ['type=gha'], to: ['type=gha,mode=max'] }
    expect(cacheFlags(containerdStore, given)).toEqual({
      flags: ['--cache-from type=gha', '--cache-to type=gha,mode=max'],
      afterChecks: []
    })
    const inline = { from: [`type=registry,ref=${REPO}:v1`], to: ['type=inline'] }
    expect(cacheFlags(runner, inline)).toEqual({
      flags: [`--cache-from type=registry,ref=${REPO}:v1`, '--cache-to type=inline'],
      afterChecks: []
    })
  })
})

describe('buildCaches', () => {
  it('adds an inline cache to the build when the choice has one, never after the checks', () => {
    expect(buildCaches({ from: ['f'], to: [], inline: true }, { to: [] })).toEqual({
      from: ['f'],
      to: ['type=inline'],
      afterChecks: []
    })
  })

  it('leaves the default registry cache until after the checks', () => {
    expect(buildCaches({ from: ['f'], to: ['t'] }, { to: [] })).toEqual({
      from: ['f'],
      to: [],
      afterChecks: ['t']
    })
  })
})
