import { describe, expect, it } from '@jest/globals'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readBuildContext } from '../../src/adapters/build-context.js'
import {
  buildInputsDigest,
  describeUnpinned,
  EVERY_PLATFORM,
  inputsTag,
  inputsToPin,
  type BuildInputs,
  type ContextEntry
} from '../../src/domain/build-inputs.js'
import { findDockerfileBase } from '../../src/domain/dockerfile-base.js'
import type { RegistryHttp } from '../../src/adapters/registry-http.js'
import type { BuildSettings } from '../../src/inputs.js'
import { resolveBaseImage } from '../../src/steps/base-image.js'
import { fingerprintBuild } from '../../src/steps/reuse-image.js'

const DIGEST_A = `sha256:${'a'.repeat(64)}`
const DIGEST_B = `sha256:${'b'.repeat(64)}`
const file = (p: string, content: string, mode = 0o644): ContextEntry => ({
  path: p,
  type: 'file',
  mode,
  content
})
const inputs: BuildInputs = {
  dockerfile: 'FROM public.ecr.aws/lambda/provided:al2023\nCOPY . /var/task\n',
  context: [file('a.txt', 'h1'), file('b/c.txt', 'h2')],
  target: 'runtime',
  buildArgs: ['A=1'],
  labels: ['team=x'],
  platform: 'linux/amd64',
  images: [
    { name: 'public.ecr.aws/lambda/provided:al2023', platform: 'linux/amd64', digest: DIGEST_A }
  ]
}

describe('buildInputsDigest', () => {
  it('is the same for the same inputs, whatever order the context and images were listed in', () => {
    const reordered = {
      ...inputs,
      context: [...inputs.context].reverse(),
      images: [...inputs.images].reverse()
    }
    expect(buildInputsDigest(reordered)).toBe(buildInputsDigest(inputs))
    expect(buildInputsDigest(inputs)).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it.each<[string, Partial<BuildInputs>]>([
    ['a file content', { context: [file('a.txt', 'h9'), file('b/c.txt', 'h2')] }],
    ['a file mode', { context: [file('a.txt', 'h1', 0o755), file('b/c.txt', 'h2')] }],
    ['a file name', { context: [file('a2.txt', 'h1'), file('b/c.txt', 'h2')] }],
    ['an added file', { context: [...inputs.context, file('d', 'h3')] }],
    ['the Dockerfile', { dockerfile: `${inputs.dockerfile}RUN true\n` }],
    ['the target', { target: 'other' }],
    ['a build argument', { buildArgs: ['A=2'] }],
    ['a label', { labels: ['team=y'] }],
    ['the platform', { platform: 'linux/arm64' }],
    ['a base digest', { images: [{ ...inputs.images[0]!, digest: DIGEST_B }] }],
    [
      'the platform an image was resolved for',
      { images: [{ ...inputs.images[0]!, platform: EVERY_PLATFORM }] }
    ],
    [
      'another image (a mounted one, the frontend)',
      {
        images: [
          ...inputs.images,
          { name: 'docker.io/docker/dockerfile:1', platform: EVERY_PLATFORM, digest: DIGEST_A }
        ]
      }
    ]
  ])('changes with %s', (_label, change) => {
    expect(buildInputsDigest({ ...inputs, ...change })).not.toBe(buildInputsDigest(inputs))
  })

  it('counts only the last value of a build argument given twice, as the build does', () => {
    expect(buildInputsDigest({ ...inputs, buildArgs: ['A=0', 'A=1'] })).toBe(
      buildInputsDigest(inputs)
    )
  })

  it('names a tag ECR and docker accept', () => {
    const tag = inputsTag(buildInputsDigest(inputs))
    expect(tag).toMatch(/^inputs-[0-9a-f]{64}$/)
    expect(tag.length).toBeLessThanOrEqual(128)
  })
})

describe('readBuildContext', () => {
  const make = (files: Record<string, string>): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'build-context-'))
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
      writeFileSync(path.join(dir, name), content)
    }
    return dir
  }
  const paths = async (dir: string, dockerfile = path.join(dir, 'Dockerfile')) =>
    (await readBuildContext(dir, dockerfile)).entries.map(entry => `${entry.type} ${entry.path}`)

  it('lists files, directories and symlinks with their modes and content hashes', async () => {
    const dir = make({ Dockerfile: 'FROM scratch\n', 'src/app.js': 'x' })
    symlinkSync('app.js', path.join(dir, 'src', 'link'))
    chmodSync(path.join(dir, 'src', 'app.js'), 0o755)
    const { entries } = await readBuildContext(dir, path.join(dir, 'Dockerfile'))
    expect(entries).toEqual([
      expect.objectContaining({ path: 'Dockerfile', type: 'file', mode: 0o644 }),
      { path: 'src', type: 'directory', mode: 0o755, content: '' },
      {
        path: 'src/app.js',
        type: 'file',
        mode: 0o755,
        // sha256("x")
        content: '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'
      },
      { path: 'src/link', type: 'symlink', mode: 0o777, content: 'app.js' }
    ])
    rmSync(dir, { recursive: true })
  })

  it("leaves out what .dockerignore excludes, with Docker's rules (! re-includes under an excluded directory)", async () => {
    const dir = make({
      '.dockerignore': 'node_modules\n*.log\ndocs\n!docs/keep.md\n',
      Dockerfile: 'FROM scratch\n',
      'app.js': '',
      'debug.log': '',
      'sub/debug.log': '',
      'node_modules/x/index.js': '',
      'docs/keep.md': '',
      'docs/drop.md': ''
    })
    expect(await paths(dir)).toEqual([
      'file .dockerignore',
      'file Dockerfile',
      'file app.js',
      'file docs/keep.md',
      'directory sub',
      // `*.log` matches at the root only, as in Docker.
      'file sub/debug.log'
    ])
    rmSync(dir, { recursive: true })
  })

  it('prefers the Dockerfile’s own NAME.dockerignore to the context’s', async () => {
    const dir = make({
      '.dockerignore': 'a\n',
      'build/Dockerfile': 'FROM scratch\n',
      'build/Dockerfile.dockerignore': 'b\nbuild\n',
      a: '',
      b: ''
    })
    const read = await readBuildContext(dir, path.join(dir, 'build', 'Dockerfile'))
    expect(read.ignoreFile).toBe(path.join(dir, 'build', 'Dockerfile.dockerignore'))
    expect(read.entries.map(entry => entry.path)).toEqual(['.dockerignore', 'a'])
    rmSync(dir, { recursive: true })
  })
})

