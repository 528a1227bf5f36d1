import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { ensureStandIn } from '../stack/ensure-stand-in.js'
import { StandInControl } from '../stack/stand-in/control-client.js'
import { credentialsFor, repoRoot, runAction } from '../stack/run-action.js'

/**
 * The README's first command: one real deploy of examples/hello-node, through dist/index.js as a
 * runner would run it, against the stand-in (started in the background when not yet running).
 */
const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const NAME = 'hello-node'

const standInUrl = await ensureStandIn()
const control = new StandInControl(standInUrl)
await control.createRepository({ account: ACCOUNT, region: REGION, name: NAME })
await control.createFunction({
  account: ACCOUNT,
  region: REGION,
  name: NAME,
  packageType: 'Image',
  architectures: ['x86_64']
})

if (process.argv.includes('--prepare-only')) {
  // For a workflow that runs the action itself (uses: ./): the environment it needs, as
  // GITHUB_ENV lines. These are the stand-in's fixed test keys, not secrets.
  const credentials = credentialsFor(ACCOUNT)
  for (const [name, value] of Object.entries({
    AWS_ENDPOINT_URL_ECR: standInUrl,
    AWS_ENDPOINT_URL_LAMBDA: standInUrl,
    AWS_ENDPOINT_URL_STS: standInUrl,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: REGION
  })) {
    console.log(`${name}=${value}`)
  }
  process.exit(0)
}

const engine = execFileSync(
  'docker',
  ['version', '--format', 'Docker engine {{.Server.Version}}, client {{.Client.Version}}'],
  { encoding: 'utf8' }
).trim()
const store = execFileSync('docker', ['info', '--format', '{{json .DriverStatus}}'], {
  encoding: 'utf8'
}).includes('io.containerd.snapshotter')
  ? 'containerd'
  : 'classic'
const buildx = execFileSync('docker', ['buildx', 'version'], { encoding: 'utf8' }).trim()
console.log(`${engine}, ${store} image store; ${buildx}`)
console.log(`AWS stand-in at ${standInUrl}; deploying examples/${NAME}\n`)
const run = await runAction(
  {
    'function-name': NAME,
    repository: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${NAME}`,
    context: path.join(repoRoot, 'examples', NAME),
    tags: 'demo'
  },
  { standInUrl, account: ACCOUNT, region: REGION, echo: true, timeoutMs: 0 }
)

console.log('\n== outputs')
for (const [name, value] of Object.entries(run.outputs)) console.log(`${name}: ${value}`)
console.log('\n== job summary (markdown)')
console.log(run.summary)
process.exitCode = run.exitCode ?? 1
