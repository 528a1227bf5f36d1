import { describe, expect, it } from '@jest/globals'
import { applyFindingPolicy, type Finding } from '../../src/domain/image-checks.js'
import { checkRuntimeClient, TaskPathSample } from '../../src/domain/runtime-client.js'
import { TaskFilesAudit, type TreeEntry, type TreeWalk } from '../../src/domain/task-files.js'

function entry(path: string, kind: TreeEntry['kind'], mode: number): TreeEntry {
  return { path, kind, mode, uid: 0, gid: 0 }
}

function audit(
  entries: Iterable<TreeEntry>,
  walks: [string, TreeWalk][] = [['/var/task', { status: 'complete', entries: 0 }]]
) {
  const roots = walks.map(([root]) => root)
  const checked = new TaskFilesAudit(roots)
  for (const item of entries) checked.visit(item)
  for (const [root, walk] of walks) checked.walked(root, walk)
  return checked.finding()
}

describe('TaskFilesAudit', () => {
  it('passes files and directories that others can read', () => {
    expect(
      audit([
        entry('/var/task', 'directory', 0o755),
        entry('/var/task/index.mjs', 'file', 0o644),
        entry('/var/task/run', 'file', 0o755),
        entry('/var/task/link', 'symlink', 0o777)
      ])
    ).toBeUndefined()
  })

  it.each([
    ['a file only its owner reads', entry('/var/task/secret.json', 'file', 0o600)],
    ['a file its group reads', entry('/var/task/config.json', 'file', 0o640)],
    ['a directory others cannot enter', entry('/var/task/lib', 'directory', 0o754)],
    ['a directory others cannot list', entry('/var/task/lib', 'directory', 0o751)]
  ])('flags %s', (_, bad) => {
    const finding = audit([entry('/var/task', 'directory', 0o755), bad])
    expect(finding?.id).toBe('task-files-not-readable')
    expect(finding?.message).toContain(bad.path)
  })

  it('names at most eight paths and counts the rest', () => {
    const many = Array.from({ length: 12 }, (_, i) => entry(`/var/task/f${i}`, 'file', 0o600))
    const finding = audit(many)
    expect(finding?.message).toContain('12 entries')
    expect(finding?.message).toContain('and 4 more')
  })

  it('finds the one unreadable file among a million, after all the others', () => {
    function* tree(): Generator<TreeEntry> {
      for (let i = 0; i < 1_000_000; i += 1) yield entry(`/var/task/m/${i}.js`, 'file', 0o644)
      yield entry('/var/task/zz/settings.json', 'file', 0o600)
    }
    const finding = audit(tree())
    expect(finding?.message).toMatch(/^1 entry under \/var\/task /)
    expect(finding?.message).toContain('/var/task/zz/settings.json (file, mode 0600, uid 0)')
  })

  it('warns, naming the part, when a tree could not be read to its end', () => {
    const finding = audit(
      [entry('/var/task', 'directory', 0o755)],
      [
        [
          '/var/task',
          { status: 'incomplete', entries: 1, reason: 'docker cp exited with code 1: EOF' }
        ],
        ['/app', { status: 'missing' }]
      ]
    )
    expect(finding).toMatchObject({ id: 'task-files-not-checked', severity: 'warning' })
    expect(finding?.message).toContain(
      '/var/task from its entry 2 on (1 read: docker cp exited with code 1: EOF)'
    )
  })

  it('says which part was not checked next to the entries it did find', () => {
    const finding = audit(
      [entry('/var/task/secret', 'file', 0o600)],
      [['/var/task', { status: 'incomplete', entries: 5, reason: 'the tar stream ended early' }]]
    )
    expect(finding?.id).toBe('task-files-not-readable')
    expect(finding?.message).toContain('/var/task/secret')
    expect(finding?.message).toContain('Not checked, because docker cp could not read it all')
  })
})

describe('TaskPathSample', () => {
  it.each([
    ['node', ['/var/task/a/b.txt', '/var/task/x/index.js', '/var/task/y.mjs']],
    ['python', ['/var/task/requirements.txt', '/var/task/app.py']],
    ['a RIC', ['/var/task/node_modules/aws-lambda-ric/package.json', '/var/task/index.js']],
    ['a bootstrap', ['/var/task/readme', '/var/task/bootstrap']],
    ['nothing known', ['/var/task/data.bin']]
  ])('keeps a handful of paths that give the check the answer all paths give (%s)', (_, paths) => {
    const sample = new TaskPathSample()
    const many = [...paths, ...Array.from({ length: 1000 }, (_, i) => `/var/task/lib/f${i}.dat`)]
    for (const path of many) sample.add(path)
    expect(sample.paths.length).toBeLessThanOrEqual(7)
    const facts = { awsBaseImage: false, entrypoint: [], cmd: [], existing: [] }
    expect(checkRuntimeClient({ ...facts, taskPaths: sample.paths })).toEqual(
      checkRuntimeClient({ ...facts, taskPaths: many })
    )
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

describe('redactEnvironment', () => {
  it('hides the value of every --env, and nothing else', async () => {
    const { redactEnvironment } = await import('../../src/adapters/docker.js')
    expect(
      redactEnvironment(['--read-only', '--env', 'TOKEN=a=b', '--env', 'EMPTY=', 'image', 'X=1'])
    ).toEqual(['--read-only', '--env', 'TOKEN=***', '--env', 'EMPTY=***', 'image', 'X=1'])
  })
})
