// The end of `npm test`'s output: what the run cost (phase times, the ten slowest suites, e2e
// tests and assertions per image store) and one closing line over every jest run, in the plain
// form CI reads. Reads what scripts/test.sh left in test-results/.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

const dir = process.argv[2]
const read = file => readFileSync(path.join(dir, file), 'utf8')
const seconds = ms => `${Math.round(ms / 1000)} s`
const pad = (text, width) => String(text).padEnd(width)

const node = existsSync(path.join(dir, 'node-version')) ? read('node-version').trim() : 'unknown'
console.log(
  `\n== cost of this run (Node ${node}; jest JSON in ${path.relative(process.cwd(), dir)}/)`
)

const phases = existsSync(path.join(dir, 'phases.tsv'))
  ? read('phases.tsv')
      .trim()
      .split('\n')
      .map(line => line.split('\t'))
  : []
let total = 0
for (const [name, took, code] of phases) {
  total += Number(took)
  console.log(
    `   ${pad(name, 20)} ${String(took).padStart(5)} s${code === '0' ? '' : '  (failed)'}`
  )
}
console.log(`   ${pad('total', 20)} ${String(total).padStart(5)} s`)

const runs = readdirSync(dir)
  .filter(file => file.endsWith('.json'))
  .sort()
  .map(file => ({ name: path.basename(file, '.json'), result: JSON.parse(read(file)) }))

const suites = runs.flatMap(({ name, result }) =>
  result.testResults.map(suite => ({
    run: name,
    file: path.relative(process.cwd(), suite.name),
    ms: suite.endTime - suite.startTime
  }))
)
console.log('\n   ten slowest suites:')
for (const suite of suites.sort((a, b) => b.ms - a.ms).slice(0, 10)) {
  console.log(`   ${seconds(suite.ms).padStart(6)}  ${pad(suite.run, 26)} ${suite.file}`)
}

const assertionFiles = readdirSync(dir).filter(file => /^assertions-.*\.jsonl$/.test(file))
if (assertionFiles.length > 0) console.log('\n   e2e per image store:')
for (const file of assertionFiles.sort()) {
  const store = file.replace(/^assertions-|\.jsonl$/g, '')
  const tests = read(file)
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line))
  const assertions = tests.reduce((sum, test) => sum + test.assertions, 0)
  console.log(`   ${pad(store, 12)} ${tests.length} tests, ${assertions} assertions`)
}

console.log('')
let passed = 0
let failed = 0
let skipped = 0
if (!runs.some(run => run.name === 'unit')) failed += 1
if (!runs.some(run => run.name.startsWith('e2e-'))) failed += 1
for (const { name, result } of runs) {
  const f = result.numFailedTests + result.numRuntimeErrorTestSuites
  const s = result.numPendingTests + result.numTodoTests
  console.log(
    `   ${name} = ${result.numPassedTests} passed, ${f} failed` + (s ? `, ${s} skipped` : '')
  )
  passed += result.numPassedTests
  failed += f
  skipped += s
}
console.log(`tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''))
