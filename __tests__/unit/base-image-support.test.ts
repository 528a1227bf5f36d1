import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { RegistryHttp } from '../../src/adapters/registry-http.js'
import { LAMBDA_BASE_IMAGES } from '../../src/data/lambda-base-images.js'
import { baseImageSupport } from '../../src/domain/base-image-support.js'
import { parseImageName } from '../../src/domain/image-name.js'
import type { BuildSettings } from '../../src/inputs.js'
import { writeSummary } from '../../src/presentation/report.js'
import { resolveBaseImage } from '../../src/steps/base-image.js'

/**
 * The expected dates and successors below are copied by hand from AWS's "Lambda runtimes" page
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html, deprecation dates), not
 * read from the action's table: a wrong row in the table fails here.
 */

const DIGEST = `sha256:${'a'.repeat(64)}`
const day = (iso: string) => new Date(`${iso}T12:00:00Z`)
const support = (image: string, on: string) => baseImageSupport(parseImageName(image), day(on))

describe('which base image a reference names', () => {
  it.each([
    ['public.ecr.aws/lambda/python:3.12', 'python3.12'],
    ['public.ecr.aws/lambda/python:3.12.2025.01.01', 'python3.12'],
    ['public.ecr.aws/lambda/python:3.12.2025.01.01.12', 'python3.12'],
    ['public.ecr.aws/lambda/python:3.12-arm64', 'python3.12'],
    ['public.ecr.aws/lambda/python:3.12.2025.01.01.12-x86_64', 'python3.12'],
    [`public.ecr.aws/lambda/python:3.9@${DIGEST}`, 'python3.9'],
    ['public.ecr.aws/lambda/nodejs:18', 'nodejs18.x'],
    ['public.ecr.aws/lambda/provided:al2', 'provided.al2'],
    ['public.ecr.aws/lambda/provided:al2-arm64', 'provided.al2'],
    ['public.ecr.aws/lambda/provided:al2.2024.01.05.12-arm64', 'provided.al2'],
    ['public.ecr.aws/lambda/provided:al2023', 'provided.al2023'],
    ['public.ecr.aws/lambda/java:8', 'java8'],
    ['public.ecr.aws/lambda/java:8.al2', 'java8.al2'],
    ['public.ecr.aws/lambda/java:11', 'java11'],
    ['public.ecr.aws/lambda/java:11.al2023-x86_64', 'java11.al2023'],
    ['public.ecr.aws/lambda/java:17.2024.06.01.10', 'java17'],
    ['public.ecr.aws/lambda/dotnet:8', 'dotnet8'],
    ['amazon/aws-lambda-python:3.9', 'python3.9'],
    ['docker.io/amazon/aws-lambda-nodejs:20-arm64', 'nodejs20.x']
  ])('%s is %s', (image, runtime) => {
    expect(support(image, '2026-12-07')?.base.runtime).toBe(runtime)
  })

  it.each([
    [
      'a digest without a tag (it names no runtime by itself)',
      `public.ecr.aws/lambda/python@${DIGEST}`
    ],
    ['the moving latest tag', 'public.ecr.aws/lambda/nodejs:latest'],
    ['no tag (latest)', 'public.ecr.aws/lambda/nodejs'],
    ['a tag this table does not know', 'public.ecr.aws/lambda/python:3.12-preview'],
    ['a tag that only starts like a runtime', 'public.ecr.aws/lambda/python:3.123'],
    ['another repository of the gallery', 'public.ecr.aws/docker/library/python:3.9'],
    ['a private copy in ECR', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/lambda/python:3.9'],
    ['Docker Hub’s own python image', 'python:3.9']
  ])('%s is not looked up', (_label, image) => {
    expect(support(image, '2026-12-07')).toBeUndefined()
  })
})

describe('support on the run’s day', () => {
  it('provided.al2 ended on 2026-07-31 and names provided.al2023 as its successor', () => {
    const result = support('public.ecr.aws/lambda/provided:al2', '2026-12-07')!
    expect(result.status).toBe('ended')
    expect(result.base.endOfSupport).toBe('2026-07-31')
    expect(result.daysLeft).toBe(-129)
    expect(result.successor?.image).toBe('public.ecr.aws/lambda/provided:al2023')
    expect(result.message).toContain('reached its end of support on 2026-07-31')
    expect(result.message).toContain('Move to public.ecr.aws/lambda/provided:al2023')
  })

  it('keeps the architecture suffix and the registry in the successor’s name', () => {
    expect(
      support('public.ecr.aws/lambda/provided:al2-arm64', '2026-12-07')?.successor?.image
    ).toBe('public.ecr.aws/lambda/provided:al2023-arm64')
    expect(support('amazon/aws-lambda-python:3.9', '2026-12-07')?.successor?.image).toBe(
      'amazon/aws-lambda-python:3.14'
    )
  })

  it.each([
    // The deprecation date itself is the first day without support.
    ['public.ecr.aws/lambda/provided:al2', '2026-07-31', 'ended', 0],
    ['public.ecr.aws/lambda/provided:al2', '2026-07-30', 'ending-soon', 1],
    ['public.ecr.aws/lambda/provided:al2', '2026-05-02', 'ending-soon', 90],
    // 91 days before, and Amazon Linux 2 still within its life (it ended 2026-06-30).
    ['public.ecr.aws/lambda/provided:al2', '2026-05-01', 'supported', 91],
    ['public.ecr.aws/lambda/python:3.10', '2026-11-01', 'ended', -1],
    ['public.ecr.aws/lambda/nodejs:20', '2026-12-07', 'ended', -221],
    ['public.ecr.aws/lambda/dotnet:8', '2026-11-10', 'ended', 0],
    // On Amazon Linux 2 after its end of life, with its own end more than 90 days away.
    ['public.ecr.aws/lambda/java:11', '2026-12-07', 'os-end-of-life', 205],
    ['public.ecr.aws/lambda/python:3.11', '2026-07-01', 'os-end-of-life', 364],
    ['public.ecr.aws/lambda/java:11', '2027-04-01', 'ending-soon', 90],
    ['public.ecr.aws/lambda/nodejs:24', '2026-12-07', 'supported', 510],
    ['public.ecr.aws/lambda/python:3.14', '2026-12-07', 'supported', 936],
    ['public.ecr.aws/lambda/java:25', '2026-12-07', 'supported', 936],
    ['public.ecr.aws/lambda/dotnet:10', '2026-12-07', 'supported', 708]
  ])('%s on %s: %s, %i days left', (image, on, status, daysLeft) => {
    const result = support(image, on)!
    expect(result.status).toBe(status)
    expect(result.daysLeft).toBe(daysLeft)
  })

  it('counts the day in UTC, whatever the hour', () => {
    const lambda = parseImageName('public.ecr.aws/lambda/provided:al2')
    expect(baseImageSupport(lambda, new Date('2026-07-30T23:59:59Z'))?.status).toBe('ending-soon')
    expect(baseImageSupport(lambda, new Date('2026-07-31T00:00:00Z'))?.status).toBe('ended')
  })

  it.each([
    ['public.ecr.aws/lambda/java:8.al2', 'public.ecr.aws/lambda/java:8.al2023'],
    ['public.ecr.aws/lambda/java:11', 'public.ecr.aws/lambda/java:11.al2023'],
    ['public.ecr.aws/lambda/java:17', 'public.ecr.aws/lambda/java:17.al2023'],
    ['public.ecr.aws/lambda/nodejs:18', 'public.ecr.aws/lambda/nodejs:24'],
    ['public.ecr.aws/lambda/python:3.8', 'public.ecr.aws/lambda/python:3.14'],
    ['public.ecr.aws/lambda/dotnet:6', 'public.ecr.aws/lambda/dotnet:10'],
    ['public.ecr.aws/lambda/go:1', 'public.ecr.aws/lambda/provided:al2023']
  ])('%s moves to %s', (image, successor) => {
    expect(support(image, '2026-12-07')?.successor?.image).toBe(successor)
  })

  it('says of an AL2 base still in support what it still gets', () => {
    const result = support('public.ecr.aws/lambda/java:17', '2026-12-07')!
    expect(result.message).toContain('Amazon Linux 2 reached its end of life on 2026-06-30')
    expect(result.message).toContain('supported until 2027-06-30')
    expect(result.message).toContain('Move to public.ecr.aws/lambda/java:17.al2023')
  })
})

describe('the table', () => {
  const byRuntime = new Map(LAMBDA_BASE_IMAGES.map(base => [base.runtime, base]))

  it('has one row per runtime and per repository tag', () => {
    expect(byRuntime.size).toBe(LAMBDA_BASE_IMAGES.length)
    const tags = LAMBDA_BASE_IMAGES.map(base => `${base.repository}:${base.tag}`)
    expect(new Set(tags).size).toBe(tags.length)
  })

  it('gives real calendar dates', () => {
    for (const base of LAMBDA_BASE_IMAGES) {
      expect(new Date(`${base.endOfSupport}T00:00:00Z`).toISOString().slice(0, 10)).toBe(
        base.endOfSupport
      )
    }
  })

  it('names successors that exist and are supported longer', () => {
    for (const base of LAMBDA_BASE_IMAGES.filter(entry => entry.successor)) {
      const successor = byRuntime.get(base.successor!)
      expect(successor).toBeDefined()
      expect(successor!.endOfSupport > base.endOfSupport).toBe(true)
      expect(successor!.os).toBe('Amazon Linux 2023')
    }
  })

  it('lists the bases AWS added since 2025', () => {
    for (const image of ['nodejs:24', 'python:3.14', 'java:25', 'dotnet:10']) {
      expect(support(`public.ecr.aws/lambda/${image}`, '2026-12-07')?.status).toBe('supported')
    }
  })
})

describe('the deploy reports it', () => {
  let dir: string
  const saved = process.env.GITHUB_STEP_SUMMARY
  let written: string[] = []

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'base-support-'))
  })
  afterEach(() => {
    jest.restoreAllMocks()
    written = []
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
    if (saved === undefined) delete process.env.GITHUB_STEP_SUMMARY
    else process.env.GITHUB_STEP_SUMMARY = saved
  })

  async function resolve(from: string) {
    const file = path.join(dir, 'Dockerfile')
    writeFileSync(file, `FROM ${from}\n`)
    const registry = {
      resolvePlatformDigest: (reference: string, platform: string) =>
        Promise.resolve({ image: reference, platform, digest: DIGEST, requests: 1 })
    } as unknown as RegistryHttp
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
    const build = { file, buildArgs: [], labels: [] } as unknown as BuildSettings
    try {
      return await resolveBaseImage(build, 'x86_64', registry)
    } finally {
      jest.restoreAllMocks()
    }
  }

  it('warns, naming the successor, when the base is past its end of support', async () => {
    const resolved = await resolve('public.ecr.aws/lambda/provided:al2')
    expect(resolved.support?.status).toBe('ended')
    const warning = written.find(line => line.startsWith('::warning'))
    expect(warning).toContain('public.ecr.aws/lambda/provided:al2023')
    expect(warning).toContain('2026-07-31')
  })

  it('says nothing of a supported base', async () => {
    const resolved = await resolve('public.ecr.aws/lambda/nodejs:24')
    expect(resolved.support?.status).toBe('supported')
    expect(written.filter(line => /^::(warning|notice)/.test(line))).toEqual([])
  })

  it('puts a line in the job summary', async () => {
    process.env.GITHUB_STEP_SUMMARY = path.join(dir, 'summary')
    writeFileSync(process.env.GITHUB_STEP_SUMMARY, '')
    const resolved = await resolve('public.ecr.aws/lambda/provided:al2')
    await writeSummary({ base: resolved, timings: [] })
    const summary = readFileSync(process.env.GITHUB_STEP_SUMMARY, 'utf8')
    expect(summary).toContain('**Base image past its end of support:**')
    expect(summary).toContain('Move to public.ecr.aws/lambda/provided:al2023')
  })
})