describe('the images a build needs', () => {
  it('are every external FROM and COPY --from image of the stages the target depends on', () => {
    const base = findDockerfileBase(
      [
        'FROM golang:1.23 AS build',
        'FROM alpine:3.20 AS unused',
        'FROM public.ecr.aws/lambda/provided:al2023 AS runtime',
        'COPY --from=build /out /var/task',
        'COPY --from=busybox:1.36 /bin/busybox /opt/busybox'
      ].join('\n'),
      { target: 'runtime', platform: 'linux/amd64' }
    )
    expect(base.stageImages.map(image => image.reference.canonical)).toEqual([
      'docker.io/library/golang:1.23',
      'public.ecr.aws/lambda/provided:al2023'
    ])
    expect(base.copiedFrom.map(image => image.reference.canonical)).toEqual([
      'docker.io/library/busybox:1.36'
    ])
  })
})

describe('inputsToPin', () => {
  const pins = (
    dockerfile: string[],
    platform: 'linux/amd64' | 'linux/arm64' = 'linux/arm64',
    buildArgs = {}
  ) => inputsToPin(findDockerfileBase(dockerfile.join('\n'), { platform, buildArgs }), platform)

  it.each<
    [string, string[], Record<string, string>, { name: string; platform: string; where: string }[]]
  >([
    [
      'the base image, for the platform built for',
      ['FROM public.ecr.aws/lambda/provided:al2023'],
      {},
      [
        {
          name: 'public.ecr.aws/lambda/provided:al2023',
          platform: 'linux/arm64',
          where: 'FROM on line 1'
        }
      ]
    ],
    [
      'a FROM --platform=$BUILDPLATFORM stage image, for every platform (the builder’s is not known before the build)',
      [
        'FROM --platform=$BUILDPLATFORM golang:1.23 AS build',
        'FROM public.ecr.aws/lambda/provided:al2023',
        'COPY --from=build /out /var/runtime/'
      ],
      {},
      [
        {
          name: 'docker.io/library/golang:1.23',
          platform: EVERY_PLATFORM,
          where: 'FROM on line 1'
        },
        {
          name: 'public.ecr.aws/lambda/provided:al2023',
          platform: 'linux/arm64',
          where: 'FROM on line 2'
        }
      ]
    ],
    [
      'a FROM with a literal --platform, for that platform',
      ['FROM --platform=linux/amd64 alpine:3 AS a', 'FROM scratch', 'COPY --from=a /x /x'],
      {},
      [{ name: 'docker.io/library/alpine:3', platform: 'linux/amd64', where: 'FROM on line 1' }]
    ],
    [
      'COPY --from and RUN --mount from= images, for the platform built for',
      [
        'FROM public.ecr.aws/lambda/provided:al2023',
        'COPY --from=busybox:1 /bin/sh /sh',
        'RUN --mount=type=bind,from=ghcr.io/t/certs:1,target=/c cp /c/x /x'
      ],
      {},
      [
        {
          name: 'public.ecr.aws/lambda/provided:al2023',
          platform: 'linux/arm64',
          where: 'FROM on line 1'
        },
        {
          name: 'docker.io/library/busybox:1',
          platform: 'linux/arm64',
          where: 'COPY --from on line 2'
        },
        { name: 'ghcr.io/t/certs:1', platform: 'linux/arm64', where: 'RUN --mount on line 3' }
      ]
    ],
    [
      'the # syntax frontend and a BUILDKIT_SYNTAX one, for every platform',
      ['# syntax=docker/dockerfile:1', 'FROM scratch'],
      { BUILDKIT_SYNTAX: 'ghcr.io/me/frontend:2' },
      [
        {
          name: 'docker.io/docker/dockerfile:1',
          platform: EVERY_PLATFORM,
          where: '# syntax on line 1'
        },
        {
          name: 'ghcr.io/me/frontend:2',
          platform: EVERY_PLATFORM,
          where: 'the BUILDKIT_SYNTAX build argument'
        }
      ]
    ],
    [
      'an image named twice, once',
      ['FROM alpine:3 AS a', 'FROM alpine:3', 'COPY --from=a /x /x', 'COPY --from=alpine:3 /y /y'],
      {},
      [{ name: 'docker.io/library/alpine:3', platform: 'linux/arm64', where: 'FROM on line 1' }]
    ]
  ])('pins %s', (_label, dockerfile, buildArgs, expected) => {
    const pinned = pins(dockerfile, 'linux/arm64', buildArgs)
    expect(pinned.images).toEqual(expected)
    expect(pinned.unpinned).toEqual([])
  })

  it.each<[string, string[], { line: number; kind: string }[], RegExp]>([
    [
      'ADD of a URL',
      ['FROM scratch', 'ADD http://172.17.0.1:8080/f /f'],
      [{ line: 2, kind: 'url' }],
      /^ADD http:\/\/172\.17\.0\.1:8080\/f at docker\/Dockerfile:2 fetches a file .*--checksum=sha256:/
    ],
    [
      'ADD of a git repository',
      ['FROM scratch', 'ADD https://github.com/org/repo.git#main /src'],
      [{ line: 2, kind: 'git' }],
      /^ADD https:\/\/github\.com\/org\/repo\.git#main at docker\/Dockerfile:2 fetches a git repository/
    ],
    [
      'ADD of a variable (it may be a URL)',
      ['FROM scratch', 'ARG SRC', 'ADD ${SRC} /src'],
      [{ line: 3, kind: 'variable' }],
      /^ADD at docker\/Dockerfile:3 names \$\{SRC\}, a variable/
    ],
    [
      'RUN --mount from= a variable',
      ['FROM alpine:3', 'ARG T', 'RUN --mount=from=${T},target=/t true'],
      [{ line: 3, kind: 'variable' }],
      /^RUN at docker\/Dockerfile:3 names from=\$\{T\}/
    ]
  ])(
    'forces a build for %s, naming the instruction by file and line',
    (_label, dockerfile, expected, message) => {
      const { unpinned } = pins(dockerfile)
      expect(unpinned).toMatchObject(expected)
      expect(describeUnpinned(unpinned[0]!, 'docker/Dockerfile')).toMatch(message)
    }
  )

  it('does not force a build for ADD of a URL pinned with --checksum, or of context files', () => {
    const { unpinned } = pins([
      'FROM scratch',
      `ADD --checksum=sha256:${'c'.repeat(64)} https://example.com/f /f`,
      'ADD app.tgz /app/'
    ])
    expect(unpinned).toEqual([])
  })
})

