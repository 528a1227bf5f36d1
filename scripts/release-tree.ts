/**
 * What makes a tree tag-ready for release X.Y.Z, and the two edits a release makes to it. Used by
 * scripts/release.sh (through tsx) and unit-tested in __tests__/unit/release.test.ts:
 *   npx tsx scripts/release-tree.ts prepare ROOT VERSION DATE   dates the CHANGELOG entry, sets
 *                                                               package.json's version
 *   npx tsx scripts/release-tree.ts check ROOT VERSION          prints each problem, exit 1 if any
 */
import { Ajv } from 'ajv'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parse } from 'yaml'

/** X.Y.Z, the only version form a release takes (no pre-releases: `vX` would move to them). */
export const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/

/** The Marketplace refuses an action.yml whose description is 125 characters or longer
 * (GitHub Docs, "Publishing actions in GitHub Marketplace": "description ... less than 125
 * characters"). */
export const MARKETPLACE_DESCRIPTION_LIMIT = 125

/** A `uses:` of this action in a snippet: `OWNER/lambda-image-deploy` plus an optional path
 * (the reusable workflow), then `@REF`. */
const THIS_ACTION_USES =
  /\buses:\s*['"]?([A-Za-z0-9-]+\/lambda-image-deploy(?:\/[^\s@'"]*)?)@([^\s'"#]+)/g

const heading = (version: string) =>
  new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\] - (.+)$`, 'm')

/** The CHANGELOG's entry for the version: its date (or "Unreleased") and its body. */
export function changelogEntry(
  changelog: string,
  version: string
): { readonly date: string; readonly body: string } | undefined {
  const match = heading(version).exec(changelog)
  if (!match) return undefined
  const start = match.index + match[0].length
  const next = changelog.indexOf('\n## ', start)
  return { date: match[1]!.trim(), body: changelog.slice(start, next < 0 ? undefined : next) }
}

export function changelogProblems(changelog: string, version: string): string[] {
  const entry = changelogEntry(changelog, version)
  if (!entry) return [`CHANGELOG.md has no entry "## [${version}] - YYYY-MM-DD"`]
  const problems: string[] = []
  if (!/^\d{4}-\d{2}-\d{2}$/.test(entry.date)) {
    problems.push(`CHANGELOG.md: the entry of ${version} is dated "${entry.date}", not YYYY-MM-DD`)
  }
  if (!/^- \S/m.test(entry.body)) {
    problems.push(`CHANGELOG.md: the entry of ${version} lists no change`)
  }
  if (!/^## \[Unreleased\]/m.test(changelog)) {
    problems.push('CHANGELOG.md has no "## [Unreleased]" section for the changes after it')
  }
  return problems
}

/** The CHANGELOG with the version's entry dated, when it still says "Unreleased". */
export function datedChangelog(changelog: string, version: string, date: string): string {
  const entry = changelogEntry(changelog, version)
  if (entry?.date.toLowerCase() !== 'unreleased') return changelog
  return changelog.replace(heading(version), `## [${version}] - ${date}`)
}

/** Every ref this action is used at in a snippet text that is not the release's major tag. */
export function pinProblems(text: string, file: string, version: string): string[] {
  const major = `v${version.split('.')[0]}`
  return [...text.matchAll(THIS_ACTION_USES)]
    .filter(match => match[2] !== major)
    .map(
      match =>
        `${file}: "${match[1]}@${match[2]}" is not pinned to ${major} (README "Versions and pinning")`
    )
}

interface ActionMetadata {
  readonly description?: unknown
  readonly branding?: { readonly icon?: unknown; readonly color?: unknown }
  readonly runs?: { readonly main?: unknown }
}

/** What the Marketplace and the runner need of action.yml beyond the schema. */
export function actionProblems(action: ActionMetadata, root: string): string[] {
  const problems: string[] = []
  const description = typeof action.description === 'string' ? action.description : ''
  if (description.length === 0) problems.push('action.yml has no description')
  if (description.length >= MARKETPLACE_DESCRIPTION_LIMIT) {
    problems.push(
      `action.yml: the description has ${description.length} characters; the Marketplace takes fewer than ${MARKETPLACE_DESCRIPTION_LIMIT}`
    )
  }
  if (typeof action.branding?.icon !== 'string' || typeof action.branding.color !== 'string') {
    problems.push('action.yml: the Marketplace needs branding.icon and branding.color')
  }
  const main = typeof action.runs?.main === 'string' ? action.runs.main : ''
  if (!main || !existsSync(path.join(root, main))) {
    problems.push(`action.yml: runs.main "${main}" is not in the tree`)
  }
  return problems
}

/** The files whose snippets name this action: README, CONTRIBUTING and examples/*.yml. */
function snippetFiles(root: string): string[] {
  const examples = existsSync(path.join(root, 'examples'))
    ? readdirSync(path.join(root, 'examples'))
        .filter(name => /\.ya?ml$/.test(name))
        .map(name => `examples/${name}`)
    : []
  return ['README.md', 'CONTRIBUTING.md', ...examples].filter(file =>
    existsSync(path.join(root, file))
  )
}

/** Everything that keeps the tree at root from being tagged vVERSION. */
export function releaseProblems(root: string, version: string): string[] {
  if (!VERSION.test(version)) return [`"${version}" is not a version X.Y.Z`]
  const read = (file: string) => readFileSync(path.join(root, file), 'utf8')
  const problems: string[] = []
  problems.push(...changelogProblems(read('CHANGELOG.md'), version))
  const pkg = JSON.parse(read('package.json')) as { version?: string }
  if (pkg.version !== version) {
    problems.push(`package.json: version is "${pkg.version}", not "${version}"`)
  }
  const action = parse(read('action.yml')) as ActionMetadata
  const validate = new Ajv({ strict: false, allErrors: true }).compile(
    JSON.parse(read('__tests__/schemas/github-action.json')) as object
  )
  if (!validate(action)) {
    problems.push(
      ...(validate.errors ?? []).map(
        error => `action.yml${error.instancePath}: ${error.message ?? 'invalid'}`
      )
    )
  }
  problems.push(...actionProblems(action, root))
  for (const file of snippetFiles(root)) problems.push(...pinProblems(read(file), file, version))
  return problems
}

/** The two edits of a release: the CHANGELOG entry dated, package.json (and its lock) at the
 * version. */
export function prepareRelease(root: string, version: string, date: string): void {
  const changelog = path.join(root, 'CHANGELOG.md')
  writeFileSync(changelog, datedChangelog(readFileSync(changelog, 'utf8'), version, date))
  for (const file of ['package.json', 'package-lock.json']) {
    const full = path.join(root, file)
    if (!existsSync(full)) continue
    const json = JSON.parse(readFileSync(full, 'utf8')) as {
      version?: string
      packages?: Record<string, { version?: string }>
    }
    json.version = version
    if (json.packages?.['']) json.packages[''].version = version
    writeFileSync(full, `${JSON.stringify(json, null, 2)}\n`)
  }
}

function main(argv: readonly string[]): number {
  const [command, root, version, date] = argv
  if (command === 'prepare' && root && version && date) {
    prepareRelease(root, version, date)
    return 0
  }
  if (command === 'check' && root && version) {
    const problems = releaseProblems(root, version)
    for (const problem of problems) console.error(`not tag-ready: ${problem}`)
    return problems.length === 0 ? 0 : 1
  }
  console.error('usage: release-tree.ts prepare ROOT VERSION DATE | check ROOT VERSION')
  return 2
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = main(process.argv.slice(2))
}
