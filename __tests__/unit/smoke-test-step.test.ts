import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'
import type {
  BridgeNetwork,
  ContainerExit,
  DockerEngine,
  InspectedImage,
  RunningContainer
} from '../../src/adapters/docker.js'
import { ActionError } from '../../src/domain/errors.js'
import type { SmokeTestSettings } from '../../src/domain/smoke-test-settings.js'
import { emulationSlowdown, smokeTestImage } from '../../src/steps/smoke-test.js'

/**
 * The step's orchestration without Docker: the "container" is a runtime written here that talks
 * to the step's real Runtime API server on loopback, found through AWS_LAMBDA_RUNTIME_API in the
 * arguments the step would give `docker run`.
 */

const native = process.arch === 'x64' ? 'amd64' : process.arch
const image = {
  id: 'sha256:test',
  os: 'linux',
  architecture: native,
  sizeBytes: 1,
  layers: [],
  entrypoint: ['/lambda-entrypoint.sh'],
  cmd: ['index.handler'],
  workingDir: '/var/task',
  env: [],
  user: '',
  diffIds: []
} satisfies InspectedImage
const fn = {
  name: 'orders',
  arn: 'arn:aws:lambda:us-east-1:111111111111:function:orders',
  region: 'us-east-1',
  memoryMb: 128,
  timeoutSeconds: 3
}
const settings: SmokeTestSettings = {
  enabled: true,
  timeoutSeconds: 60,
  events: [
    { label: 'event 1', payload: '{"n":1}', expect: { kind: 'any' } },
    { label: 'event 2', payload: '{"n":2}', expect: { kind: 'any' } }
  ]
}

type Runtime = (api: string) => Promise<ContainerExit>

interface Recorder {
  args: readonly string[]
  calls: string[]
  api: string
}

function fakeDocker(runtime: Runtime, recorder: Recorder): DockerEngine {
  const unused = () => Promise.reject(new Error('not used by the smoke test'))
  return {
    describe: unused,
    run: unused,
    inspectImage: unused,
    push: unused,
    withImageFiles: unused,
    createNetwork(name): Promise<BridgeNetwork> {
      recorder.calls.push('create network')
      return Promise.resolve({
        name,
        gateway: '127.0.0.1',
        remove: () => {
          recorder.calls.push('remove network')
          return Promise.resolve()
        }
      })
    },
    startContainer(_name, args): RunningContainer {
      recorder.calls.push('start container')
      recorder.args = args
      // The variables are in the env file docker is given, as docker would read them.
      const envFile = args.find(arg => arg.startsWith('--env-file='))?.slice('--env-file='.length)
      const pair =
        readFileSync(envFile ?? '', 'utf8')
          .split('\n')
          .find(line => line.startsWith('AWS_LAMBDA_RUNTIME_API=')) ?? ''
      recorder.api = pair.slice(pair.indexOf('=') + 1)
      let kill: (exit: ContainerExit) => void = () => undefined
      const exited = Promise.race([
        runtime(recorder.api),
        new Promise<ContainerExit>(resolve => (kill = resolve))
      ])
      return {
        exited,
        output: () => ['runtime says hello'],
        remove: () => {
          recorder.calls.push('remove container')
          kill({ exitCode: 137, oomKilled: false })
          return exited
        }
      }
    }
  }
}

/** A runtime that answers each event with {"got": event}, forever. */
const echoRuntime: Runtime = async api => {
  for (;;) {
    let next: Response
    try {
      next = await fetch(`http://${api}/2018-06-01/runtime/invocation/next`)
    } catch {
      return { exitCode: 1, oomKilled: false }
    }
    const id = next.headers.get('lambda-runtime-aws-request-id')
    const event = await next.text()
    await fetch(`http://${api}/2018-06-01/runtime/invocation/${id}/response`, {
      method: 'POST',
      body: `{"got":${event}}`
    })
  }
}

async function serverIsClosed(api: string): Promise<boolean> {
  try {
    await fetch(`http://${api}/2018-06-01/runtime/invocation/next`, {
      signal: AbortSignal.timeout(1000)
    })
    return false
  } catch {
    return true
  }
}