describe('fingerprintBuild: what the inputs digest covers', () => {
  const PROVIDED = 'public.ecr.aws/lambda/provided:al2023'
  /** Per `name platform`: the platform's manifest digest, and the index digest the tag names. */
  type Registry = Map<string, { digest: string; indexDigest: string }>
  const registryOf = (answers: Registry) =>
    ({
      resolvePlatformDigest: (reference: string, platform: string) => {
        const answer = answers.get(`${reference} ${platform}`)
        if (!answer) return Promise.reject(new Error(`unexpected ${reference} ${platform}`))
        return Promise.resolve({ image: reference, platform, ...answer, requests: 1 })
      }
    }) as unknown as RegistryHttp
  const digestOf = (character: string) => `sha256:${character.repeat(64)}`

  async function fingerprint(dockerfile: string, answers: Registry, buildArgs: string[] = []) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fingerprint-'))
    const file = path.join(dir, 'Dockerfile')
    writeFileSync(file, dockerfile)
    const build = { context: dir, file, buildArgs, labels: [] } as unknown as BuildSettings
    const registry = registryOf(answers)
    try {
      const base = await resolveBaseImage(build, 'arm64', registry)
      return await fingerprintBuild(build, 'arm64', base, registry)
    } finally {
      rmSync(dir, { recursive: true })
    }
  }

  interface Case {
    readonly label: string
    readonly dockerfile: string
    readonly buildArgs?: string[]
    /** The registry's answers before. */
    readonly before: [string, string, string][]
    /** The one answer that moves: `name platform` → new digests. */
    readonly moved: [string, string, string]
  }
  it.each<Case>([
    {
      label: 'the # syntax frontend image moved',
      dockerfile: `# syntax=docker/dockerfile:1\nFROM ${PROVIDED}\n`,
      before: [
        [`${PROVIDED} linux/arm64`, 'a', 'b'],
        ['docker.io/docker/dockerfile:1 linux/arm64', 'c', 'd']
      ],
      // A new frontend release: another index (and another arm64 image in it).
      moved: ['docker.io/docker/dockerfile:1 linux/arm64', 'e', 'f']
    },
    {
      label: 'the BUILDKIT_SYNTAX frontend image moved',
      dockerfile: `FROM ${PROVIDED}\n`,
      buildArgs: ['BUILDKIT_SYNTAX=ghcr.io/me/frontend:2'],
      before: [
        [`${PROVIDED} linux/arm64`, 'a', 'b'],
        ['ghcr.io/me/frontend:2 linux/arm64', 'c', 'd']
      ],
      moved: ['ghcr.io/me/frontend:2 linux/arm64', 'c', 'f']
    },
    {
      label: 'the image a RUN step mounts moved',
      dockerfile: `FROM ${PROVIDED}\nRUN --mount=from=ghcr.io/me/certs:1,target=/c cp /c/x /x\n`,
      before: [
        [`${PROVIDED} linux/arm64`, 'a', 'b'],
        ['ghcr.io/me/certs:1 linux/arm64', 'c', 'd']
      ],
      moved: ['ghcr.io/me/certs:1 linux/arm64', 'e', 'd']
    },
    {
      label: 'only the builder’s image of a $BUILDPLATFORM stage moved (its arm64 image did not)',
      dockerfile: `FROM --platform=$BUILDPLATFORM golang:1.23 AS build\nFROM ${PROVIDED}\nCOPY --from=build /out /x\n`,
      before: [
        [`${PROVIDED} linux/arm64`, 'a', 'b'],
        ['docker.io/library/golang:1.23 linux/arm64', 'c', 'd']
      ],
      // The index moved because its amd64 entry did; the arm64 entry is the same.
      moved: ['docker.io/library/golang:1.23 linux/arm64', 'c', 'e']
    },
    {
      label: 'the image of a FROM with a literal --platform moved for that platform',
      dockerfile: `FROM --platform=linux/amd64 alpine:3 AS a\nFROM ${PROVIDED}\nCOPY --from=a /x /x\n`,
      before: [
        [`${PROVIDED} linux/arm64`, 'a', 'b'],
        ['docker.io/library/alpine:3 linux/amd64', 'c', 'd']
      ],
      moved: ['docker.io/library/alpine:3 linux/amd64', 'e', 'f']
    }
  ])('changes when $label', async ({ dockerfile, buildArgs, before, moved }) => {
    const answers: Registry = new Map(
      before.map(([key, digest, index]) => [
        key,
        { digest: digestOf(digest), indexDigest: digestOf(index) }
      ])
    )
    const first = await fingerprint(dockerfile, answers, buildArgs)
    expect(first?.digest).toMatch(/^sha256:/)
    expect((await fingerprint(dockerfile, answers, buildArgs))?.digest).toBe(first?.digest)
    answers.set(moved[0], { digest: digestOf(moved[1]), indexDigest: digestOf(moved[2]) })
    expect((await fingerprint(dockerfile, answers, buildArgs))?.digest).not.toBe(first?.digest)
  })

  it.each([
    ['ADD of a URL', `FROM ${PROVIDED}\nADD https://example.com/f /f\n`],
    ['ADD of a git repository', `FROM ${PROVIDED}\nADD git@github.com:org/repo.git /src\n`]
  ])('is not taken for %s: the run builds', async (_label, dockerfile) => {
    const answers: Registry = new Map([
      [`${PROVIDED} linux/arm64`, { digest: digestOf('a'), indexDigest: digestOf('b') }]
    ])
    expect(await fingerprint(dockerfile, answers)).toBeUndefined()
  })
})
