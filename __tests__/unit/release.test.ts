import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  actionProblems,
  changelogProblems,
  datedChangelog,
  pinProblems
} from '../../scripts/release-tree.js'

/**
 * A release: scripts/release.sh checks that a tree is tag-ready (CHANGELOG entry, package.json,
 * action.yml for the Marketplace, snippets pinned to the major tag, dist/ the bundle of src/),
 * --dry-run on a temporary copy, and the release itself commits and tags. The script runs here
 * in a throwaway git repository holding this repository's release files, with a stand-in for
 * scripts/check-dist.sh (whose own job, comparing dist/ with a fresh ncc bundle, is CI's `dist`
 * job) that passes or fails as the test says.
 */

const root = path.resolve(import.meta.dirname, '..', '..')

const CHANGELOG = `# Changelog

## [Unreleased]

## [1.0.0] - Unreleased

### Added

- The first release.
`

describe('the CHANGELOG check', () => {
  it('accepts a dated entry with changes below an Unreleased section', () => {
    expect(changelogProblems(datedChangelog(CHANGELOG, '1.0.0', '2026-12-07'), '1.0.0')).toEqual([])
  })

  it('refuses an entry still marked Unreleased, naming its date', () => {
    expect(changelogProblems(CHANGELOG, '1.0.0')).toEqual([
      'CHANGELOG.md: the entry of 1.0.0 is dated "Unreleased", not YYYY-MM-DD'
    ])
  })

  it('refuses a version without an entry, and an entry without changes', () => {
    expect(changelogProblems(CHANGELOG, '1.1.0')).toEqual([
      'CHANGELOG.md has no entry "## [1.1.0] - YYYY-MM-DD"'
    ])
    const empty = '## [Unreleased]\n\n## [1.0.0] - 2026-12-07\n\n### Added\n\n## [0.9.0] - x\n- y\n'
    expect(changelogProblems(empty, '1.0.0')).toEqual([
      'CHANGELOG.md: the entry of 1.0.0 lists no change'
    ])
  })

  it('dates only an entry that says Unreleased', () => {
    const dated = datedChangelog(CHANGELOG, '1.0.0', '2026-12-07')
    expect(dated).toContain('## [1.0.0] - 2026-12-07\n')
    expect(datedChangelog(dated, '1.0.0', '2027-01-01')).toBe(dated)
  })
})

describe('the pin check', () => {
  it('wants this action and its reusable workflow at the major tag of the release', () => {
    const text = [
      'uses: OWNER/lambda-image-deploy@v1',
      'uses: OWNER/lambda-image-deploy/.github/workflows/refresh-base-image.yml@v1',
      "uses: 'OWNER/lambda-image-deploy@main'",
      'uses: OWNER/lambda-image-deploy/.github/workflows/refresh-base-image.yml@0123456789abcdef0123456789abcdef01234567',
      'the prose may say OWNER/lambda-image-deploy@<a commit>'
    ].join('\n')
    expect(pinProblems(text, 'README.md', '1.2.3')).toEqual([
      'README.md: "OWNER/lambda-image-deploy@main" is not pinned to v1 (README "Versions and pinning")',
      'README.md: "OWNER/lambda-image-deploy/.github/workflows/refresh-base-image.yml@0123456789abcdef0123456789abcdef01234567" is not pinned to v1 (README "Versions and pinning")'
    ])
    expect(pinProblems(text, 'README.md', '2.0.0')).toHaveLength(4)
  })
})

describe('the action.yml check', () => {
  const valid = {
    description: 'Deploys.',
    branding: { icon: 'upload-cloud', color: 'orange' },
    runs: { main: 'action.yml' }
  }

  it('accepts a short description, branding and a main that exists', () => {
    expect(actionProblems(valid, root)).toEqual([])
  })

  it('refuses a description of 125 characters (the Marketplace takes fewer)', () => {
    expect(actionProblems({ ...valid, description: 'x'.repeat(125) }, root)).toEqual([
      'action.yml: the description has 125 characters; the Marketplace takes fewer than 125'
    ])
    expect(actionProblems({ ...valid, description: 'x'.repeat(124) }, root)).toEqual([])
  })

  it('refuses missing branding and a main that is not in the tree', () => {
    expect(actionProblems({ description: 'x', runs: { main: 'dist/nothing.js' } }, root)).toEqual([
      'action.yml: the Marketplace needs branding.icon and branding.color',
      'action.yml: runs.main "dist/nothing.js" is not in the tree'
    ])
  })
})