describe('smokeTestImage', () => {
  it('sends every event in order and reports each response', async () => {
    const recorder: Recorder = { args: [], calls: [], api: '' }
    const report = await smokeTestImage(image, settings, fn, fakeDocker(echoRuntime, recorder))
    expect(report.invocations.map(i => i.response)).toEqual(['{"got":{"n":1}}', '{"got":{"n":2}}'])
    expect(report.function).toBe('orders')
    expect(recorder.api).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  it('removes the container, then stops the server and removes the network, on success', async () => {
    const recorder: Recorder = { args: [], calls: [], api: '' }
    await smokeTestImage(image, settings, fn, fakeDocker(echoRuntime, recorder))
    expect(recorder.calls).toEqual([
      'create network',
      'start container',
      'remove container',
      'remove network'
    ])
    expect(await serverIsClosed(recorder.api)).toBe(true)
  })

  it('cleans up the same way when the runtime exits before asking for an event', async () => {
    const recorder: Recorder = { args: [], calls: [], api: '' }
    const crash: Runtime = () => Promise.resolve({ exitCode: 3, oomKilled: false })
    const error = await smokeTestImage(image, settings, fn, fakeDocker(crash, recorder)).catch(
      (caught: unknown) => caught
    )
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).id).toBe('smoke-test-exited')
    expect((error as ActionError).reason).toContain('runtime says hello')
    expect(recorder.calls).toEqual([
      'create network',
      'start container',
      'remove container',
      'remove network'
    ])
    expect(await serverIsClosed(recorder.api)).toBe(true)
  })

  it('reports an init error the runtime posts', async () => {
    const recorder: Recorder = { args: [], calls: [], api: '' }
    const initError: Runtime = async api => {
      await fetch(`http://${api}/2018-06-01/runtime/init/error`, {
        method: 'POST',
        body: '{"errorType":"Runtime.ImportModuleError","errorMessage":"Cannot find module \'index\'"}'
      })
      await new Promise(resolve => setTimeout(resolve, 200))
      return { exitCode: 1, oomKilled: false }
    }
    const error = (await smokeTestImage(image, settings, fn, fakeDocker(initError, recorder)).catch(
      (caught: unknown) => caught
    )) as ActionError
    expect(error.id).toBe('smoke-test-init-error')
    expect(error.reason).toContain("Runtime.ImportModuleError: Cannot find module 'index'")
  })

  it('gives each invocation the shorter of the function timeout and smoke-test-timeout', async () => {
    const recorder: Recorder = { args: [], calls: [], api: '' }
    const deadlines: number[] = []
    const slow: Runtime = async api => {
      const next = await fetch(`http://${api}/2018-06-01/runtime/invocation/next`)
      deadlines.push(Number(next.headers.get('lambda-runtime-deadline-ms')) - Date.now())
      await new Promise(resolve => setTimeout(resolve, 1500))
      return { exitCode: 0, oomKilled: false }
    }
    const error = (await smokeTestImage(
      image,
      { ...settings, timeoutSeconds: 1 },
      fn,
      fakeDocker(slow, recorder)
    ).catch((caught: unknown) => caught)) as ActionError
    expect(error.id).toBe('smoke-test-timeout')
    expect(deadlines[0]).toBeGreaterThan(500)
    expect(deadlines[0]).toBeLessThanOrEqual(1000)
    expect(recorder.calls.at(-2)).toBe('remove container')
  })
})

describe('emulationSlowdown', () => {
  it("keeps Lambda's deadlines for an image of this machine's architecture", () => {
    expect(emulationSlowdown({ architecture: native })).toBe(1)
  })

  it('stretches them five times for an emulated architecture', () => {
    expect(emulationSlowdown({ architecture: native === 'arm64' ? 'amd64' : 'arm64' })).toBe(5)
  })

  it('keeps a variable’s value off docker’s command line and out of the report, and removes its env file', async () => {
    const recorder: Recorder = { args: [], calls: [], api: '' }
    const secret = 'hunter2-very-secret'
    let envFile = ''
    // Answers each event with the variable, as a careless function might.
    const leaky: Runtime = async api => {
      envFile = recorder.args.find(arg => arg.startsWith('--env-file='))!.slice(11)
      const next = await fetch(`http://${api}/2018-06-01/runtime/invocation/next`)
      const id = next.headers.get('lambda-runtime-aws-request-id')
      await fetch(`http://${api}/2018-06-01/runtime/invocation/${id}/response`, {
        method: 'POST',
        body: JSON.stringify({ token: secret })
      })
      return new Promise<ContainerExit>(() => undefined)
    }
    const report = await smokeTestImage(
      image,
      { ...settings, events: settings.events.slice(0, 1) },
      { ...fn, overrides: { environment: { TOKEN: secret } } },
      fakeDocker(leaky, recorder)
    )
    expect(recorder.args.join(' ')).not.toContain(secret)
    expect(report.invocations[0]?.response).toBe('{"token":"***"}')
    expect(existsSync(envFile)).toBe(false)
  })
})
