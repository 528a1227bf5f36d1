import { spawn, type StdioOptions } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { statfsSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { repoRoot } from '../stack/run-action.js'
import { median, runCommand } from './bench/host-tools.js'

/**
 * `npm run bench -- --only scale` (also part of `npm run bench`): the check phase on big task
 * roots (issue 18). For each tree, the action's check phase (scripts/bench/scale-check.ts,
 * bundled with ncc like dist/) is timed in its own process, with that process's peak memory,
 * next to the bare `docker cp CONTAINER:/var/task - > /dev/null` of the same tree: the floor,
 * since the check must read the tree through docker cp. Writes bench/scale-results.json and the
 * "Scale" section of bench/RESULTS.md (between markers; the rest of the file is left alone).
 *
 * `--render` only rewrites the section from bench/scale-results.json (after the main bench has
 * rewritten RESULTS.md). BENCH_SCALE_CASES=1k,10k picks cases; BENCH_SCALE_REPEAT (default 3)
 * repetitions for trees up to 100,000 files, BENCH_SCALE_REPEAT_BIG (default 1) for the rest;
 * BENCH_SCALE_KEEP=1 keeps the images (named lambda-image-deploy-bench-scale:*), which are
 * otherwise removed at the end. Nothing else in the engine is touched; the images are made with
 * docker run + commit, so no build cache is left behind.
 */

const BASE_IMAGE = 'public.ecr.aws/lambda/provided:al2023'
const IMAGE_REPOSITORY = 'lambda-image-deploy-bench-scale'
const TARGET_RATIO = 2
const TARGET_RSS_BYTES = 256 * 1024 * 1024
const MIB = 1024 * 1024
const REPEAT = Math.max(1, Number(process.env.BENCH_SCALE_REPEAT ?? 3))
const REPEAT_BIG = Math.max(1, Number(process.env.BENCH_SCALE_REPEAT_BIG ?? 1))
const KEEP = process.env.BENCH_SCALE_KEEP === '1'
const out = path.join(repoRoot, 'bench')
const resultsFile = path.join(out, 'scale-results.json')
const START_MARK = '<!-- scale-bench:start -->'
const END_MARK = '<!-- scale-bench:end -->'

interface ScaleCase {
  readonly id: string
  readonly label: string
  /** Empty files, 1,000 to a directory, like a node_modules tree. */
  readonly files?: number
  /** One file only root may read, written last (at the end of the tar stream). */
  readonly unreadable?: boolean
  /** Sizes of a few large files of zeros, in MiB. */
  readonly bigFilesMib?: readonly number[]
}

const CASES: readonly ScaleCase[] = [
  { id: '1k', label: '1,000 empty files', files: 1_000 },
  { id: '10k', label: '10,000 empty files', files: 10_000 },
  { id: '100k', label: '100,000 empty files', files: 100_000 },
  {
    id: '300k-unreadable',
    label: '300,000 empty files, the last one mode 0600',
    files: 300_000,
    unreadable: true
  },
  { id: '1m', label: '1,000,000 empty files', files: 1_000_000 },
  {
    // 8.25 GiB + 2 × 0.5 GiB = 9.93 GB: near Lambda's 10 GB, and one file past 8 GiB, which
    // ustar cannot describe (docker writes its size in a PAX record).
    id: '10g',
    label: '3 files of zeros: 8.25 GiB, 0.5 GiB, 0.5 GiB (9.93 GB)',
    bigFilesMib: [8448, 512, 512]
  }
]

interface CaseResult {
  readonly id: string
  readonly label: string
  readonly image: string
  readonly repeat: number
  readonly floorMs: number[]
  readonly checkMs: number[]
  readonly processMs: number[]
  readonly maxRssBytes: number[]
  /** CPU time of the check process (absent in results from before it was recorded). */
  readonly cpuMs?: number[]
  readonly findings: string[]
  readonly taskFilesMessage?: string
  readonly skipped?: string
  /** Bare docker cp runs that failed (docker's words); they are not in floorMs. */
  readonly floorFailures?: string[]
  readonly loadAverage: string
  readonly measuredAt: string
}

interface ScaleResults {
  readonly machine: Record<string, string>
  readonly cases: CaseResult[]
}

const started = Date.now()
const log = (message: string): void =>
  console.log(
    `[bench-scale ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s, load ${os.loadavg()[0]!.toFixed(1)}] ${message}`
  )

// ---------------------------------------------------------------- images

function imageScript(scaleCase: ScaleCase): string {
  const steps = ['cd /var/task']
  if (scaleCase.files !== undefined) {
    const directories = Math.ceil(scaleCase.files / 1000)
    const perDirectory = Math.min(scaleCase.files, 1000)
    steps.push(
      `for d in $(seq -w 1 ${directories}); do mkdir -p node_modules/pkg$d/lib && (cd node_modules/pkg$d/lib && seq -w 1 ${perDirectory} | sed 's/.*/module-&.js/' | xargs touch) || exit 1; done`
    )
  }
  if (scaleCase.unreadable) {
    steps.push(
      `mkdir -p zz-private && echo '{"secret":true}' > zz-private/settings.json && chmod 600 zz-private/settings.json`
    )
  }
  scaleCase.bigFilesMib?.forEach((mib, index) => {
    steps.push(`dd if=/dev/zero of=data-${index + 1}.bin bs=1M count=${mib} 2>/dev/null`)
  })
  return steps.join(' && ')
}

async function docker(args: readonly string[], what: string): Promise<string> {
  const result = await runCommand('docker', args)
  if (result.exitCode !== 0) {
    throw new Error(`${what}: docker ${args.slice(0, 2).join(' ')}: ${result.stderr.trim()}`)
  }
  return result.stdout.trim()
}

/** Makes the case's image with docker run + commit (no build cache left behind). */
async function makeImage(scaleCase: ScaleCase): Promise<string> {
  const image = `${IMAGE_REPOSITORY}:${scaleCase.id}`
  const exists = await runCommand('docker', ['image', 'inspect', image])
  if (exists.exitCode === 0) {
    log(`${image} exists; reused`)
    return image
  }
  const container = `${IMAGE_REPOSITORY}-${scaleCase.id}-${process.pid}`
  log(`making ${image}`)
  const made = performance.now()
  try {
    await docker(
      [
        'run',
        '--name',
        container,
        '--entrypoint',
        '/bin/sh',
        BASE_IMAGE,
        '-c',
        imageScript(scaleCase)
      ],
      `making ${image}`
    )
    await docker(
      [
        'commit',
        '--change',
        'ENTRYPOINT ["/lambda-entrypoint.sh"]',
        '--change',
        'CMD ["function.handler"]',
        container,
        image
      ],
      `committing ${image}`
    )
  } finally {
    await runCommand('docker', ['rm', '--force', container])
  }
  log(`made ${image} in ${((performance.now() - made) / 1000).toFixed(0)} s`)
  return image
}

// ---------------------------------------------------------------- measuring

function timedProcess(
  command: string,
  args: readonly string[],
  stdio: StdioOptions
): Promise<{ exitCode: number | null; ms: number; stdout: string; stderr: string }> {
  const begun = performance.now()
  return new Promise(resolve => {
    const child = spawn(command, [...args], { stdio })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
    child.on('close', exitCode =>
      resolve({ exitCode, ms: performance.now() - begun, stdout, stderr })
    )
  })
}

/** The floor: `docker cp CONTAINER:/var/task - > /dev/null`, timed alone. */
async function bareCopy(image: string): Promise<number> {
  const container = await docker(
    ['create', '--entrypoint', '/lambda-image-deploy-never-run', image],
    'creating a container for the bare docker cp'
  )
  const devNull = openSync('/dev/null', 'w')
  try {
    const copy = await timedProcess(
      'docker',
      ['cp', `${container}:/var/task`, '-'],
      ['ignore', devNull, 'pipe']
    )
    if (copy.exitCode !== 0) throw new Error(`bare docker cp failed: ${copy.stderr.trim()}`)
    return copy.ms
  } finally {
    closeSync(devNull)
    await runCommand('docker', ['rm', '--force', container])
  }
}

interface CheckRun {
  readonly checkMs: number
  readonly maxRssBytes: number
  readonly cpuMs: number
  readonly processMs: number
  readonly findings: { id: string; message: string }[]
}

async function checkPhase(bundle: string, image: string): Promise<CheckRun> {
  const run = await timedProcess(process.execPath, [bundle, image], ['ignore', 'pipe', 'pipe'])
  const line = run.stdout.trim().split('\n').pop() ?? ''
  if (run.exitCode !== 0 || !line.startsWith('{')) {
    throw new Error(`the check process failed (exit ${run.exitCode}): ${run.stderr.slice(-600)}`)
  }
  const parsed = JSON.parse(line) as Omit<CheckRun, 'processMs'>
  return { ...parsed, processMs: run.ms }
}

async function bundleCheck(): Promise<{ bundle: string; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-scale-'))
  log('bundling scripts/bench/scale-check.ts with ncc (as dist/ is bundled)')
  const built = await runCommand('npx', [
    'ncc',
    'build',
    path.join(repoRoot, 'scripts', 'bench', 'scale-check.ts'),
    '-o',
    dir,
    '--minify',
    '--quiet'
  ])
  if (built.exitCode !== 0) throw new Error(`ncc failed: ${built.stderr.slice(-2000)}`)
  return { bundle: path.join(dir, 'index.js'), dir }
}

/** Free bytes where the engine keeps its images; a 10 GB image needs about twice its size. */
async function engineFreeBytes(): Promise<number> {
  const root = await docker(['info', '--format', '{{.DockerRootDir}}'], 'reading docker info')
  const stats = statfsSync(existsSync(root) ? root : '/var/lib')
  return stats.bavail * stats.bsize
}

async function measure(scaleCase: ScaleCase, bundle: string): Promise<CaseResult> {
  const big = (scaleCase.files ?? 0) > 100_000 || scaleCase.bigFilesMib !== undefined
  const repeat = big ? REPEAT_BIG : REPEAT
  const base = {
    id: scaleCase.id,
    label: scaleCase.label,
    image: `${IMAGE_REPOSITORY}:${scaleCase.id}`,
    repeat,
    floorMs: [] as number[],
    checkMs: [] as number[],
    processMs: [] as number[],
    maxRssBytes: [] as number[],
    cpuMs: [] as number[],
    floorFailures: [] as string[],
    findings: [] as string[],
    loadAverage: '',
    measuredAt: new Date().toISOString()
  }
  const bytes = (scaleCase.bigFilesMib ?? []).reduce((sum, mib) => sum + mib * MIB, 0)
  if (bytes > 0) {
    const free = await engineFreeBytes()
    if (free < bytes * 2.5) {
      return {
        ...base,
        skipped: `needs about ${((bytes * 2.5) / 1e9).toFixed(0)} GB free for the image and its commit; the engine's disk has ${(free / 1e9).toFixed(0)} GB`
      }
    }
  }
  const image = await makeImage(scaleCase)
  const loadBefore = os.loadavg().map(value => value.toFixed(1))
  // Small trees: one untimed read first, so neither side pays for a cold cache alone. Big ones
  // (one repetition, to keep the bench under an hour) run the check first: if either side
  // pays for a cold cache it is the check, which can only make its ratio worse.
  if (!big) {
    log(`${scaleCase.id}: warm-up docker cp`)
    await bareCopy(image)
  }
  const result = { ...base, image }
  let lastFindings: CheckRun['findings'] = []
  for (let i = 0; i < repeat; i += 1) {
    // Alternate the order, so that neither side always runs right after the other.
    const order = (i % 2 === 0) === !big ? ['floor', 'check'] : ['check', 'floor']
    for (const which of order) {
      if (which === 'floor') {
        // On a busy engine a bare docker cp of a huge tree has failed ("unexpected EOF"); that
        // is recorded, and the check's figures are kept.
        try {
          const ms = await bareCopy(image)
          result.floorMs.push(ms)
          log(`${scaleCase.id}: bare docker cp ${(ms / 1000).toFixed(2)} s`)
        } catch (error) {
          result.floorFailures.push(String(error))
          log(`${scaleCase.id}: ${String(error)}`)
        }
      } else {
        const run = await checkPhase(bundle, image)
        result.checkMs.push(run.checkMs)
        result.processMs.push(run.processMs)
        result.maxRssBytes.push(run.maxRssBytes)
        result.cpuMs.push(run.cpuMs)
        lastFindings = run.findings
        log(
          `${scaleCase.id}: check phase ${(run.checkMs / 1000).toFixed(2)} s, CPU ${(run.cpuMs / 1000).toFixed(2)} s, peak RSS ${(run.maxRssBytes / MIB).toFixed(0)} MiB, findings: ${run.findings.map(f => f.id).join(', ') || 'none'}`
        )
      }
    }
  }
  const loadAfter = os.loadavg().map(value => value.toFixed(1))
  return {
    ...result,
    findings: lastFindings.map(finding => finding.id),
    taskFilesMessage: lastFindings.find(finding => finding.id.startsWith('task-files'))?.message,
    loadAverage: `${loadBefore.join(' ')} → ${loadAfter.join(' ')}`
  }
}

async function machine(): Promise<Record<string, string>> {
  const info = await docker(
    ['info', '--format', '{{.ServerVersion}}|{{.Driver}}|{{json .DriverStatus}}'],
    'reading docker info'
  )
  const [version, driver, status] = info.split('|')
  const store = status?.includes('io.containerd.snapshotter')
    ? 'containerd image store'
    : 'classic image store'
  return {
    date: new Date().toISOString(),
    cpu: `${os.cpus()[0]?.model ?? '?'} (${os.cpus().length} cores)`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    docker: `engine ${version}, storage driver ${driver}, ${store}`
  }
}

// ---------------------------------------------------------------- report

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`

function row(result: CaseResult): string {
  if (result.skipped)
    return `| ${result.label} | — | — | — | — | — | — | skipped: ${result.skipped} |`
  const failures = result.floorFailures?.length
    ? ` (${result.floorFailures.length} bare docker cp failed: ${result.floorFailures.join('; ')})`
    : ''
  const floor = median(result.floorMs)
  const check = median(result.checkMs)
  const rss = Math.max(...result.maxRssBytes)
  const ratio = check / floor
  const pass = ratio <= TARGET_RATIO && rss < TARGET_RSS_BYTES
  const findings = result.findings.length === 0 ? 'none' : result.findings.join(', ')
  const cpu = result.cpuMs?.length ? seconds(median(result.cpuMs)) : '—'
  return `| ${result.label} | ${result.floorMs.length ? seconds(floor) : '—'}${failures} | ${seconds(check)} (process ${seconds(median(result.processMs))}) | ${ratio.toFixed(2)}× | ${cpu} | ${(rss / MIB).toFixed(0)} MiB | ${findings} | ${result.floorMs.length === 0 ? 'not judged (no floor)' : pass ? 'pass' : '**FAIL**'} |`
}

function section(results: ScaleResults): string {
  const unreadable = results.cases.find(result => result.id === '300k-unreadable')
  return [
    START_MARK,
    '## Scale: the check phase on big task roots (issue 18)',
    '',
    'Written by `npm run bench -- --only scale` (scripts/bench-scale.ts; also run by `npm run bench`).',
    '',
    ...Object.entries(results.machine).map(([key, value]) => `- ${key}: ${value}`),
    `- repetitions: ${REPEAT} up to 100,000 files, ${REPEAT_BIG} above (medians; peak memory is the largest)`,
    '',
    '| /var/task holds | bare `docker cp` (floor) | check phase | check / floor | CPU of the process | peak RSS of the process | findings | target ≤ 2×, < 256 MiB |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...results.cases.map(row),
    '',
    ...(unreadable?.taskFilesMessage
      ? [`The 300,000-file image's finding: "${unreadable.taskFilesMessage}"`, '']
      : []),
    'How: each image is the stand-in `public.ecr.aws/lambda/provided:al2023` plus the files (made',
    'with `docker run` + `docker commit`). "Check phase" is `checkBuiltImage` as main.ts runs it',
    '(image built FROM an AWS base), timed inside its own Node process (scripts/bench/scale-check.ts,',
    'bundled with ncc like dist/): `docker create`, the entrypoint read, the streamed walk of',
    '/var/task, `docker rm`. "Process" adds Node start-up and `docker image inspect`/`history`.',
    "Peak RSS is that process's `ru_maxrss` and CPU its user + system time (docker's own processes",
    'not included): the CPU column is what the check costs apart from waiting for docker. The floor is',
    '`docker cp CONTAINER:/var/task - > /dev/null` of the same image, run alternately with the',
    'check (small trees after one untimed warm-up read; big ones check first). Load averages: ' +
      results.cases
        .map(
          result => `${result.id} ${result.loadAverage || '—'} (${result.measuredAt.slice(0, 16)})`
        )
        .join('; ') +
      '.',
    '',
    'Reading the figures: besides the walk, every check runs `docker create`, reads the entrypoint',
    'and runs `docker rm` (three more docker CLI processes, a fixed cost of a few tenths of a second',
    'here), so the smallest tree is the furthest from its floor. The floor writes to /dev/null,',
    "while the check's process reads docker's output through a pipe and parses it; its CPU time is",
    'the part of the check that is its own.',
    END_MARK
  ].join('\n')
}

