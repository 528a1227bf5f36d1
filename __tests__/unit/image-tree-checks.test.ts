import { describe, expect, it } from '@jest/globals'
import { applyFindingPolicy, type Finding } from '../../src/domain/image-checks.js'
import { checkRuntimeClient } from '../../src/domain/runtime-client.js'
import { checkTaskFilesReadable, type TreeEntry } from '../../src/domain/task-files.js'
import { TarLister } from '../../src/adapters/tar-entry.js'

function entry(path: string, kind: TreeEntry['kind'], mode: number): TreeEntry {
  return { path, kind, mode, uid: 0, gid: 0 }
}

describe('checkTaskFilesReadable', () => {
  it('passes files and directories that others can read', () => {
    expect(
      checkTaskFilesReadable(
        ['/var/task'],
        [
          entry('/var/task', 'directory', 0o755),
          entry('/var/task/index.mjs', 'file', 0o644),
          entry('/var/task/run', 'file', 0o755),
          entry('/var/task/link', 'symlink', 0o777)
        ]
      )
    ).toBeUndefined()
  })

  it.each([
    ['a file only its owner reads', entry('/var/task/secret.json', 'file', 0o600)],
    ['a file its group reads', entry('/var/task/config.json', 'file', 0o640)],
    ['a directory others cannot enter', entry('/var/task/lib', 'directory', 0o754)],
    ['a directory others cannot list', entry('/var/task/lib', 'directory', 0o751)]
  ])('flags %s', (_, bad) => {
    const finding = checkTaskFilesReadable(
      ['/var/task'],
      [entry('/var/task', 'directory', 0o755), bad]
    )
    expect(finding?.id).toBe('task-files-not-readable')
    expect(finding?.message).toContain(bad.path)
  })

  it('names at most eight paths and counts the rest', () => {
    const many = Array.from({ length: 12 }, (_, i) => entry(`/var/task/f${i}`, 'file', 0o600))
    const finding = checkTaskFilesReadable(['/var/task'], many)
    expect(finding?.message).toContain('12 entries')
    expect(finding?.message).toContain('and 4 more')
  })
})

describe('checkRuntimeClient', () => {
  const none = { entrypoint: [], cmd: [], taskPaths: [], existing: [] }

  it.each([
    ['an AWS base image', { ...none, awsBaseImage: true }],
    [
      'aws-lambda-ric as entrypoint',
      { ...none, awsBaseImage: false, entrypoint: ['/usr/local/bin/npx', 'aws-lambda-ric'] }
    ],
    [
      'python -m awslambdaric',
      { ...none, awsBaseImage: false, entrypoint: ['/usr/bin/python3', '-m', 'awslambdaric'] }
    ],
    [
      'a bootstrap in the task root',
      { ...none, awsBaseImage: false, taskPaths: ['/var/task/bootstrap'] }
    ],
    [
      'a custom runtime bootstrap',
      { ...none, awsBaseImage: false, existing: ['/var/runtime/bootstrap'] }
    ],
    [
      'the RIC in node_modules',
      {
        ...none,
        awsBaseImage: false,
        taskPaths: ['/var/task/node_modules/aws-lambda-ric/package.json']
      }
    ]
  ])('recognises %s', (_, facts) => {
    expect(checkRuntimeClient(facts)).toBeUndefined()
  })

  it.each([
    ['node', { taskPaths: ['/var/task/index.mjs'] }, 'aws-lambda-ric'],
    ['python', { existing: ['/usr/bin/python3'] }, 'awslambdaric'],
    ['java', { taskPaths: ['/var/task/app.jar'] }, 'aws-lambda-java-runtime-interface-client'],
    ['an unknown language', {}, 'custom bootstrap']
  ])('warns for %s and names the client to add', (_, extra, hint) => {
    const finding = checkRuntimeClient({ ...none, awsBaseImage: false, ...extra })
    expect(finding?.id).toBe('runtime-interface-client-not-found')
    expect(finding?.severity).toBe('warning')
    expect(finding?.fix).toContain(hint)
    expect(finding?.fix).toContain('smoke-test')
  })
})

describe('applyFindingPolicy', () => {
  const warning: Finding = { id: 'w', severity: 'warning', message: 'm', fix: 'f' }
  const error: Finding = { id: 'e', severity: 'error', message: 'm', fix: 'f' }

  it('waives by id and can turn warnings into errors', () => {
    expect(applyFindingPolicy([warning, error], [], false).findings).toEqual([warning, error])
    expect(applyFindingPolicy([warning, error], ['e'], false)).toEqual({
      findings: [warning],
      waived: [error]
    })
    expect(applyFindingPolicy([warning], [], true).findings[0]?.severity).toBe('error')
    expect(applyFindingPolicy([warning], ['w'], true).findings).toEqual([])
  })
})

describe('TarLister', () => {
  function header(name: string, type: string, mode: number, size: number): Buffer {
    const block = Buffer.alloc(512)
    block.write(name, 0)
    block.write(mode.toString(8).padStart(7, '0'), 100)
    block.write('0000000', 108)
    block.write('0000000', 116)
    block.write(size.toString(8).padStart(11, '0'), 124)
    block.write(type, 156)
    return block
  }
  function pax(path: string): Buffer[] {
    const record = `${path.length + 9 + String(path.length + 9).length} path=${path}\n`
    const length = Buffer.byteLength(record)
    const fixed = `${length + String(length).length - String(length - 1).length} path=${path}\n`
    const data = Buffer.alloc(512)
    data.write(fixed)
    return [header('PaxHeader', 'x', 0o644, Buffer.byteLength(fixed)), data]
  }

  it('lists entries, skips file data and reads long PAX names, however the stream is cut', () => {
    const long = `task/${'d'.repeat(150)}/file.js`
    const stream = Buffer.concat([
      header('task/', '5', 0o755, 0),
      header('task/a.json', '0', 0o600, 700),
      Buffer.alloc(1024, 7),
      ...pax(long),
      header('ignored-name', '0', 0o644, 3),
      Buffer.alloc(512, 1),
      Buffer.alloc(1024)
    ])
    for (const size of [1, 7, 100, 512, 4096]) {
      const lister = new TarLister()
      for (let offset = 0; offset < stream.length; offset += size) {
        lister.push(stream.subarray(offset, offset + size))
      }
      expect(lister.entries.map(e => [e.path, e.kind, e.mode])).toEqual([
        ['task/', 'directory', 0o755],
        ['task/a.json', 'file', 0o600],
        [long, 'file', 0o644]
      ])
    }
  })
})

describe('redactEnvironment', () => {
  it('hides the value of every --env, and nothing else', async () => {
    const { redactEnvironment } = await import('../../src/adapters/docker.js')
    expect(
      redactEnvironment(['--read-only', '--env', 'TOKEN=a=b', '--env', 'EMPTY=', 'image', 'X=1'])
    ).toEqual(['--read-only', '--env', 'TOKEN=***', '--env', 'EMPTY=***', 'image', 'X=1'])
  })
})
