import { describe, expect, it } from '@jest/globals'
import type { CliIo } from '../../src/cli/command.js'
import { runCli } from '../../src/cli/run.js'

/** The check command's command line; these runs stop before the Docker engine is asked. */
async function run(argv: string[]) {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: text => {
      stdout += text
    },
    stderr: text => {
      stderr += text
    },
    readTextFile: () => Promise.reject(new Error('no files here')),
    env: {}
  }
  const code = await runCli(['check', ...argv], io)
  return { code, stdout, stderr }
}

describe('lambda-image-deploy check', () => {
  it('prints its help with 0', async () => {
    const result = await run(['--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Usage: lambda-image-deploy check <IMAGE> [options]')
  })

  it('is listed in the program help', async () => {
    let stdout = ''
    await runCli(['--help'], {
      stdout: text => {
        stdout += text
      },
      stderr: () => undefined,
      readTextFile: () => Promise.reject(new Error('no files here')),
      env: {}
    })
    expect(stdout).toMatch(/^ {2}check {2,}Check a local image/m)
  })

  it.each([
    [[], 'give the image to check'],
    [['a', 'b'], 'give one image to check'],
    [['img', '--architecture', 'amd64'], '--architecture "amd64" is not x86_64 or arm64'],
    [['img', '--event', '{}'], '--event only applies with --smoke-test'],
    [
      ['img', '--smoke-test', '--memory', '64'],
      '--memory "64" is not a whole number from 128 to 10240'
    ],
    [['img', '--smoke-test', '--function-timeout', '901'], 'from 1 to 900'],
    [['img', '--bogus'], "Unknown option '--bogus'"]
  ])('refuses %j with exit code 2', async (argv, message) => {
    const result = await run(argv)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(message)
  })
})