function writeSection(results: ScaleResults): void {
  const file = path.join(out, 'RESULTS.md')
  const current = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const start = current.indexOf(START_MARK)
  const end = current.indexOf(END_MARK)
  const rendered = section(results)
  const next =
    start >= 0 && end > start
      ? `${current.slice(0, start)}${rendered}${current.slice(end + END_MARK.length)}`
      : `${current.trimEnd()}\n\n${rendered}\n`
  writeFileSync(file, next)
}

// ---------------------------------------------------------------- main

if (process.argv.includes('--render')) {
  if (existsSync(resultsFile)) {
    writeSection(JSON.parse(readFileSync(resultsFile, 'utf8')) as ScaleResults)
    log('rewrote the Scale section of bench/RESULTS.md from bench/scale-results.json')
  }
} else {
  const chosen = process.env.BENCH_SCALE_CASES?.split(',').map(id => id.trim())
  // In the order given, so the cases that matter most can run first.
  const cases = chosen
    ? chosen.flatMap(id => CASES.filter(scaleCase => scaleCase.id === id))
    : CASES
  const { bundle, dir } = await bundleCheck()
  const previous: ScaleResults | undefined = existsSync(resultsFile)
    ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as ScaleResults)
    : undefined
  const results: ScaleResults = { machine: await machine(), cases: [] }
  // Written after every case, so a long run stopped half-way keeps what it measured. Cases not
  // run this time keep their last figures (each with its own date and load).
  const save = (): void => {
    const merged = [
      ...results.cases,
      ...(previous?.cases ?? []).filter(old => !results.cases.some(result => result.id === old.id))
    ].sort((a, b) => CASES.findIndex(c => c.id === a.id) - CASES.findIndex(c => c.id === b.id))
    const saved = { ...results, cases: merged }
    writeFileSync(resultsFile, `${JSON.stringify(saved, null, 2)}\n`)
    writeSection(saved)
  }
  let failure: unknown
  try {
    for (const scaleCase of cases) {
      results.cases.push(await measure(scaleCase, bundle))
      save()
      if (!KEEP) await runCommand('docker', ['image', 'rm', `${IMAGE_REPOSITORY}:${scaleCase.id}`])
    }
  } catch (error) {
    failure = error
    console.error(error)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  save()
  console.log('\nWrote bench/scale-results.json and the Scale section of bench/RESULTS.md')
  process.exitCode = failure === undefined ? 0 : 1
}
