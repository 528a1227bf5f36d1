import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ImageSize } from '../../src/domain/image-checks.js'
import { setOutputs, writeSummary, type RunFacts } from '../../src/presentation/report.js'
import type { BuiltImage } from '../../src/steps/build-image.js'

/**
 * The `image-size` output is an uncompressed size that was measured, or empty; the summary says
 * what was measured and, when it was not, what is known instead.
 */

let dir: string
const saved = { output: process.env.GITHUB_OUTPUT, summary: process.env.GITHUB_STEP_SUMMARY }

// One directory for the file: @actions/core keeps the summary file's path once it has used it.
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'report-size-'))
  process.env.GITHUB_OUTPUT = path.join(dir, 'output')
  process.env.GITHUB_STEP_SUMMARY = path.join(dir, 'summary')
})

beforeEach(() => {
  writeFileSync(process.env.GITHUB_OUTPUT!, '')
  writeFileSync(process.env.GITHUB_STEP_SUMMARY!, '')
})

afterAll(() => {
  for (const [name, value] of [
    ['GITHUB_OUTPUT', saved.output],
    ['GITHUB_STEP_SUMMARY', saved.summary]
  ] as const) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  rmSync(dir, { recursive: true, force: true })
})

/** The output file's value for NAME (core writes NAME<<DELIMITER, value, DELIMITER). */
function output(name: string): string | undefined {
  const lines = readFileSync(process.env.GITHUB_OUTPUT!, 'utf8').split(os.EOL)
  const at = lines.findIndex(line => line.startsWith(`${name}<<`))
  return at < 0 ? undefined : lines[at + 1]
}

function built(size: ImageSize): BuiltImage {
  return {
    image: {
      id: 'sha256:1',
      os: 'linux',
      architecture: 'amd64',
      ...size,
      layers: [{ sizeBytes: size.sizeBytes, createdBy: 'RUN head -c 9000000 /dev/zero' }],
      entrypoint: [],
      cmd: [],
      workingDir: '',
      env: [],
      user: '',
      diffIds: []
    },
    configDigest: 'sha256:1',
    docker: {
      engineVersion: '28.5.2',
      apiVersion: '1.51',
      imageStore: 'containerd',
      buildxVersion: '0.29.1',
      enginePlatform: 'linux/amd64',
      kernelVersion: '6',
      context: 'default',
      endpoint: 'unix:///var/run/docker.sock',
      builder: { name: 'default', driver: 'docker', platforms: ['linux/amd64'] }
    },
    references: [],
    platform: 'linux/amd64'
  }
}

const fromRegistry: ImageSize = {
  sizeBytes: 1_085_016,
  sizeNotMeasured: {
    basis: "from the registry's compressed size of its layer",
    reason: 'the image is deployed from the registry without downloading its layers'
  }
}
const notSaved: ImageSize = {
  sizeBytes: 1_085_016,
  sizeNotMeasured: {
    basis: "from the engine's compressed layers",
    reason: 'docker image save failed'
  }
}

describe('image-size and the summary', () => {
  it.each<[string, Partial<RunFacts>, string | undefined, string]>([
    [
      'a built image, measured',
      { built: built({ sizeBytes: 11_141_504 }) },
      '11141504',
      '11.1 MB uncompressed (11,141,504 bytes) of 12.1 MB allowed'
    ],
    [
      'a built image that could not be measured',
      { built: built(notSaved) },
      '',
      'uncompressed size not measured (docker image save failed); at least 1.1 MB (1,085,016 bytes'
    ],
    [
      'a deploy-only image of compressed layers',
      { registryImageSize: fromRegistry },
      '',
      'uncompressed size not measured (the image is deployed from the registry without downloading its layers); at least 1.1 MB'
    ],
    [
      'a deploy-only image of uncompressed layers',
      { registryImageSize: { sizeBytes: 2_138_112 } },
      '2138112',
      '2.1 MB uncompressed (2,138,112 bytes) of 12.1 MB allowed'
    ],
    ['no image at all', {}, undefined, '']
  ])('%s', async (_name, known, imageSize, line) => {
    const facts: RunFacts = { timings: [], maxImageBytes: 12_137_088, ...known }
    setOutputs(facts)
    expect(output('image-size')).toBe(imageSize)
    await writeSummary(facts)
    const summary = readFileSync(process.env.GITHUB_STEP_SUMMARY!, 'utf8')
    expect(summary).toContain(line.replace(/'/g, '&#39;'))
  })
})
