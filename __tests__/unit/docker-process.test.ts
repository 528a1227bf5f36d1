import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runDocker } from '../../src/adapters/docker-process.js'

/**
 * The time-out machinery against a stand-in `docker` executable on PATH (a shell script), so no
 * engine is needed: it sleeps when its first argument is "push" or "image", and counts its runs.
 */
let bin: string
let savedPath: string | undefined

beforeAll(() => {
  bin = mkdtempSync(path.join(os.tmpdir(), 'fake-docker-'))
  const script = [
    '#!/bin/sh',
    `echo run >> "${bin}/runs"`,
    'case "$1" in',
    '  push|image) sleep 30 ;;',
    '  fail) echo "denied: no" >&2; exit 1 ;;',
    '  *) echo "ok $*" ;;',
    'esac'
  ].join('\n')
  writeFileSync(path.join(bin, 'docker'), `${script}\n`)
  chmodSync(path.join(bin, 'docker'), 0o755)
  savedPath = process.env.PATH
  process.env.PATH = `${bin}:${savedPath ?? ''}`
})

afterAll(() => {
  process.env.PATH = savedPath
  rmSync(bin, { recursive: true, force: true })
})

/** Runs of the script since the last reset: it appends one line per run. */
const runs = () => readFileSync(path.join(bin, 'runs'), 'utf8').split('\n').filter(Boolean).length

describe('runDocker', () => {
  it('returns the output and exit code of a command that finishes', async () => {
    const result = await runDocker({ args: ['version'], timeoutMs: 5_000 })
    expect(result).toEqual({ exitCode: 0, stdout: 'ok version\n', stderr: '' })
  })

  it('returns a failure as an exit code with docker’s stderr', async () => {
    const result = await runDocker({ args: ['fail'], timeoutMs: 5_000 })
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toBe('denied: no\n')
  })

  it('stops a push that runs past its time-out, with an id and a fix', async () => {
    const started = performance.now()
    await expect(runDocker({ args: ['push', 'x'], timeoutMs: 300 })).rejects.toMatchObject({
      id: 'docker-push-timeout',
      reason: expect.stringContaining('did not finish within 0.3 s'),
      fix: expect.stringContaining('push-timeout')
    })
    expect(performance.now() - started).toBeLessThan(5_000)
  })

  it('runs a command that is safe to repeat again after a time-out, then gives up', async () => {
    rmSync(path.join(bin, 'runs'), { force: true })
    await expect(
      runDocker({ args: ['image', 'inspect', 'x'], timeoutMs: 300, attempts: 2 })
    ).rejects.toMatchObject({
      id: 'docker-inspect-timeout',
      reason: expect.stringContaining('in each of 2 attempts'),
      fix: expect.stringContaining('docker info')
    })
    expect(runs()).toBe(2)
  })
})