describe('scripts/release.sh', () => {
  let repo = ''
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
      encoding: 'utf8'
    }).trim()
  const release = (...args: string[]) =>
    spawnSync('bash', [path.join(repo, 'scripts/release.sh'), ...args], {
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t'
      }
    })
  const write = (file: string, text: string) => writeFileSync(path.join(repo, file), text)
  const fileText = (file: string) => readFileSync(path.join(repo, file), 'utf8')
  /** scripts/check-dist.sh's stand-in: dist/ up to date, or not. */
  const distIsFresh = (fresh: boolean) =>
    write(
      'scripts/check-dist.sh',
      fresh
        ? 'echo "dist/ is up to date"\n'
        : 'echo "dist/ is not the bundle of src/: run \'npm run package\' and commit dist/." >&2\nexit 1\n'
    )

  beforeEach(() => {
    repo = mkdtempSync(path.join(tmpdir(), 'release-'))
    for (const dir of ['scripts', 'dist', 'examples', '__tests__/schemas']) {
      mkdirSync(path.join(repo, dir), { recursive: true })
    }
    for (const file of [
      'scripts/release.sh',
      'scripts/release-tree.ts',
      'action.yml',
      '__tests__/schemas/github-action.json'
    ]) {
      cpSync(path.join(root, file), path.join(repo, file))
    }
    symlinkSync(path.join(root, 'node_modules'), path.join(repo, 'node_modules'))
    write('.gitignore', 'node_modules\n')
    write('CHANGELOG.md', CHANGELOG)
    // The bundler's stand-in: like ncc, it puts package.json's version into dist/.
    const bundle =
      "node -e \"require('fs').writeFileSync('dist/index.js', 'version ' + require('./package.json').version)\""
    write(
      'package.json',
      `${JSON.stringify({ name: 'x', version: '0.1.0', scripts: { package: bundle } }, null, 2)}\n`
    )
    write('dist/index.js', '')
    write('README.md', '```yaml\n- uses: OWNER/lambda-image-deploy@v1\n```\n')
    write(
      'examples/deploy.yml',
      'jobs:\n  a:\n    steps:\n      - uses: OWNER/lambda-image-deploy@v1\n'
    )
    distIsFresh(true)
    git('init', '-q', '-b', 'main')
    git('add', '-A')
    git('commit', '-q', '-m', 'start')
  })

  afterEach(() => {
    rmSync(repo, { recursive: true, force: true })
  })

  it('--dry-run finds the tree tag-ready after the release edits and changes nothing here', () => {
    const run = release('--dry-run', '1.0.0')
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toContain('tag-ready: v1.0.0')
    expect(run.stdout).toMatch(/CHANGELOG\.md differ/)
    expect(run.stdout).toMatch(/package\.json differ/)
    expect(run.stdout).toContain('tag v1.0.0 and move v1 to it')
    expect(fileText('CHANGELOG.md')).toBe(CHANGELOG)
    expect(git('status', '--porcelain')).toBe('')
    expect(git('tag')).toBe('')
  })

  it('--dry-run refuses an action.yml the Marketplace would refuse', () => {
    const action = fileText('action.yml').replace(
      /^description: .*$/m,
      `description: '${'x'.repeat(130)}'`
    )
    write('action.yml', action)
    const run = release('--dry-run', '1.0.0')
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('the description has 130 characters')
  })

  it('--dry-run refuses a dist/ that is not the bundle of src/', () => {
    distIsFresh(false)
    const run = release('--dry-run', '1.0.0')
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('dist/ is not the bundle of src/')
  })

  it('--dry-run refuses a version without a CHANGELOG entry, and snippets on another major', () => {
    const run = release('--dry-run', '2.0.0')
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('CHANGELOG.md has no entry "## [2.0.0] - YYYY-MM-DD"')
    expect(run.stderr).toContain(
      'examples/deploy.yml: "OWNER/lambda-image-deploy@v1" is not pinned to v2'
    )
  })

  it('refuses a version that is not X.Y.Z, and a tag that exists', () => {
    expect(release('--dry-run', 'v1.0').status).toBe(2)
    git('tag', 'v1.0.0')
    const run = release('--dry-run', '1.0.0')
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('the tag v1.0.0 exists already')
  })

  it('releases: commits the dated CHANGELOG and the version, tags vX.Y.Z, moves vX; --verify agrees', () => {
    const run = release('1.0.0')
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const head = git('rev-parse', 'HEAD')
    expect(git('log', '-1', '--format=%s')).toBe('Release v1.0.0')
    expect(git('rev-parse', 'v1.0.0^{commit}')).toBe(head)
    expect(git('rev-parse', 'v1^{commit}')).toBe(head)
    expect(fileText('CHANGELOG.md')).toMatch(/^## \[1\.0\.0\] - \d{4}-\d{2}-\d{2}$/m)
    expect((JSON.parse(fileText('package.json')) as { version: string }).version).toBe('1.0.0')
    // dist/ was bundled again with the new version, and committed with it.
    expect(fileText('dist/index.js')).toBe('version 1.0.0')
    expect(git('show', 'HEAD:dist/index.js')).toBe('version 1.0.0')
    expect(git('status', '--porcelain')).toBe('')
    const verify = release('--verify', '1.0.0')
    expect(verify.stderr).toBe('')
    expect(verify.status).toBe(0)
  })

  it('never moves the major tag back to an older release', () => {
    git('tag', 'v1.3.0')
    for (const args of [['1.2.1'], ['--dry-run', '1.2.1']]) {
      const run = release(...args)
      expect(run.status).toBe(1)
      expect(run.stderr).toContain('v1.3.0 is newer than v1.2.1')
    }
    expect(git('tag')).toBe('v1.3.0')
  })

  it('refuses to release from a checkout with uncommitted changes', () => {
    write('README.md', 'changed\n')
    const run = release('1.0.0')
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('uncommitted changes')
    expect(git('tag')).toBe('')
  })
})
