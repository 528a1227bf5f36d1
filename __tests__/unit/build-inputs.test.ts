import { describe, expect, it } from '@jest/globals'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readBuildContext } from '../../src/adapters/build-context.js'
import {
  buildInputsDigest,
  inputsTag,
  type BuildInputs,
  type ContextEntry
} from '../../src/domain/build-inputs.js'
import { findDockerfileBase } from '../../src/domain/dockerfile-base.js'

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
  images: [{ name: 'public.ecr.aws/lambda/provided:al2023', digest: DIGEST_A }]
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
    ['a base digest', { images: [{ name: inputs.images[0]!.name, digest: DIGEST_B }] }]
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
