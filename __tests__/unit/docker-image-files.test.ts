import { describe, expect, it } from '@jest/globals'
import { Readable } from 'node:stream'
import { withImageFiles } from '../../src/adapters/docker-image-files.js'
import type { DockerExit, SpawnDocker } from '../../src/adapters/docker-byte-stream.js'
import { TaskFilesAudit, type TreeEntry } from '../../src/domain/task-files.js'
import { TAR_END, tarFile, tarHeader } from './tar-fixture.js'

/** What the fake docker prints and how it exits, per command. */
interface Script {
  readonly stdout?: Iterable<Buffer> | AsyncIterable<Buffer>
  readonly exitCode?: number
  readonly stderr?: string
}

/** A stand-in for the docker CLI behind the one spawn seam: scripted output, recorded calls. */
function fakeDocker(cp: (path: string) => Script) {
  const calls: string[] = []
  const stopped: string[] = []
  const spawn: SpawnDocker = args => {
    const command = args.join(' ')
    calls.push(command)
    const script: Script =
      args[0] === 'create'
        ? { stdout: [Buffer.from('c0ffee\n')] }
        : args[0] === 'cp'
          ? cp(args[1]!.replace(/^c0ffee:/, ''))
          : {}
    const stdout = Readable.from(script.stdout ?? [])
    let wasStopped = false
    const exited = new Promise<DockerExit>(resolve =>
      stdout.on('close', () =>
        resolve({
          exitCode: wasStopped ? null : (script.exitCode ?? 0),
          stderr: script.stderr ?? ''
        })
      )
    )
    return {
      stdout,
      exited,
      stop: () => {
        wasStopped = true
        stopped.push(command)
        stdout.destroy()
      }
    }
  }
  return { spawn, calls, stopped }
}

const directory = (name: string, mode = 0o755) => tarHeader({ name, type: '5', mode })

describe('withImageFiles', () => {
  it('walks a tree with absolute paths through a container it creates and removes', async () => {
    const docker = fakeDocker(() => ({
      stdout: [
        Buffer.concat([directory('task/'), tarFile('task/index.mjs', 'export {}')]),
        Buffer.concat([tarFile('task/lib/a.js', 'x', 0o600), TAR_END])
      ]
    }))
    const seen: TreeEntry[] = []
    const walk = await withImageFiles(
      'sha256:abc',
      (_read, walkTree) => walkTree('/var/task', entry => seen.push(entry)),
      docker.spawn
    )
    expect(walk).toEqual({ status: 'complete', entries: 3 })
    expect(seen.map(entry => [entry.path, entry.mode])).toEqual([
      ['/var/task', 0o755],
      ['/var/task/index.mjs', 0o644],
      ['/var/task/lib/a.js', 0o600]
    ])
    expect(docker.calls).toEqual([
      'create --entrypoint /lambda-image-deploy-never-run sha256:abc',
      'cp c0ffee:/var/task -',
      'rm --force c0ffee'
    ])
  })

  it('reports a directory the image does not have as missing', async () => {
    const docker = fakeDocker(() => ({
      exitCode: 1,
      stderr: 'Error response from daemon: Could not find the file /app in container c0ffee'
    }))
    const walk = await withImageFiles('i', (_r, w) => w('/app', () => undefined), docker.spawn)
    expect(walk).toEqual({ status: 'missing' })
  })

  it('reports a walk docker cut short as incomplete, with how far it got and docker’s words', async () => {
    const docker = fakeDocker(() => ({
      stdout: [Buffer.concat([directory('task/'), tarFile('task/a.js', 'x')])],
      exitCode: 1,
      stderr: 'Error response from daemon: unexpected EOF'
    }))
    const walk = await withImageFiles('i', (_r, w) => w('/var/task', () => undefined), docker.spawn)
    expect(walk).toEqual({
      status: 'incomplete',
      entries: 2,
      reason: 'docker cp exited with code 1: Error response from daemon: unexpected EOF'
    })
  })

  it('reports a stream that ends early as incomplete even when docker exits 0', async () => {
    const docker = fakeDocker(() => ({
      stdout: [tarFile('task/a.js', 'x'.repeat(2000)).subarray(0, 900)]
    }))
    const walk = await withImageFiles('i', (_r, w) => w('/var/task', () => undefined), docker.spawn)
    expect(walk).toEqual({
      status: 'incomplete',
      entries: 1,
      reason: 'the tar stream ended in the middle of an entry after 1 entry'
    })
  })

  it('reads one file’s header and first bytes, and stops docker cp there', async () => {
    function* endless(): Generator<Buffer> {
      yield tarFile(
        'bootstrap',
        Buffer.concat([Buffer.from('#!/bin/sh\n'), Buffer.alloc(9000)]),
        0o755
      )
      for (;;) yield Buffer.alloc(65536)
    }
    const docker = fakeDocker(() => ({ stdout: endless() }))
    const file = await withImageFiles('i', read => read('/var/task/bootstrap'), docker.spawn)
    expect(file).toMatchObject({ path: '/var/task/bootstrap', kind: 'file', mode: 0o755 })
    expect(file.head).toHaveLength(4096)
    expect(Buffer.from(file.head.subarray(0, 10)).toString()).toBe('#!/bin/sh\n')
    expect(docker.stopped).toEqual(['cp c0ffee:/var/task/bootstrap -'])
  })

  it('reads a path the image does not have as missing, and fails on any other docker error', async () => {
    const missing = fakeDocker(() => ({
      exitCode: 1,
      stderr: 'Error response from daemon: lstat /bin/sh/x: not a directory'
    }))
    await expect(
      withImageFiles('i', read => read('/bin/sh/x'), missing.spawn)
    ).resolves.toMatchObject({
      kind: 'missing'
    })
    const broken = fakeDocker(() => ({
      exitCode: 1,
      stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.'
    }))
    await expect(withImageFiles('i', read => read('/entry'), broken.spawn)).rejects.toMatchObject({
      id: 'docker-cp-failed'
    })
    expect(broken.calls).toContain('rm --force c0ffee')
  })

  it('finds the one unreadable file at the end of a 300,000-entry stream', async () => {
    function* tree(): Generator<Buffer> {
      yield directory('task/')
      const empty = (i: number) => tarHeader({ name: `task/node_modules/p${i % 300}/f${i}.js` })
      for (let i = 0; i < 300_000; i += 100) {
        yield Buffer.concat(Array.from({ length: 100 }, (_, k) => empty(i + k)))
      }
      yield Buffer.concat([tarFile('task/zz/settings.json', '{}', 0o600), TAR_END])
    }
    const docker = fakeDocker(() => ({ stdout: tree() }))
    const audit = new TaskFilesAudit(['/var/task'])
    const walk = await withImageFiles(
      'i',
      (_r, w) => w('/var/task', entry => audit.visit(entry)),
      docker.spawn
    )
    audit.walked('/var/task', walk)
    expect(walk).toEqual({ status: 'complete', entries: 300_002 })
    expect(audit.finding()?.message).toContain('/var/task/zz/settings.json (file, mode 0600')
  })

  it('fails with the docker error when the container cannot be created', async () => {
    const spawn: SpawnDocker = () => ({
      stdout: Readable.from([]),
      exited: Promise.resolve({ exitCode: 1, stderr: 'No such image: nope' }),
      stop: () => undefined
    })
    await expect(withImageFiles('nope', () => Promise.resolve(1), spawn)).rejects.toMatchObject({
      id: 'docker-create-failed',
      reason: expect.stringContaining('No such image: nope') as unknown
    })
  })
})
